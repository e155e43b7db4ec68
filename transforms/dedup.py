"""Exactly-once charging: drop repeats of (customer_id, idempotent_key).

Keyed by (customer_id, idempotent_key); each element carries a batch of that key's
messages (one in streaming, all of them in a batch job), decided in input order. State
remembers the first payload's event_sha256 until an event-time expiry timer clears it
(TTL past the element's timestamp: the publish time in streaming); keys older than the
state fall back to the store. The same key with another payload is an
`idempotency_conflict` dead letter and the first receipt stands.
"""

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Duration

from receipts.events import IDEMPOTENCY_CONFLICT, Event, FieldError
from receipts.records import DeadLetter, Message
from receipts.store import open_store

DEAD = "dead"
DUPLICATE = "duplicate"


class DeduplicateEvents(beam.DoFn):
    FIRST_EVENT_SHA256 = ReadModifyWriteStateSpec("first_event_sha256", StrUtf8Coder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, store_url: str, ttl_seconds: int | None = 24 * 3600) -> None:
        """`ttl_seconds=None` keeps state for the life of the job (batch: no timers)."""
        self.store_url = store_url
        self.ttl = Duration(seconds=ttl_seconds) if ttl_seconds else None
        self.duplicates = Metrics.counter("receipts", "duplicates")
        self.conflicts = Metrics.counter("receipts", "idempotency_conflicts")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(
        self,
        element: tuple[tuple[str, str], Iterable[tuple[Message, Event]]],
        first=beam.DoFn.StateParam(FIRST_EVENT_SHA256),
        expiry=beam.DoFn.TimerParam(EXPIRY),
        timestamp=beam.DoFn.TimestampParam,
    ):
        (customer_id, idempotent_key), batch = element
        seen = first.read()
        if seen is None:
            record = self.store.lookup_idempotency(customer_id, idempotent_key)
            seen = record.event_sha256 if record else None
        for message, event in sorted(batch, key=lambda item: item[0].position):
            if seen is None:
                seen = event.event_sha256
                yield message, event
            elif seen == event.event_sha256:
                self.duplicates.inc()
                yield beam.pvalue.TaggedOutput(DUPLICATE, (message, event))
            else:
                self.conflicts.inc()
                yield beam.pvalue.TaggedOutput(DEAD, conflict(message, event))
        first.write(seen)
        if self.ttl is not None:
            expiry.set(timestamp + self.ttl)

    @on_timer(EXPIRY)
    def expire(self, first=beam.DoFn.StateParam(FIRST_EVENT_SHA256)):
        first.clear()


def conflict(message: Message, event: Event) -> DeadLetter:
    error = FieldError(
        "idempotent_key",
        IDEMPOTENCY_CONFLICT,
        f"idempotent_key {event.idempotent_key!r} was already used by customer {event.customer_id} "
        f"with a different payload; receipt {event.receipt_id} stands",
    )
    return DeadLetter.of(message, error, event.customer_id, event.idempotent_key)
