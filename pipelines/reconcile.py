"""The reconciliation job: prove the ledger is whole. A Beam batch pipeline (DirectRunner
locally, Dataflow in production; every parameter is a pipeline option, so it launches as a
Flex Template as it is) that a data engineer runs hourly or on demand:

    ReadStores (customers in parallel: state rows at the cut, the ledger as stored)
    ReadArchive (files or objects in parallel)
      -> GroupPerCustomer (CoGroupByKey) -> ReconcileCustomer (one pass per chain)
    ReadLogLeaves (ranges in parallel) + the ledger's receipts
      -> GroupPerShard (CoGroupByKey, ~4,096 leaves a shard) -> CheckLogged;  CheckLogTree
    customers -> CheckStatements (each statement recomputed, each receipt on one)
    CheckArchiveCopies (stored statements and key documents = archived ones, byte for byte)
      -> SummarizeResults (CombineGlobally) -> WriteReport [-> FreezeIntake] [-> PublishAlert]

    python -m pipelines.reconcile --store gcp://PROJECT --archive gs://BUCKET/receipts \\
        --jwks https://SITE/.well-known/jwks.json --report gs://BUCKET/reports/run.json
"""

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.local_runner import RUNNER, prepare_direct_runner
from pipelines.options import LocalKeyOptions, StoreOptions, VerifyOptions
from pipelines.progress import job_counts, launch_or_wait, wait_reporting
from receipts.reconciliation import SOURCES, Scope
from receipts.reconciliation.findings import ARCHIVE, LEDGER, STATE, parse_time, utc_text
from receipts.stores import store_class
from transforms.intake import FreezeIntakeOnFailure
from transforms.reconcile import PublishAlert, ReconcileCustomer, SummarizeResults, WriteReport
from transforms.reconcile_archive_copies import CheckArchiveCopies
from transforms.reconcile_log import LEAVES, STORED, CheckLogged, CheckLogTree, ReadLogLeaves, ShardLogged
from transforms.reconcile_sources import CUSTOMERS, LOGGED, UNREADABLE, ReadArchive, ReadStores
from transforms.reconcile_statements import CheckStatements


class ReconcileOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--source",
            choices=sorted(SOURCES),
            default="both",
            help="Copies of the receipts to reconcile: store (the ledger), archive, or both (default)",
        )
        parser.add_argument(
            "--alert_topic", help="Pub/Sub topic (projects/P/topics/T): one summary message when anything is wrong"
        )
        parser.add_argument(
            "--as_of",
            help="The cut (RFC 3339): the state store is read as of this time (a Spanner read timestamp, so "
            "within its version retention); receipts charged after it are left for the next run. "
            "Default: when the job is launched",
        )
        parser.add_argument(
            "--settle_seconds",
            type=int,
            default=0,
            help="Receipts processed this close to the cut may still be on their way to the archive or ledger",
        )
        parser.add_argument(
            "--freeze_on_failure",
            type=_boolean,
            default="false",
            help="true: freeze intake (nothing new is charged until `receipts intake resume`) when anything is wrong",
        )
        parser.add_argument(
            "--max_listed_discrepancies",
            type=int,
            default=1000,
            help="Discrepancies listed in the report (their counts are always exact)",
        )


# The options the job is launched with on Dataflow (the Flex Template's parameters), and
# those it needs there: no local key ring, so the JWKS; and the report is its output.
# Which of --store and --archive it needs depends on --source (ReconcileSettings.checked).
OPTIONS: tuple[type[PipelineOptions], ...] = (StoreOptions, VerifyOptions, ReconcileOptions)
REQUIRED = ("jwks", "report")


@dataclass(frozen=True)
class ReconcileSettings:
    store: str | None
    archive: str | None
    source: str = "both"
    jwks: str | None = None
    keys: str | None = None
    report: str | None = None
    alert_topic: str | None = None
    as_of: str | None = None
    settle_seconds: int = 0
    max_listed: int = 1000
    freeze_on_failure: bool = False

    @classmethod
    def from_options(cls, options: PipelineOptions) -> "ReconcileSettings":
        view, common = options.view_as(ReconcileOptions), options.view_as(StoreOptions)
        verifying = options.view_as(VerifyOptions)
        as_of = view.as_of or utc_text(datetime.now(UTC))
        return cls(
            store=common.store,
            archive=common.archive,
            source=view.source,
            jwks=verifying.jwks,
            keys=options.view_as(LocalKeyOptions).keys,
            report=report_name(verifying.report, as_of),
            alert_topic=view.alert_topic,
            as_of=as_of,
            settle_seconds=view.settle_seconds,
            max_listed=view.max_listed_discrepancies,
            freeze_on_failure=view.freeze_on_failure,
        ).checked()

    def checked(self) -> "ReconcileSettings":
        """These settings, or a ValueError saying which option to give."""
        sources = SOURCES.get(self.source)
        if sources is None:
            raise ValueError(f"--source must be one of {', '.join(sorted(SOURCES))}")
        if LEDGER in sources and not self.store:
            raise ValueError(f"--source {self.source} reads the ledger: give --store")
        if ARCHIVE in sources and not self.archive:
            raise ValueError(f"--source {self.source} reads the archive: give --archive")
        if self.freeze_on_failure and not self.store:
            raise ValueError("--freeze_on_failure freezes intake in the store: give --store")
        if not self.jwks and not self.keys:
            raise ValueError("give --jwks (a JWKS file or URL) or --keys (a key ring folder)")
        cut = parse_time(self.as_of) if self.as_of is not None else None
        if self.as_of is not None and cut is None:
            raise ValueError(f"--as_of {self.as_of!r} is not an RFC 3339 time with an offset")
        if cut is not None and cut > datetime.now(UTC) + timedelta(minutes=1):
            raise ValueError(f"--as_of {self.as_of} is in the future: a Spanner read would wait until then")
        if self.settle_seconds < 0 or self.max_listed < 1:
            raise ValueError("--settle_seconds must be >= 0 and --max_listed_discrepancies >= 1")
        return self

    @property
    def scope(self) -> Scope:
        return Scope(self.source, self.as_of, self.settle_seconds)

    def described(self) -> dict:
        """What the report says was reconciled."""
        run = {name: value for name, value in asdict(self).items() if name not in ("keys", "max_listed", "report")}
        run["jwks"] = self.jwks or f"key ring {self.keys}"
        return run


def build(pipeline: beam.Pipeline, settings: ReconcileSettings) -> dict[str, beam.PCollection]:
    """Add the reconciliation's steps to `pipeline`; return its outputs for tests."""
    sources = SOURCES[settings.source]
    grouped_inputs, unreadable = {}, []
    if settings.store:
        stores = pipeline | "ReadStores" >> ReadStores(settings.store, settings.as_of, LEDGER in sources)
        grouped_inputs[STATE] = stores[STATE]
        if LEDGER in sources:
            grouped_inputs[LEDGER] = stores[LEDGER]
    if ARCHIVE in sources:
        archive = pipeline | "ReadArchive" >> ReadArchive(settings.archive)
        grouped_inputs[ARCHIVE] = archive[ARCHIVE]
        unreadable.append(archive[UNREADABLE])
    checked = (
        grouped_inputs
        | "GroupPerCustomer" >> beam.CoGroupByKey()
        | "ReconcileCustomer"
        >> beam.ParDo(
            ReconcileCustomer(
                settings.scope,
                settings.jwks,
                settings.keys,
                bool(settings.store),
                state_ttl(settings.store),
                settings.store,
            )
        )
    )
    if settings.store and LEDGER in sources:
        unreadable += _log_results(pipeline, settings, stores[LOGGED])
        unreadable.append(
            stores[CUSTOMERS]
            | "CheckStatements" >> beam.ParDo(CheckStatements(settings.store, settings.jwks, settings.keys))
        )
    if settings.store and settings.archive and LEDGER in sources:
        unreadable.append(
            pipeline
            | "ArchiveCopies" >> beam.Create([None])
            | "CheckArchiveCopies" >> beam.ParDo(CheckArchiveCopies(settings.store, settings.archive))
        )
    results = (checked, *unreadable) | "AllResults" >> beam.Flatten()
    report = (
        results
        | "SummarizeResults" >> beam.CombineGlobally(SummarizeResults(settings.max_listed))
        | "BuildReport" >> beam.Map(lambda summary, run: summary.report(run), run=settings.described())
    )
    if settings.report:
        report = report | "WriteReport" >> beam.ParDo(WriteReport(settings.report))
    if settings.freeze_on_failure:
        report = report | "FreezeIntakeOnFailure" >> beam.ParDo(FreezeIntakeOnFailure(settings.store, settings.report))
    if settings.alert_topic:
        _ = report | "AlertOnDiscrepancies" >> beam.ParDo(PublishAlert(settings.alert_topic, settings.report))
    return {"results": results, "report": report}


def report_name(report: str | None, as_of: str) -> str | None:
    """--report with {as_of} replaced by the cut: a scheduled run, launched with the same
    parameters every hour, names a new object each time (its identity may only create)."""
    return report.replace("{as_of}", as_of) if report else report


def _log_results(pipeline: beam.Pipeline, settings: ReconcileSettings, logged) -> list[beam.PCollection]:
    """The transparency log's check: each ledger receipt against its leaves, and the latest
    checkpoint against the store's hashes and the tiles beside the archive."""
    log = pipeline | "ReadLogLeaves" >> ReadLogLeaves(settings.store)
    stored = logged | "ShardLogged" >> beam.ParDo(ShardLogged(), beam.pvalue.AsSingleton(log["size"]))
    per_shard = (
        {STORED: stored, LEAVES: log[LEAVES]}
        | "GroupPerShard" >> beam.CoGroupByKey()
        | "CheckLogged" >> beam.ParDo(CheckLogged(settings.store))
    )
    tree = log["size"] | "CheckLogTree" >> beam.ParDo(
        CheckLogTree(settings.store, settings.archive), beam.pvalue.AsSingleton(log["count"])
    )
    return [per_shard, tree]


def _boolean(text: str) -> bool:
    """A Flex Template passes every parameter as text: "true" or "false"."""
    if text.lower() not in ("true", "false"):
        raise ValueError(f"expected true or false, not {text!r}")
    return text.lower() == "true"


def state_ttl(store_url: str | None) -> int | None:
    """How long the store keeps idempotency rows (None: for ever), as its class declares."""
    return store_class(store_url).idempotency_ttl_seconds if store_url else None


def start(settings: ReconcileSettings, extra_args: list[str] | None = None):
    """Start the job locally and return its PipelineResult at once."""
    prepare_direct_runner()
    options = PipelineOptions(extra_args or [], runner=RUNNER)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, settings)
    return pipeline.run()


def run(
    settings: ReconcileSettings,
    extra_args: list[str] | None = None,
    on_progress: Callable[[Counter], None] | None = None,
    every: float = 0.25,
):
    """Run the job locally to the end, calling `on_progress(counts)` every `every` seconds."""
    return wait_reporting(start(settings, extra_args), reconcile_counts, on_progress, every)


def reconcile_counts(result) -> Counter:
    """The job's "reconcile" counters (Beam metrics), summed over steps."""
    return job_counts(result, ["reconcile"])


def main(argv: list[str] | None = None) -> int:
    """Launch as a Flex Template does: options from the command line, on the runner they
    name. On Dataflow, submit the job and return 0 (the launcher must not wait for it);
    locally (the default runner), wait, and return 1 when it found discrepancies."""
    options = PipelineOptions(argv if argv is not None else sys.argv[1:])
    result = launch_or_wait(
        options, REQUIRED, "reconcile", lambda pipeline: build(pipeline, ReconcileSettings.from_options(options))
    )
    if result is None:
        return 0
    found = reconcile_counts(result)
    return 1 if sum(value for name, value in found.items() if name.startswith("discrepancies_")) else 0


if __name__ == "__main__":
    sys.exit(main())
