"""The charging core both pipelines share: (Message, Event) -> deduplicated, chained,
signed receipts, written to the store in chain order. Sources and archives differ per
pipeline; these steps do not."""

from typing import Any

import apache_beam as beam

from transforms.chain import ChainReceipts
from transforms.dedup import DEAD as DEDUP_DEAD
from transforms.dedup import DUPLICATE, DeduplicateEvents, DeduplicateGrouped
from transforms.sign import SignReceipts
from transforms.sinks import DEAD as WRITE_DEAD
from transforms.sinks import WriteReceipts

SIGN_BATCH = 256


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
    store answers for old keys.
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
        chained = (
            deduplicated.fresh
            | "KeyByCustomer" >> beam.Map(lambda item: (item[1].customer_id, item)).with_output_types(tuple[str, Any])
            | "BatchPerCustomer" >> batching()
            | "ChainPerCustomer" >> beam.ParDo(ChainReceipts(self.store, self.kid))
        )
        if self.streaming:
            # Chaining stamps processed_at, so a retried bundle would chain different bytes:
            # checkpoint its output before anything is written. In batch the GroupByKey
            # before the write is that checkpoint already.
            chained = chained | "CheckpointChained" >> beam.Reshuffle()
        signed = (
            chained
            | "BatchForSigning" >> beam.BatchElements(min_batch_size=SIGN_BATCH, max_batch_size=SIGN_BATCH)
            | "SignReceipts" >> beam.ParDo(SignReceipts(self.signer, self.kid))
        )
        written = (
            signed
            | "KeySignedByCustomer"
            >> beam.Map(lambda receipt: (receipt.chained.customer_id, receipt)).with_output_types(tuple[str, Any])
            | "BatchSignedPerCustomer" >> batching()
            | "WriteReceiptsInChainOrder"
            >> beam.ParDo(WriteReceipts(self.store, hold_out_of_order=self.streaming)).with_outputs(
                WRITE_DEAD, main="stored"
            )
        )
        dead = (deduplicated[DEDUP_DEAD], written[WRITE_DEAD]) | "ChargeDeadLetters" >> beam.Flatten()
        return {"stored": written.stored, "dead": dead, "duplicates": deduplicated[DUPLICATE]}
