"""Publishing producers' events to Pub/Sub with bounded in-flight work (the seed's
"bounded concurrency": a fixed pool, at most N pending, then 429).

Each process counts the publishes Pub/Sub has not confirmed yet, in total and per
customer. Taking a slot never waits: when a bound is reached the answer is 429 with
Retry-After, so one customer's flood fills its own bound and nobody else's. A slot is
released when its publish completes, confirmed or failed, not when the request ends: a
slow Pub/Sub keeps its slots and turns into 429s, never into a growing queue. A publish
that takes longer than the publish timeout, or fails, answers 503 with the reason; after a
failure every publish answers 503 at once for a cool-down, instead of sending each worker
to wait out the timeout on a Pub/Sub that is down.
"""

import logging
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app
from prometheus_client import Counter, Gauge

from receipts.events import Event
from receipts.producer.publisher import event_attributes, publish_message, publisher_client
from verifier_site.errors import SiteError
from verifier_site.metrics import count_rate_limited

log = logging.getLogger(__name__)

TOPIC_PATTERN = re.compile(r"projects/[^/\s]+/topics/[^/\s]+")
WAIT_GRACE_SECONDS = 0.5  # beyond the publish timeout: the client's batching delay and commit
FULL_RETRY_AFTER = 1  # slots free up as publishes complete, in milliseconds when Pub/Sub is well


@dataclass(frozen=True)
class Refusal:
    """Why an event was not published: an HTTP status, a stable code, what to do."""

    status: int
    code: str
    message: str
    retry_after: int


class Transport(Protocol):
    """Queues one message for a topic; the future gives its Pub/Sub message id."""

    def publish(self, raw: bytes, attributes: Mapping[str, str]) -> Future: ...


class PubSubTransport:
    """One topic through a PublisherClient made on first use in this process: gunicorn
    forks its workers after the app is built, and gRPC channels do not survive a fork."""

    def __init__(self, topic: str, timeout: float) -> None:
        if not TOPIC_PATTERN.fullmatch(topic):
            raise ValueError(f"INGEST_TOPIC must be projects/PROJECT/topics/TOPIC, not {topic!r}")
        self.topic, self.timeout = topic, timeout
        self._lock = threading.Lock()
        self._client: Any = None
        self._pid = 0

    def publish(self, raw: bytes, attributes: Mapping[str, str]) -> Future:
        return publish_message(self._publisher(), self.topic, raw, attributes, deadline=self.timeout)

    def _publisher(self) -> Any:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client, self._pid = publisher_client(), os.getpid()
            return self._client


class InFlight:
    """Work in progress (publishes not yet completed, or requests being processed), per
    process and per customer; acquiring never waits."""

    def __init__(self, per_process: int, per_customer: int) -> None:
        if per_process < 1 or per_customer < 1:
            raise ValueError("in-flight bounds must be at least 1")
        self.per_process, self.per_customer = per_process, per_customer
        self._lock = threading.Lock()
        self._total = 0
        self._by_customer: dict[str, int] = {}

    def try_acquire(self, customer: str) -> str | None:
        """Take a slot; None when taken, else the bound that is full ("customer" or "process")."""
        with self._lock:
            held = self._by_customer.get(customer, 0)
            if held >= self.per_customer:
                return "customer"
            if self._total >= self.per_process:
                return "process"
            self._total += 1
            self._by_customer[customer] = held + 1
            return None

    def release(self, customer: str) -> None:
        with self._lock:
            self._total -= 1
            held = self._by_customer[customer] - 1
            if held:
                self._by_customer[customer] = held
            else:
                del self._by_customer[customer]

    @property
    def total(self) -> int:
        return self._total


class EventPublisher:
    """The site's publishing component: bounds, the publish timeout and the outage cool-down
    around a Transport (Pub/Sub in production; tests inject slow or failing ones)."""

    def __init__(
        self,
        transport: Transport,
        limits: InFlight,
        timeout: float,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport, self.limits, self.timeout, self.cooldown = transport, limits, timeout, cooldown
        self._clock = clock
        self._failed_at: float | None = None
        self._failure = ""

    def submit(self, event: Event, raw: bytes) -> Future | Refusal:
        """Queue the event's exact bytes for publishing, or say why not (429, 503)."""
        outage = self._outage()
        if outage is not None:
            return outage
        full = self.limits.try_acquire(event.customer_id)
        if full is not None:
            bound = self.limits.per_customer if full == "customer" else self.limits.per_process
            whose = "this customer's" if full == "customer" else "this server's"
            return Refusal(
                429,
                "too_many_in_flight",
                f"{whose} {bound} publishes in flight are all taken: retry after Retry-After seconds "
                "with the same event (the same idempotent_key is never charged twice)",
                FULL_RETRY_AFTER,
            )
        customer = event.customer_id
        try:
            future = self.transport.publish(raw, event_attributes(event))
        except Exception as error:  # the client could not even queue it: a broken or closed client
            self.limits.release(customer)
            self._failed(error)
            return self._unavailable("publish_failed", f"the event could not be queued for Pub/Sub: {_say(error)}")
        future.add_done_callback(lambda done: self._completed(customer, done))
        return future

    def wait(self, pending: list[Future]) -> list[str | Refusal]:
        """Each publish's message id, or a 503 refusal; nobody waits past the timeout."""
        deadline = self._clock() + self.timeout + WAIT_GRACE_SECONDS
        results: list[str | Refusal] = []
        for future in pending:
            try:
                results.append(future.result(timeout=max(0.0, deadline - self._clock())))
            except TimeoutError:
                results.append(
                    self._unavailable(
                        "publish_timeout",
                        f"Pub/Sub did not confirm the event within {self.timeout:g} s; it may or may not "
                        "be published: retry the same event (the same idempotent_key is never charged twice)",
                    )
                )
            except Exception as error:
                results.append(
                    self._unavailable("pubsub_unavailable", f"Pub/Sub did not take the event: {_say(error)}")
                )
        return results

    def _completed(self, customer: str, future: Future) -> None:
        self.limits.release(customer)
        error = future.exception()
        if error is None:
            self._failed_at = None
        else:
            self._failed(error)

    def _failed(self, error: BaseException) -> None:
        if self._failed_at is None:
            log.warning("publishing to Pub/Sub failed (%s); answering 503 for %g s", _say(error), self.cooldown)
        self._failure = _say(error)
        self._failed_at = self._clock()

    def _outage(self) -> Refusal | None:
        failed_at = self._failed_at
        if failed_at is None or self._clock() - failed_at >= self.cooldown:
            return None
        return self._unavailable(
            "pubsub_unavailable", f"Pub/Sub is unavailable (the last publish failed: {self._failure}); retry later"
        )

    def _unavailable(self, code: str, message: str) -> Refusal:
        return Refusal(503, code, message, max(1, math.ceil(self.cooldown)))


def _say(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def from_config(config: Mapping[str, Any]) -> EventPublisher | None:
    """The publisher the settings describe; None when ingest is not configured."""
    timeout = float(config["INGEST_PUBLISH_TIMEOUT"])
    transport = config["INGEST_PUBLISHER"]
    if transport is None and config["INGEST_TOPIC"]:
        transport = PubSubTransport(config["INGEST_TOPIC"], timeout)
    if transport is None:
        return None
    limits = InFlight(int(config["INGEST_MAX_IN_FLIGHT"]), int(config["INGEST_MAX_IN_FLIGHT_PER_CUSTOMER"]))
    cooldown = float(config["INGEST_OUTAGE_COOLDOWN"])
    return EventPublisher(transport, limits, timeout, cooldown, clock=config.get("INGEST_CLOCK") or time.monotonic)


def get_publisher() -> EventPublisher | None:
    return current_app.extensions["ingest"]


@contextmanager
def request_place(customer: str) -> Iterator[None]:
    """One of the customer's INGEST_MAX_REQUESTS_PER_CUSTOMER places for ingest requests in
    progress in this process, or 429 at once. Each request waiting for Pub/Sub holds one
    of the server's threads; this bound keeps one customer from holding them all."""
    places: InFlight = current_app.extensions["ingest_requests"]
    if places.try_acquire(customer) is not None:
        count_rate_limited("requests in progress")
        raise SiteError(
            429,
            f"this customer already has {places.per_customer} requests in progress on this server: retry after "
            "Retry-After seconds (the same idempotent_key is never charged twice)",
            "too_many_requests",
            headers={"Retry-After": str(FULL_RETRY_AFTER)},
        )
    try:
        yield
    finally:
        places.release(customer)


def count_event(outcome: str) -> None:
    current_app.extensions["ingest_events"].labels(outcome).inc()


def init_app(app: Flask) -> None:
    """After metrics.init_app: the counters go into the app's own registry."""
    publisher = from_config(app.config)
    app.extensions["ingest"] = publisher
    app.extensions["ingest_requests"] = InFlight(sys.maxsize, int(app.config["INGEST_MAX_REQUESTS_PER_CUSTOMER"]))
    registry = app.extensions["metrics"].registry
    app.extensions["ingest_events"] = Counter(
        "verifier_ingest_events", "Events posted, by outcome", ["outcome"], registry=registry
    )
    in_flight = Gauge("verifier_ingest_in_flight", "Publishes not yet confirmed by Pub/Sub", registry=registry)
    in_flight.set_function(lambda: publisher.limits.total if publisher else 0)
