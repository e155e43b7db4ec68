"""The charging core both pipelines share: (Message, Event) -> deduplicated, chained,
signed receipts, written to the store in chain order. Sources and archives differ per
pipeline; these steps do not."""

from typing import Any

import apache_beam as beam

from transforms.chain import ChargeCustomer
from transforms.dedup import DEAD as DEDUP_DEAD
from transforms.dedup import DUPLICATE, DeduplicateEvents, DeduplicateGrouped
from transforms.sinks import DEAD as WRITE_DEAD


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


class ChargeEvents(beam.PTransform):
    """(Message, Event) -> {"stored": SignedReceipt, "dead": DeadLetter, "duplicates": (Message, Event)}.

    Batch hands each step all of a key's elements at once (order is decided by data), so
    dedup needs no state beyond the store; streaming handles each element
    on arrival and lets dedup state expire after `dedup_ttl_seconds`, after which the
    store answers for old keys. Each customer's fresh events are chained, signed and
    written in one step (transforms.chain), the store's head deciding.
    """

    def __init__(self, store: str, signer: str, kid: str, streaming: bool, dedup_ttl_seconds: int = 24 * 3600) -> None:
        """`signer` is a signer URL (receipts.stores.signers.signer_from_url) whose key's kid is `kid`."""
        super().__init__()
        self.store, self.signer, self.kid = store, signer, kid
        self.streaming = streaming
        self.dedup_ttl = dedup_ttl_seconds if streaming else None

    def deduplicate(self) -> beam.DoFn:
        if self.streaming:
            return DeduplicateEvents(self.store, self.dedup_ttl)
        return DeduplicateGrouped(self.store)

    def expand(self, events):
        batching = OnePerBatch if self.streaming else GroupPerKey
        deduplicated = (
            events
            | "KeyByIdempotencyKey"
            >> beam.Map(lambda item: ((item[1].customer_id, item[1].idempotent_key), item)).with_output_types(
                tuple[tuple[str, str], Any]
            )
            | "BatchPerIdempotencyKey" >> batching()
            | "Deduplicate" >> beam.ParDo(self.deduplicate()).with_outputs(DEDUP_DEAD, DUPLICATE, main="fresh")
        )
        written = (
            deduplicated.fresh
            | "KeyByCustomer" >> beam.Map(lambda item: (item[1].customer_id, item)).with_output_types(tuple[str, Any])
            | "BatchPerCustomer" >> batching()
            | "ChargePerCustomer"
            >> beam.ParDo(ChargeCustomer(self.store, self.signer, self.kid)).with_outputs(WRITE_DEAD, main="stored")
        )
        dead = (deduplicated[DEDUP_DEAD], written[WRITE_DEAD]) | "ChargeDeadLetters" >> beam.Flatten()
        return {"stored": written.stored, "dead": dead, "duplicates": deduplicated[DUPLICATE]}
