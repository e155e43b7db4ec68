"""The restore job: rebuild a damaged store from the verified archive. A Beam batch pipeline
(DirectRunner locally, Dataflow in production; every parameter is a pipeline option):

    ReadArchive (files or objects in parallel; lines that are not receipts are findings)
      -> GroupPerCustomer -> RestoreCustomer (verify from sequence 1, write the verified chain)
      -> SummarizeRestore (CombineGlobally) -> BuildReport -> WriteReport

    python -m pipelines.restore --store gcp://PROJECT --archive gs://BUCKET/receipts \\
        --jwks https://SITE/.well-known/jwks.json --report gs://BUCKET/reports/restore.json

Nothing unverified is written: a customer whose archived chain fails is restored up to the
last good receipt and named in the report. Restoring twice changes nothing.
"""

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.local_runner import RUNNER, prepare_direct_runner
from pipelines.options import LocalKeyOptions, StoreOptions, VerifyOptions
from pipelines.progress import job_counts, launch_or_wait, wait_reporting
from receipts.restoration.report import summary_line
from transforms.reconcile import WriteReport
from transforms.reconcile_sources import UNREADABLE, ReadArchive
from transforms.restore import NAMESPACE, RestoreCustomer, SummarizeRestore, unreadable_line


class RestoreOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--max_listed_problems",
            type=int,
            default=1000,
            help="Customers cut short or left unrestored, and unreadable lines, listed in the report "
            "(their counts are always exact)",
        )


OPTIONS: tuple[type[PipelineOptions], ...] = (StoreOptions, VerifyOptions, RestoreOptions)
REQUIRED = ("store", "archive", "jwks", "report")  # on Dataflow: no local key ring, and the report is the output


@dataclass(frozen=True)
class Settings:
    store: str
    archive: str
    jwks: str | None = None
    keys: str | None = None
    report: str | None = None
    max_listed: int = 1000

    @classmethod
    def from_options(cls, options: PipelineOptions) -> "Settings":
        common, verifying = options.view_as(StoreOptions), options.view_as(VerifyOptions)
        return cls(
            store=common.store,
            archive=common.archive,
            jwks=verifying.jwks,
            keys=options.view_as(LocalKeyOptions).keys,
            report=verifying.report,
            max_listed=options.view_as(RestoreOptions).max_listed_problems,
        ).checked()

    def checked(self) -> "Settings":
        """These settings, or a ValueError saying which option to give."""
        if not self.store or not self.archive:
            raise ValueError("give --store (the store to rebuild) and --archive (a folder or gs://bucket/prefix)")
        if not self.jwks and not self.keys:
            raise ValueError("give --jwks (a JWKS file or URL) or --keys (a key ring folder)")
        if self.max_listed < 1:
            raise ValueError("--max_listed_problems must be >= 1")
        return self

    def described(self) -> dict:
        """What the report says was restored, from where, verified against what."""
        return {"store": self.store, "archive": self.archive, "jwks": self.jwks or f"key ring {self.keys}"}


def build(pipeline: beam.Pipeline, settings: Settings) -> dict[str, beam.PCollection]:
    """Add the restore's steps to `pipeline`; return its outputs for tests."""
    archive = pipeline | "ReadArchive" >> ReadArchive(settings.archive)
    restored = (
        archive["archive"]
        | "GroupPerCustomer" >> beam.GroupByKey()
        | "RestoreCustomer" >> beam.ParDo(RestoreCustomer(settings.store, settings.jwks, settings.keys))
    )
    unreadable = archive[UNREADABLE] | "UnreadableLines" >> beam.Map(unreadable_line)
    results = (restored, unreadable) | "AllResults" >> beam.Flatten()
    report = (
        results
        | "SummarizeRestore" >> beam.CombineGlobally(SummarizeRestore(settings.max_listed))
        | "BuildReport" >> beam.Map(lambda summary, run: summary.report(run), run=settings.described())
    )
    if settings.report:
        report = report | "WriteReport" >> beam.ParDo(WriteReport(settings.report, summary_line))
    return {"results": results, "report": report}


def restore_counts(result) -> Counter:
    """The job's counters: archive lines read (the shared reader's) and what was restored."""
    return job_counts(result, ["reconcile", NAMESPACE])


def run(
    settings: Settings,
    extra_args: list[str] | None = None,
    on_progress: Callable[[Counter], None] | None = None,
    every: float = 0.25,
):
    """Run the job locally to the end, calling `on_progress(counts)` every `every` seconds."""
    prepare_direct_runner()
    pipeline = beam.Pipeline(options=PipelineOptions(extra_args or [], runner=RUNNER))
    build(pipeline, settings)
    return wait_reporting(pipeline.run(), restore_counts, on_progress, every)


def main(argv: list[str] | None = None) -> int:
    """Launch from the command line on the runner it names. On Dataflow, submit and return 0
    (the report tells the outcome); locally, wait, and return 1 when any customer was cut
    short or left unrestored, or a line was unreadable."""
    options = PipelineOptions(argv if argv is not None else sys.argv[1:])
    result = launch_or_wait(
        options, REQUIRED, "restore", lambda pipeline: build(pipeline, Settings.from_options(options))
    )
    if result is None:
        return 0
    found = restore_counts(result)
    return 1 if found["customers_cut_short"] + found["customers_refused"] + found["discrepancies_stores"] else 0


if __name__ == "__main__":
    sys.exit(main())
