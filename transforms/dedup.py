"""Exactly-once charging: drop repeats of (customer_id, idempotent_key).

Streaming is keyed by (customer_id, idempotent_key), each element one message; state
remembers the first payload's event_sha256 until an event-time expiry timer clears it (TTL
past the element's timestamp: the publish time), so a repeat within IN_FLIGHT_SECONDS is
decided without the store. Every other event goes on to its customer's micro-batch, whose
keys the charge step asks the store about in one read (`against_store`, transforms.chain):
one read per batch, not one per event. Batch is keyed by customer_id, each element all of
that customer's messages, whose keys the store answers LOOKUP_BATCH at a time; each key
arrives once, so the store is the only memory needed. A key's messages are decided in input
order. The same key with another payload is an `idempotency_conflict` dead letter and the
first receipt stands.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Duration

from receipts.events import IDEMPOTENCY_CONFLICT, Event, FieldError
from receipts.records import DeadLetter, Message
from receipts.rows import IdempotencyRecord
from receipts.stores.worker_stores import acquire_store, release_store

DEAD = "dead"
DUPLICATE = "duplicate"
IN_FLIGHT_SECONDS = 300  # longer than an event takes from dedup to the store
# How long state remembers a key: past IN_FLIGHT_SECONDS a hit asks the store anyway, so longer
# state saves nothing, and every key's timer fires when a job drains. Producers retry for 300 s
# (receipts.producer), so their retries hit state; anything later is the store's to answer.
DEDUP_TTL_SECONDS = 2 * IN_FLIGHT_SECONDS
LOOKUP_BATCH = 500  # a customer's keys per store read in batch (SQLite: one IN query; Spanner: one read)


def remembered(text: str | None) -> tuple[str | None, float]:
    """The state's "<event_sha256> <first seen, epoch seconds>"; a bare sha (state written
    before the time was kept) counts as seen long ago, so the store decides."""
    if not text:
        return None, 0.0
    sha, _, since = text.partition(" ")
    try:
        return sha, float(since)
    except ValueError:
        return sha, 0.0


class _Decide(beam.DoFn):
    """What both jobs decide per key: the first payload stands, its repeats are duplicates,
    another payload is a conflict."""

    def __init__(self) -> None:
        self.duplicates = Metrics.counter("receipts", "duplicates")
        self.conflicts = Metrics.counter("receipts", "idempotency_conflicts")

    def decide(self, seen: str | None, batch: Iterable[tuple[Message, Event]]) -> tuple[list[Any], str | None]:
        """The outputs for a key's messages in input order, given the event_sha256 already
        charged for it (None: none yet), and the one charged afterwards."""
        outputs: list[Any] = []
        for message, event in sorted(batch, key=lambda item: item[0].position):
            if seen is None:
                seen = event.event_sha256
                outputs.append((message, event))
            elif seen == event.event_sha256:
                self.duplicates.inc()
                outputs.append(beam.pvalue.TaggedOutput(DUPLICATE, (message, event)))
            else:
                self.conflicts.inc()
                outputs.append(beam.pvalue.TaggedOutput(DEAD, conflict(message, event)))
        return outputs, seen


class _Deduplicate(_Decide):
    """A decision that asks the store what it charged before."""

    def __init__(self, store_url: str) -> None:
        super().__init__()
        self.store_url = store_url
        self.lookups = Metrics.counter("receipts", "store_idempotency_reads")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def stored_many(self, customer_id: str, keys: list[str]) -> dict[str, str]:
        """The event_sha256 the store charged under each of `keys` it holds: one store read."""
        self.lookups.inc()
        records = self.store.lookup_idempotency_many(customer_id, keys)
        return {key: record.event_sha256 for key, record in records.items()}


class DeduplicateEvents(_Decide):
    """Streaming: state remembers a key's first payload (and when it was first seen) until its
    expiry timer fires. A repeat within IN_FLIGHT_SECONDS of the first is decided at once (the
    first may still be on its way to the store); anything else goes on, and the charge step's
    one read per customer batch (`against_store`) decides it against the store. No store read
    here: that was one read per event."""

    FIRST_EVENT_SHA256 = ReadModifyWriteStateSpec("first_event_sha256", StrUtf8Coder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, store_url: str, ttl_seconds: int | None = DEDUP_TTL_SECONDS, clock=time.time) -> None:
        """`ttl_seconds=None` keeps state for the life of the job (no timers). `store_url` is
        the store the charge step asks; this step reads none."""
        super().__init__()
        self.store_url = store_url
        self.ttl = Duration(seconds=ttl_seconds) if ttl_seconds else None
        self.clock = clock

    def process(
        self,
        element: tuple[tuple[str, str], Iterable[tuple[Message, Event]]],
        first=beam.DoFn.StateParam(FIRST_EVENT_SHA256),
        expiry=beam.DoFn.TimerParam(EXPIRY),
        timestamp=beam.DoFn.TimestampParam,
    ):
        _, batch = element
        now = self.clock()
        seen, since = remembered(first.read())
        if seen is None or now - since > IN_FLIGHT_SECONDS:
            # Not seen, or seen long enough ago that its receipt should be stored: the store
            # decides (in the charge step), so an event whose first copy was never stored
            # (refused for good and parked, say) is charged when it is replayed, not dropped.
            seen, since = None, now
        outputs, seen = self.decide(seen, batch)
        first.write(f"{seen} {since}")
        if self.ttl is not None:
            expiry.set(timestamp + self.ttl)
        return outputs

    @on_timer(EXPIRY)
    def expire(self, first=beam.DoFn.StateParam(FIRST_EVENT_SHA256)):
        first.clear()


class DeduplicatePerCustomer(_Deduplicate):
    """Batch: keyed by customer_id, each element all of the customer's messages (the
    GroupByKey before it), so the store is the only memory needed and its keys are looked
    up LOOKUP_BATCH at a time: one store read per customer batch, not one per key. No
    per-key state and timers: on the DirectRunner their bookkeeping was about a quarter of
    the batch job's cost besides signing."""

    def process(self, element: tuple[str, Iterable[tuple[Message, Event]]]):
        customer_id, items = element
        per_key: dict[str, list[tuple[Message, Event]]] = {}
        for message, event in items:
            per_key.setdefault(event.idempotent_key, []).append((message, event))
        keys = sorted(per_key)
        for start in range(0, len(keys), LOOKUP_BATCH):
            batch = keys[start : start + LOOKUP_BATCH]
            stored = self.stored_many(customer_id, batch)
            for key in batch:
                yield from self.decide(stored.get(key), per_key[key])[0]


@dataclass
class StoreVerdicts:
    """A customer batch's events against what the store charged under their keys."""

    fresh: list[tuple[Message, Event]] = field(default_factory=list)  # nothing under the key: charge it
    held: list[tuple[tuple[Message, Event], IdempotencyRecord]] = field(default_factory=list)  # this very event
    outputs: list[beam.pvalue.TaggedOutput] = field(default_factory=list)  # conflicts, repeats in the batch


def against_store(store: Any, customer_id: str, items: Iterable[tuple[Message, Event]]) -> StoreVerdicts:
    """Streaming dedup's store read, one per customer batch (the keys at once; the store cuts
    them into as many queries as it must): each event is fresh, already charged under its key
    (`held`, with the store's record), a conflict (another payload charged or first in the
    batch) or a repeat of one earlier in the batch; the first copy in `items` order stands."""
    items = list(items)
    records = store.lookup_idempotency_many(customer_id, sorted({event.idempotent_key for _, event in items}))
    verdicts = StoreVerdicts()
    standing: dict[str, str] = {}  # key -> the event_sha256 that stands, once decided in this batch
    for message, event in items:
        key, record = event.idempotent_key, records.get(event.idempotent_key)
        if key in standing:
            if standing[key] == event.event_sha256:
                verdicts.outputs.append(beam.pvalue.TaggedOutput(DUPLICATE, (message, event)))
            else:
                verdicts.outputs.append(beam.pvalue.TaggedOutput(DEAD, conflict(message, event)))
            continue
        if record is None:
            verdicts.fresh.append((message, event))
            standing[key] = event.event_sha256
        elif record.event_sha256 == event.event_sha256:
            verdicts.held.append(((message, event), record))
            standing[key] = record.event_sha256
        else:
            verdicts.outputs.append(beam.pvalue.TaggedOutput(DEAD, conflict(message, event)))
            standing[key] = record.event_sha256
    return verdicts


def conflict(message: Message, event: Event) -> DeadLetter:
    error = FieldError(
        "idempotent_key",
        IDEMPOTENCY_CONFLICT,
        f"idempotent_key {event.idempotent_key!r} was already used by customer {event.customer_id} "
        f"with a different payload; receipt {event.receipt_id} stands",
    )
    return DeadLetter.of(message, error, event.customer_id, event.idempotent_key)
