"""The replay job: parked raw messages (dead letters that can be charged now) -> signed
receipts in the store and the archive, through the same charging steps as the batch job.

The messages come in whole (beam.Create of receipts.records.Message), never through a
JSONL file: a raw message may hold a newline. Dedup and the store's idempotency rows
make a second replay charge nothing; a message that dead-letters again (same reason,
same raw bytes) is kept once.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.batch import archive_sink, log_sink
from pipelines.charging import charge_messages
from pipelines.local_runner import RUNNER, prepare_direct_runner
from receipts.records import Message
from transforms.dedup import DEDUP_TTL_SECONDS


@dataclass(frozen=True)
class ReplaySettings:
    """What the replay job needs: batch.Settings without the input file. The signing key is
    `signer` (a URL: kms://… or file://…) or, by default, the key `kid` of the key ring `keys`."""

    store: str
    keys: str | None
    kid: str | None
    archive: str
    dedup_ttl_seconds: int = DEDUP_TTL_SECONDS
    signer: str | None = None
    max_future_seconds: int = 3600
    log_origin: str | None = None
    log_signer: str | None = None
    log_witnesses: tuple[str, ...] = ()  # VKEY@URL each
    log_witness_quorum: int | None = None


def build(
    pipeline: beam.Pipeline, messages: Sequence[Message], settings: ReplaySettings
) -> dict[str, beam.PCollection]:
    """Add the replay's steps to `pipeline`: the parked messages, then the charging steps
    (pipelines.charging) and the batch job's archive and log; return its main outputs for tests."""
    parked = pipeline | "ParkedMessages" >> beam.Create(list(messages), reshuffle=False)
    archive = archive_sink(settings.store, settings.archive)
    return charge_messages(parked, settings, archive, streaming=False, log=log_sink(settings))


def run(messages: Sequence[Message], settings: ReplaySettings) -> beam.runners.runner.PipelineResult:
    """Run the replay to the end on the local runner; raises if the job failed."""
    prepare_direct_runner()
    pipeline = beam.Pipeline(options=PipelineOptions([], runner=RUNNER))  # local_runner.py says why
    build(pipeline, messages, settings)
    result = pipeline.run()
    result.wait_until_finish()
    return result
