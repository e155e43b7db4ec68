"""The streaming job: Pub/Sub events -> signed receipts in Spanner, Firestore and Cloud
Storage, and leaves of the transparency log; dead letters to the store and the dead-letter topic. DirectRunner locally
(against the emulators), Dataflow in production (`main`, which the Flex Template in
templates/streaming/ launches). Same charging steps as the batch job."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.charging import charge_messages, log_target
from pipelines.local_runner import RUNNER, prepare_direct_runner, stop, tune_direct_runner_pubsub
from pipelines.options import ChargingOptions, LogOptions, StoreOptions, charging_settings, missing_options
from transforms.archive import SHARD_RECEIPTS, ArchiveWindows
from transforms.dedup import DEDUP_TTL_SECONDS
from transforms.log import LogEvery
from transforms.pubsub import ToMessage, dead_letter_message


class StreamingOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--subscription", help="Pub/Sub subscription: projects/P/subscriptions/S")
        parser.add_argument("--dead_letter_topic", help="Pub/Sub topic for dead letters: projects/P/topics/T")
        parser.add_argument(
            "--archive_window_seconds",
            type=int,
            default=300,
            help="Processing-time window after which the archive catches up with the store",
        )
        parser.add_argument(
            "--archive_shard_receipts",
            type=int,
            default=SHARD_RECEIPTS,
            help="Receipts per archive catch-up: a window's customers are split into as many parallel "
            "catch-ups as its receipts need",
        )
        parser.add_argument(
            "--charge_batch_size",
            type=int,
            default=500,
            help="Most events of one customer charged in one store transaction",
        )
        parser.add_argument(
            "--charge_buffer_seconds",
            type=float,
            default=1.0,
            help="Longest an event waits for its customer's batch to fill before it is charged",
        )


# The options a Dataflow streaming job is launched with: the Flex Template's parameters,
# and those it cannot run without.
OPTIONS: tuple[type[PipelineOptions], ...] = (StoreOptions, ChargingOptions, LogOptions, StreamingOptions)
REQUIRED = ("store", "archive", "signer", "log_origin", "log_signer", "subscription")


@dataclass(frozen=True)
class StreamSettings:
    """What the streaming job needs. The signing key is `signer` (a URL: kms://… or file://…)
    or, for local runs, the key `kid` of the local key ring in `keys`."""

    subscription: str
    store: str
    keys: str | None
    kid: str | None
    archive: str
    dead_letter_topic: str | None
    archive_window_seconds: int = 300
    archive_shard_receipts: int = SHARD_RECEIPTS
    charge_batch_size: int = 500
    charge_buffer_seconds: float = 1.0
    dedup_ttl_seconds: int = DEDUP_TTL_SECONDS
    signer: str | None = None
    max_future_seconds: int = 3600
    log_origin: str | None = None  # with log_signer: the log integrated every log_interval seconds
    log_signer: str | None = None
    log_witnesses: tuple[str, ...] = ()  # VKEY@URL each
    log_witness_quorum: int | None = None
    log_interval: int = 10

    @classmethod
    def from_options(cls, options: PipelineOptions) -> "StreamSettings":
        view = options.view_as(StreamingOptions)
        return cls(
            log_interval=options.view_as(LogOptions).log_interval,
            subscription=view.subscription,
            dead_letter_topic=view.dead_letter_topic,
            archive_window_seconds=view.archive_window_seconds,
            archive_shard_receipts=view.archive_shard_receipts,
            charge_batch_size=view.charge_batch_size,
            charge_buffer_seconds=view.charge_buffer_seconds,
            **charging_settings(options),
        )


def build(pipeline: beam.Pipeline, settings: StreamSettings) -> dict[str, beam.PCollection]:
    """Add the streaming job's steps to `pipeline`: Pub/Sub messages, then the charging steps
    (pipelines.charging), then the dead letters to their topic; return its main outputs."""
    messages = (
        pipeline
        | "ReadFromPubSub" >> beam.io.ReadFromPubSub(subscription=settings.subscription, with_attributes=True)
        | "ToMessage" >> beam.ParDo(ToMessage())
    )
    archive = ArchiveWindows(
        settings.store, settings.archive, settings.archive_window_seconds, settings.archive_shard_receipts
    )
    target = log_target(settings)
    outputs = charge_messages(
        messages,
        settings,
        archive,
        streaming=True,
        batch=(settings.charge_batch_size, settings.charge_buffer_seconds),
        log=None if target is None else LogEvery(target, settings.log_interval),
    )
    if settings.dead_letter_topic:
        _ = (
            outputs["dead"]
            | "ToDeadLetterMessage" >> beam.Map(dead_letter_message)
            | "PublishDeadLetters" >> beam.io.WriteToPubSub(settings.dead_letter_topic, with_attributes=True)
        )
    return outputs


def pipeline_from_options(options: PipelineOptions) -> beam.Pipeline:
    """The streaming job as Dataflow runs it, built (not run) from its options; a missing
    required option is a ValueError naming every one."""
    missing = missing_options(options, REQUIRED)
    if missing:
        raise ValueError(f"the streaming job needs {', '.join(missing)}")
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    build(pipeline, StreamSettings.from_options(options))
    return pipeline


def main(argv: list[str] | None = None) -> None:
    """Launch the job on the runner its options name (Dataflow, from the Flex Template) and
    return: a streaming job runs until it is drained or cancelled."""
    logging.getLogger().setLevel(logging.INFO)
    result = pipeline_from_options(PipelineOptions(argv)).run()
    logging.info("Launched the streaming job: %s", getattr(result, "job_id", lambda: "local")())


def start(settings: StreamSettings, extra_args: list[str] | None = None):
    """Start the job and return its PipelineResult at once (streaming never finishes)."""
    prepare_direct_runner()
    tune_direct_runner_pubsub()
    options = PipelineOptions(extra_args or [], runner=RUNNER)
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    build(pipeline, settings)
    return pipeline.run()


def run_for(
    settings: StreamSettings,
    seconds: float | None,
    tick: Callable[[object], None] = lambda result: None,
    every: float = 5.0,
    extra_args: list[str] | None = None,
    done: Callable[[object], bool] = lambda result: False,
) -> object:
    """Run until `seconds` have passed (or forever) or `done(result)` says so, calling
    `tick(result)` every `every` seconds; then cancel. The DirectRunner cannot wait with a
    timeout (PITFALLS.md)."""
    result = start(settings, extra_args)
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(every if deadline is None else max(0.0, min(every, deadline - time.monotonic())))
            tick(result)
            if done(result):
                break
    finally:
        stop(result)
    return result
