"""The embedded batch pipeline: a JSONL file of raw events -> signed receipts in the
store and the archive, dead letters kept. Same transforms as the streaming job."""

from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.chain import ChainReceipts
from transforms.dedup import DEAD as DEDUP_DEAD
from transforms.dedup import DUPLICATE, DeduplicateEvents
from transforms.parse import DEAD as PARSE_DEAD
from transforms.parse import ParseEvents, ReadJsonLines
from transforms.sign import SignReceipts
from transforms.sinks import DEAD as WRITE_DEAD
from transforms.sinks import ArchiveToFolder, WriteDeadLetters, WriteReceipts

BATCH_RUNNER = "BundleBasedDirectRunner"  # faster here than FnApiRunner for stateful steps (see README)


class BatchOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--input", help="JSONL file: one raw event message per line")
        parser.add_argument("--store", help="Store URL, e.g. sqlite:///.receipts/receipts.db")
        parser.add_argument("--keys", help="Folder of the local signing key ring")
        parser.add_argument("--kid", help="kid (RFC 7638 thumbprint) of the key to sign with")
        parser.add_argument("--archive", help="Folder for the hourly JSONL receipt archive")
        parser.add_argument(
            "--dedup_ttl_seconds",
            type=int,
            default=24 * 3600,
            help="How long dedup state remembers a key before falling back to the store",
        )


@dataclass(frozen=True)
class Settings:
    input: str
    store: str
    keys: str
    kid: str
    archive: str
    dedup_ttl_seconds: int = 24 * 3600

    @classmethod
    def from_options(cls, options: PipelineOptions) -> "Settings":
        view = options.view_as(BatchOptions)
        return cls(view.input, view.store, view.keys, view.kid, view.archive, view.dedup_ttl_seconds)


def build(pipeline: beam.Pipeline, settings: Settings) -> dict[str, beam.PCollection]:
    """Add the batch job's steps to `pipeline`; return its main outputs for tests."""
    parsed = (
        pipeline
        | "InputFile" >> beam.Create([settings.input])
        | "ReadJsonLines" >> beam.ParDo(ReadJsonLines())
        | "ParseAndValidate" >> beam.ParDo(ParseEvents()).with_outputs(PARSE_DEAD, main="valid")
    )
    return dedup_chain_sign_write(parsed.valid, parsed[PARSE_DEAD], settings, streaming=False)


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


def dedup_chain_sign_write(
    events: beam.PCollection, parse_dead: beam.PCollection, settings: Settings, streaming: bool
) -> dict[str, beam.PCollection]:
    """(Message, Event) -> dedup -> chain -> sign -> store + archive; dead letters kept.

    Batch hands each stateful step all of a key's elements at once (so order is decided
    by data) and keeps dedup state for the life of the job; streaming handles each
    element on arrival and lets dedup state expire after `dedup_ttl_seconds`.
    """
    batching = OnePerBatch if streaming else GroupPerKey
    dedup_ttl = settings.dedup_ttl_seconds if streaming else None
    deduplicated = (
        events
        | "KeyByIdempotencyKey"
        >> beam.Map(lambda item: ((item[1].customer_id, item[1].idempotent_key), item)).with_output_types(
            tuple[tuple[str, str], Any]
        )
        | "BatchPerIdempotencyKey" >> batching()
        | "Deduplicate"
        >> beam.ParDo(DeduplicateEvents(settings.store, dedup_ttl)).with_outputs(DEDUP_DEAD, DUPLICATE, main="fresh")
    )
    signed = (
        deduplicated.fresh
        | "KeyByCustomer" >> beam.Map(lambda item: (item[1].customer_id, item)).with_output_types(tuple[str, Any])
        | "BatchPerCustomer" >> batching()
        | "ChainPerCustomer" >> beam.ParDo(ChainReceipts(settings.store, settings.kid))
        | "CheckpointChained" >> beam.Reshuffle()
        | "BatchForSigning" >> beam.BatchElements(min_batch_size=256, max_batch_size=256)
        | "SignReceipts" >> beam.ParDo(SignReceipts(settings.keys, settings.kid))
    )
    stored = (
        signed
        | "KeySignedByCustomer"
        >> beam.Map(lambda receipt: (receipt.chained.customer_id, receipt)).with_output_types(tuple[str, Any])
        | "BatchSignedPerCustomer" >> batching()
        | "WriteReceiptsInChainOrder"
        >> beam.ParDo(WriteReceipts(settings.store, hold_out_of_order=streaming)).with_outputs(
            WRITE_DEAD, main="stored"
        )
    )
    stored.stored | "ArchiveReceipts" >> ArchiveToFolder(settings.archive)
    dead = (parse_dead, deduplicated[DEDUP_DEAD], stored[WRITE_DEAD]) | "AllDeadLetters" >> beam.Flatten()
    _ = (
        dead
        | "BatchDeadLetters" >> beam.BatchElements(min_batch_size=500, max_batch_size=500)
        | "WriteDeadLetters" >> beam.ParDo(WriteDeadLetters(settings.store))
    )
    return {"receipts": stored.stored, "dead": dead, "duplicates": deduplicated[DUPLICATE]}


def run(settings: Settings, extra_args: list[str] | None = None) -> beam.runners.runner.PipelineResult:
    options = PipelineOptions(extra_args or [], runner=BATCH_RUNNER)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, settings)
    result = pipeline.run()
    result.wait_until_finish()
    return result
