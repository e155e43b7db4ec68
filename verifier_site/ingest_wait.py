"""POST /v1/events?wait=S: answer the receipt itself when the pipeline writes it within S
seconds (S a number from 0 to 10), else the 202 "pending" of a plain post.

A waiting request holds a server thread while it polls the store (with backoff: 20 ms,
doubling to 0.5 s, so ten seconds cost about 25 reads), so the waits are bounded like the
rest of ingest: INGEST_MAX_WAITING per process and INGEST_MAX_WAITING_PER_CUSTOMER per
customer, taken before anything is published (a 429 means nothing was done), on top of
the customer's requests in progress and the publishes in flight.
"""

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from flask import Flask, current_app, request
from prometheus_client import Counter, Gauge

from verifier_site.errors import SiteError
from verifier_site.ingest import FULL_RETRY_AFTER, InFlight
from verifier_site.metrics import count_rate_limited
from verifier_site.storage import get_store

WAIT_PATTERN = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,3})?", re.ASCII)  # plain decimals: no sign, exponent, NaN
MAX_WAIT = Decimal(10)
FIRST_POLL, MAX_POLL = 0.02, 0.5  # seconds between reads of the store: doubling, then at most this
BAD_WAIT = "wait must be a number of seconds from 0 to 10, at most 3 decimals (wait=5, wait=2.5), given once"


def wait_seconds() -> float | None:
    """The `wait` query parameter in seconds; None when absent; 400 for anything but one plain number <= 10."""
    values = request.args.getlist("wait")
    if not values:
        return None
    if len(values) > 1 or not WAIT_PATTERN.fullmatch(values[0]) or Decimal(values[0]) > MAX_WAIT:
        raise SiteError(400, BAD_WAIT, code="invalid_parameter")
    return float(Decimal(values[0]))  # a duration, not money


@contextmanager
def waiting_place(customer: str) -> Iterator[None]:
    """One of the places for requests waiting for a receipt, or 429 `too_many_waiting` at once."""
    places: InFlight = current_app.extensions["ingest_waiting"]
    full = places.try_acquire(customer)
    if full is not None:
        count_rate_limited("waiting requests")
        bound = places.per_customer if full == "customer" else places.per_process
        whose = "this customer's" if full == "customer" else "this server's"
        raise SiteError(
            429,
            f"{whose} {bound} places for requests waiting for their receipt are all taken: retry after "
            "Retry-After seconds, or post without wait and read the receipt at receipt_url",
            "too_many_waiting",
            headers={"Retry-After": str(FULL_RETRY_AFTER)},
        )
    try:
        yield
    finally:
        places.release(customer)


def stored_receipt(receipt_id: str, customer: str) -> dict[str, Any] | None:
    """The receipt in the export format, if stored for this customer."""
    receipt = get_store().receipt(receipt_id)
    return receipt if receipt is not None and receipt.get("customer_id") == customer else None


def poll_receipt(receipt_id: str, customer: str, seconds: float) -> dict[str, Any] | None:
    """Read the store until the receipt is there or `seconds` have passed (then None)."""
    config = current_app.config
    clock, sleep = config["INGEST_CLOCK"] or time.monotonic, config["INGEST_WAIT_SLEEP"] or time.sleep
    deadline, pause = clock() + seconds, FIRST_POLL
    while True:
        found = stored_receipt(receipt_id, customer)
        left = deadline - clock()
        if found is not None or left <= 0:
            return found
        sleep(min(pause, left))
        pause = min(pause * 2, MAX_POLL)


def count_wait(outcome: str) -> None:
    current_app.extensions["ingest_waits"].labels(outcome).inc()


def init_app(app: Flask) -> None:
    """After metrics.init_app: the counters go into the app's own registry."""
    places = InFlight(int(app.config["INGEST_MAX_WAITING"]), int(app.config["INGEST_MAX_WAITING_PER_CUSTOMER"]))
    app.extensions["ingest_waiting"] = places
    registry = app.extensions["metrics"].registry
    app.extensions["ingest_waits"] = Counter(
        "verifier_ingest_waits",
        "POST /v1/events?wait answers: receipt, pending, duplicate (stored already) or conflict",
        ["outcome"],
        registry=registry,
    )
    waiting = Gauge("verifier_ingest_waiting", "Requests waiting for their receipt", registry=registry)
    waiting.set_function(lambda: places.total)
