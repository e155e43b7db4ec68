"""The embedded batch pipeline: a JSONL file of raw events -> signed receipts in the
store, the archive and the transparency log, dead letters kept. Same transforms as the
streaming job."""

from collections.abc import Callable
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.charging import charge_messages, log_target
from pipelines.local_runner import RUNNER, prepare_direct_runner
from pipelines.options import charging_settings
from pipelines.workers import BackgroundRun, job_folder, worker_runner
from transforms.archive import ArchiveWhenDone
from transforms.dedup import DEDUP_TTL_SECONDS
from transforms.log import LogWhenDone
from transforms.parse import ReadJsonLines


class BatchOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--input", help="JSONL file: one raw event message per line")


@dataclass(frozen=True)
class Settings:
    """What the batch job needs. The signing key is `signer` (a URL: kms://… or file://…) or,
    by default, the key `kid` of the local key ring in `keys`."""

    input: str
    store: str
    keys: str | None
    kid: str | None
    archive: str
    dedup_ttl_seconds: int = DEDUP_TTL_SECONDS
    signer: str | None = None
    max_future_seconds: int = 3600
    log_origin: str | None = None  # with log_signer: the log integrated once the receipts are written
    log_signer: str | None = None
    log_witnesses: tuple[str, ...] = ()  # VKEY@URL each
    log_witness_quorum: int | None = None
    # None: the BundleBasedDirectRunner in this process (live Beam counters); N: the FnApiRunner
    # with N worker processes, 1 in this process (pipelines/workers.py)
    workers: int | None = None
    clock: Callable[[], str] | None = None  # each receipt's processed_at; None: now (transforms.chain)

    @classmethod
    def from_options(cls, options: PipelineOptions) -> "Settings":
        return cls(input=options.view_as(BatchOptions).input, **charging_settings(options))


def build(pipeline: beam.Pipeline, settings: Settings) -> dict[str, beam.PCollection]:
    """Add the batch job's steps to `pipeline`: the file's lines, then the charging steps
    (pipelines.charging); return its main outputs for tests."""
    messages = pipeline | "InputFile" >> beam.Create([settings.input]) | "ReadJsonLines" >> beam.ParDo(ReadJsonLines())
    archive = archive_sink(settings.store, settings.archive)
    return charge_messages(messages, settings, archive, streaming=False, log=log_sink(settings))


def archive_sink(store: str, archive: str) -> beam.PTransform:
    """Once every receipt is written, archive whatever the store holds and has not archived
    (transforms.archive): into a folder, hourly files by event time, merged; into
    gs://bucket/prefix, one write-once object per batch."""
    return ArchiveWhenDone(store, archive)


def log_sink(settings) -> beam.PTransform | None:
    """Once every receipt is written, integrate the log (transforms.log) and sign a
    checkpoint; None when the job was given no log (origin and signer)."""
    target = log_target(settings)
    return None if target is None else LogWhenDone(target)


def start(settings: Settings, extra_args: list[str] | None = None):
    """Start the job and return at once (wait_until_finish waits): on the local runner, or with
    `settings.workers` on the FnApiRunner in a thread of its own (a BackgroundRun, whose
    `counts()` say how far it is)."""
    if settings.workers is not None:
        folder = job_folder()
        runner, options = worker_runner(settings.workers, folder)
        pipeline = beam.Pipeline(runner=runner, options=PipelineOptions(extra_args or [], **options))
        build(pipeline, settings)
        return BackgroundRun(pipeline, folder)
    prepare_direct_runner()
    options = PipelineOptions(extra_args or [], runner=RUNNER)  # pipelines/local_runner.py says why this runner
    pipeline = beam.Pipeline(options=options)
    build(pipeline, settings)
    return pipeline.run()


def run(settings: Settings, extra_args: list[str] | None = None):
    result = start(settings, extra_args)
    result.wait_until_finish()
    return result
