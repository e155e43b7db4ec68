"""The charging core both pipelines share: (Message, Event) -> deduplicated, chained,
signed receipts, written to the store in chain order. Sources and archives differ per
pipeline; these steps do not."""

import time
from collections.abc import Callable
from typing import Any

import apache_beam as beam

from receipts.events import Event
from receipts.records import Message
from transforms import state_coders  # noqa: F401  (registers the Message and Event coders)
from transforms.chain import ChargeCustomer, ChargeCustomerOnce, utc_now
from transforms.dedup import DEAD as DEDUP_DEAD
from transforms.dedup import DEDUP_TTL_SECONDS, DUPLICATE, DeduplicateEvents, DeduplicatePerCustomer
from transforms.sinks import DEAD as WRITE_DEAD

ChargeItem = tuple[Message, Event]


class GroupPerKey(beam.PTransform):
    """Batch: all of a key's elements in one batch, so the stateful step orders them."""

    def expand(self, keyed):
        return keyed | "GroupByKey" >> beam.GroupByKey()


class OnePerBatch(beam.PTransform):
    """Streaming: each element is its own batch, handled on arrival."""

    def expand(self, keyed):
        key_type = getattr(keyed.element_type, "tuple_types", (Any,))[0]  # keep the deterministic key coder
        return keyed | "Singleton" >> beam.MapTuple(lambda key, value: (key, [value])).with_output_types(
            tuple[key_type, list[Any]]
        )


class PerCustomerBatches(beam.PTransform):
    """Streaming: a customer's events gathered into batches of up to `size`, flushed after
    `buffer_seconds` of processing time at most, so a busy customer is charged in one store
    transaction per batch instead of one per event, and a quiet one waits no longer than the
    buffer. The buffer is Beam state (Message and Event in their versioned coders)."""

    def __init__(self, size: int, buffer_seconds: float, clock: Callable[[], float] = time.time) -> None:
        """`clock` is processing time in epoch seconds (a test under TestStream passes the
        runner's virtual clock, which starts at 0)."""
        super().__init__()
        self.size, self.buffer_seconds, self.clock = size, buffer_seconds, clock

    def expand(self, keyed):
        return keyed | "GroupIntoBatches" >> beam.GroupIntoBatches(
            self.size, max_buffering_duration_secs=self.buffer_seconds, clock=self.clock
        )


class ChargeEvents(beam.PTransform):
    """(Message, Event) -> {"stored": SignedReceipt, "dead": DeadLetter, "duplicates": (Message, Event)}.

    Batch hands each step all of a key's elements at once (order is decided by data), so
    dedup needs no state beyond the store; streaming deduplicates each element on arrival
    against state (repeats within the in-flight window; the state expires after
    `dedup_ttl_seconds`), then charges each customer's events in micro-batches
    (PerCustomerBatches), whose keys the charge step asks the store about in one read per
    batch. Each customer's fresh events are chained, signed and written in one step
    (transforms.chain), one store transaction per batch, the store's head deciding.
    """

    def __init__(
        self,
        store: str,
        signer: str,
        kid: str,
        streaming: bool,
        dedup_ttl_seconds: int = DEDUP_TTL_SECONDS,
        batch_size: int = 500,
        batch_buffer_seconds: float = 1.0,
        batch_clock: Callable[[], float] = time.time,
        receipt_clock: Callable[[], str] = utc_now,
    ) -> None:
        """`signer` is a signer URL (receipts.stores.signers.signer_from_url) whose key's kid is
        `kid`. Streaming charges each customer's events in batches of up to `batch_size`,
        waiting at most `batch_buffer_seconds` for one to fill. `receipt_clock` gives each
        receipt's processed_at (transforms.chain.FixedClock: a reproducible run)."""
        super().__init__()
        self.store, self.signer, self.kid = store, signer, kid
        self.streaming = streaming
        self.dedup_ttl = dedup_ttl_seconds if streaming else None
        self.batch_size, self.batch_buffer_seconds, self.batch_clock = batch_size, batch_buffer_seconds, batch_clock
        self.receipt_clock = receipt_clock

    def per_customer(self) -> beam.PTransform:
        if self.streaming:
            return PerCustomerBatches(self.batch_size, self.batch_buffer_seconds, self.batch_clock)
        return GroupPerKey()

    def charge_customer(self) -> beam.DoFn:
        """Streaming keeps each customer's chain in state between batches; batch sees each
        customer once (transforms.chain.ChargeCustomerOnce)."""
        charge = ChargeCustomer if self.streaming else ChargeCustomerOnce
        return charge(self.store, self.signer, self.kid, clock=self.receipt_clock, check_store=self.streaming)

    def deduplicate(self) -> beam.DoFn:
        if self.streaming:
            return DeduplicateEvents(self.store, self.dedup_ttl)
        return DeduplicatePerCustomer(self.store)

    def expand(self, events):
        if self.streaming:
            batches = (
                events
                | "KeyByIdempotencyKey"
                >> beam.Map(lambda item: ((item[1].customer_id, item[1].idempotent_key), item)).with_output_types(
                    tuple[tuple[str, str], ChargeItem]
                )
                | "BatchPerIdempotencyKey" >> OnePerBatch()
            )
        else:
            batches = (
                events
                | "KeyByCustomerForDedup"
                >> beam.Map(lambda item: (item[1].customer_id, item)).with_output_types(tuple[str, ChargeItem])
                | "BatchPerCustomerForDedup" >> GroupPerKey()
            )
        deduplicated = batches | "Deduplicate" >> beam.ParDo(self.deduplicate()).with_outputs(
            DEDUP_DEAD, DUPLICATE, main="fresh"
        )
        written = (
            deduplicated.fresh
            | "KeyByCustomer"
            >> beam.Map(lambda item: (item[1].customer_id, item)).with_output_types(tuple[str, ChargeItem])
            | "BatchPerCustomer" >> self.per_customer()
            | "ChargePerCustomer"
            >> beam.ParDo(self.charge_customer()).with_outputs(WRITE_DEAD, DUPLICATE, main="stored")
        )
        dead = (deduplicated[DEDUP_DEAD], written[WRITE_DEAD]) | "ChargeDeadLetters" >> beam.Flatten()
        duplicates = (deduplicated[DUPLICATE], written[DUPLICATE]) | "AllDuplicates" >> beam.Flatten()
        return {"stored": written.stored, "dead": dead, "duplicates": duplicates}
