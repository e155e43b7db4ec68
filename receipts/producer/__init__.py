"""The producers' client for services that speak Pub/Sub: it validates an event with the
pipeline's own rules before sending, knows the receipt id at once, publishes the exact
bytes with the idempotency attributes (batched by the Pub/Sub client), retries transient
failures with backoff (the same bytes each time, so a retry is never a second charge),
and can wait for the receipt.

    with Producer("billing-prod", receipts=site_receipts("https://billing.example.com", key)) as producer:
        sent = producer.send({"idempotent_key": "evt-1", "customer_id": "cust_acme", "amount": "150.00",
                              "currency": "USD", "timestamp": "2026-01-25T10:30:45Z"}, wait=True)
        sent.receipt_id, sent.receipt["balance_after"]

Producers that cannot speak Pub/Sub POST the same JSON to the site's /v1/events.
"""

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from receipts.events import INVALID_AMOUNT, Event, FieldError, Invalid, parse_event
from receipts.producer.publisher import TOPIC, event_attributes, publish_message, publisher_client, topic_path

ReceiptLookup = Callable[[str], dict[str, Any] | None]  # receipt_id -> the receipt, or None until written


class InvalidEvent(ValueError):
    """The event breaks the contract; nothing was sent. `errors` lists every rule it breaks."""

    def __init__(self, invalid: Invalid, index: int | None = None) -> None:
        self.errors = invalid.errors
        self.index = index
        where = "" if index is None else f"event {index}: "
        reasons = "; ".join(f"{error.reason}: {error.detail}" for error in invalid.errors)
        super().__init__(f"{where}not sent, the event is not valid: {reasons}")


class IdempotencyConflict(RuntimeError):
    """The receipt under this (customer_id, idempotent_key) is for another payload: the key
    was used before, that charge stands, and this event was not charged (a dead letter)."""


class ReceiptTimeout(TimeoutError):
    """Published, but the receipt was not written in time; it is still coming: wait again
    with `Producer.wait`, or send the same event again (never a second charge)."""


@dataclass(frozen=True)
class Sent:
    receipt_id: str
    message_id: str
    event_sha256: str
    receipt: dict[str, Any] | None = None  # with wait=True: the receipt (status accepted or rejected)


def store_receipts(store_url: str) -> ReceiptLookup:
    """Read receipts from a store (`gcp://PROJECT`, `sqlite:///…`): for services that may."""
    from receipts.stores import open_store

    lock = threading.Lock()
    opened: list[Any] = []

    def lookup(receipt_id: str) -> dict[str, Any] | None:
        with lock:
            if not opened:
                opened.append(open_store(store_url))
            return opened[0].receipt(receipt_id)

    return lookup


def site_receipts(base_url: str, api_key: str, timeout: float = 10.0) -> ReceiptLookup:
    """Read receipts from the verifier site's GET /v1/receipts/<id> with the customer's API key."""

    def lookup(receipt_id: str) -> dict[str, Any] | None:
        request = urllib.request.Request(
            f"{base_url.rstrip('/')}/v1/receipts/{receipt_id}", headers={"Authorization": f"Bearer {api_key}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code in (404, 429, 503):  # not written yet, or ask again later
                return None
            raise
        except (urllib.error.URLError, TimeoutError):
            return None  # the site is briefly unreachable: keep waiting within the deadline

    return lookup


def wait_for_receipt(
    receipts: ReceiptLookup, sent: Sent, timeout: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Poll for the receipt with backoff (0.2 s, growing to 2 s) until `timeout`. The receipt
    must be for this very payload: the same key used before for another is a conflict."""
    deadline = time.monotonic() + max(0.0, timeout)
    delay = 0.2
    while True:
        receipt = receipts(sent.receipt_id)
        if receipt is not None:
            if receipt.get("event_sha256") != sent.event_sha256:
                raise IdempotencyConflict(
                    f"receipt {sent.receipt_id} was made for another payload under the same idempotent_key: "
                    "that charge stands and this event was not charged; use a new key for a new charge"
                )
            return receipt
        if time.monotonic() + delay > deadline:
            raise ReceiptTimeout(f"event published; receipt {sent.receipt_id} not written after {timeout:.0f} s")
        sleep(delay)
        delay = min(2.0, delay * 1.5)


def event_message(event: Mapping[str, Any] | bytes) -> bytes:
    """The bytes to publish: given bytes as they are; a mapping as compact UTF-8 JSON.
    A float amount is refused: binary floating point must never touch money."""
    if isinstance(event, bytes | bytearray):
        return bytes(event)
    if isinstance(event.get("amount"), float):
        detail = "amount is a float, which cannot hold most decimals exactly: pass a str, an int or a Decimal"
        raise InvalidEvent(Invalid((FieldError("amount", INVALID_AMOUNT, detail),)))
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=_decimal_text).encode("utf-8")


def _decimal_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON: pass str, int or Decimal values")


class Producer:
    """Publishes events to one topic. Thread-safe; concurrent sends share the client's batches."""

    def __init__(
        self,
        project: str,
        topic: str = TOPIC,
        *,
        receipts: ReceiptLookup | None = None,
        publish_timeout: float = 30.0,
        retry_for: float = 300.0,
        max_messages: int = 100,
        max_latency: float = 0.05,
        client: Any = None,
    ) -> None:
        """`client`: a PublisherClient of your own (credentials, options); else one batching
        up to `max_messages` or `max_latency` seconds."""
        self.topic = topic_path(project, topic)
        self.receipts = receipts
        self.publish_timeout, self.retry_for = publish_timeout, retry_for
        self._client = client or publisher_client(max_messages=max_messages, max_latency=max_latency)

    def send(self, event: Mapping[str, Any] | bytes, wait: bool = False, timeout: float = 60.0) -> Sent:
        """Validate, publish (retrying transient failures), and with `wait` return the receipt."""
        [sent] = self.send_many([event], wait, timeout)
        return sent

    def send_many(
        self, events: Iterable[Mapping[str, Any] | bytes], wait: bool = False, timeout: float = 60.0
    ) -> list[Sent]:
        """Validate every event first (nothing is sent if one is invalid), publish them all
        through the client's batches, retry any that failed transiently, then wait if asked."""
        if wait and self.receipts is None:
            raise ValueError("wait=True needs Producer(receipts=store_receipts(...) or site_receipts(...))")
        checked = [self._checked(event, index) for index, event in enumerate(events)]
        queued = [(raw, parsed, self._queue(raw, parsed)) for raw, parsed in checked]
        sent = [Sent(p.receipt_id, self._confirmed(future, raw, p), p.event_sha256) for raw, p, future in queued]
        if not wait:
            return sent
        deadline = time.monotonic() + timeout
        return [
            Sent(s.receipt_id, s.message_id, s.event_sha256, self.wait(s, deadline - time.monotonic())) for s in sent
        ]

    def wait(self, sent: Sent, timeout: float = 60.0) -> dict[str, Any]:
        """The receipt of a sent event, once the pipeline has written it."""
        if self.receipts is None:
            raise ValueError("waiting needs Producer(receipts=store_receipts(...) or site_receipts(...))")
        return wait_for_receipt(self.receipts, sent, timeout)

    def close(self) -> None:
        """Send what is batched and stop the client's threads."""
        self._client.stop()

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @staticmethod
    def _checked(event: Mapping[str, Any] | bytes, index: int) -> tuple[bytes, Event]:
        """The pipeline's own rules, before anything is sent (a timestamp more than the
        pipeline's default hour ahead of this machine's clock included)."""
        raw = event_message(event)
        parsed = parse_event(raw, datetime.now(UTC))
        if isinstance(parsed, Invalid):
            raise InvalidEvent(parsed, index)
        return raw, parsed

    def _queue(self, raw: bytes, event: Event) -> Future:
        return publish_message(self._client, self.topic, raw, event_attributes(event), deadline=self.publish_timeout)

    def _confirmed(self, first_try: Future, raw: bytes, event: Event) -> str:
        """The message id; a transient failure is retried with backoff, the same bytes each time."""
        from receipts.stores.retry import TRANSIENT, with_backoff  # google.api_core: not for `receipts --help`

        try:
            return first_try.result(timeout=self.publish_timeout + 1.0)
        except TRANSIENT:
            return with_backoff(
                f"publish {event.receipt_id}",
                lambda: self._queue(raw, event).result(timeout=self.publish_timeout + 1.0),
                give_up_after=self.retry_for,
            )
