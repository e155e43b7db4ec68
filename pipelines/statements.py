"""The statements job: close a billing period. A Beam batch pipeline (DirectRunner locally;
every parameter a pipeline option) that issues one signed statement per customer with a
chain (receipts.statements says which receipts are its lines):

    Period -> BeginClose (the close time, fixed once) ─┐ (side input)
    CustomerIdRanges -> ListCustomers -> Spread -> BatchCustomers -> CloseCustomers -> statements

    python -m pipelines.statements --store sqlite:///home/receipts.db --archive home/archive \\
        --period 2026-11 --keys home/keys --kid KID [--grace 1h]

On Dataflow it is the Flex Template templates/statements/, which Cloud Scheduler launches
monthly with `--period previous` (terraform/modules/statements_schedule).

Refused while the period's end plus the grace is ahead, and out of order (periods close in
order, each once). A rerun of a closed period issues what the first run did not and returns
the stored statements as they are. Every statement is archived once, beside the receipts'
archive (`--archive`: `<folder>/statements/PERIOD/ID.jsonl`); the Google Cloud store archives
its own (gs://BUCKET/statements/), after each commit.
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.local_runner import RUNNER, prepare_direct_runner
from pipelines.options import ChargingOptions, LocalKeyOptions, StoreOptions, signing
from pipelines.progress import job_counts, launch_or_wait
from receipts.statements import Period, parse_duration
from transforms.reconcile_sources import ListCustomers, customer_ranges
from transforms.statements import BeginClose, CloseCustomers, utc_now


class StatementOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--period",
            help="The month to close, YYYY-MM (UTC), or 'previous': the month before the one the launch time "
            "less the grace falls in (a monthly schedule's)",
        )
        parser.add_argument("--grace", default="1h", help="How long after the period's end it may close (e.g. 1h)")


OPTIONS: tuple[type[PipelineOptions], ...] = (StoreOptions, StatementOptions, ChargingOptions)
REQUIRED = ("store", "period", "signer")
CLOSE_BATCH = 64  # customers per CloseCustomers call: one signing batch (Cloud KMS signs it concurrently)
PREVIOUS = "previous"  # --period previous: the month just ended (templates/statements, the monthly schedule)


@dataclass(frozen=True)
class StatementSettings:
    store: str
    period: str
    signer: str
    grace: timedelta = timedelta(hours=1)
    archive: str | None = None  # the receipts' archive; the statements go beside it

    @classmethod
    def of(
        cls,
        store: str | None,
        period: str | None,
        signer: str,
        grace: str = "1h",
        clock: Callable[[], datetime] = utc_now,
        archive: str | None = None,
    ) -> "StatementSettings":
        """Checked settings, or a ValueError naming the option to fix. The period 'previous'
        is fixed here, at launch: a scheduled close of month M runs early in M+1, and a rerun
        of it (a retried launch) names the same month until M+1 less the grace is over."""
        if not store:
            raise ValueError("give --store")
        wait = parse_duration(grace)
        if period == PREVIOUS:
            period = str(Period.of(clock() - wait).previous())
        return cls(store, str(Period.parse(period or "")), signer, wait, archive)

    @classmethod
    def from_options(cls, options: PipelineOptions, clock: Callable[[], datetime] = utc_now) -> "StatementSettings":
        view, charging = options.view_as(StatementOptions), options.view_as(ChargingOptions)
        signer, _ = signing(charging.signer, options.view_as(LocalKeyOptions).keys, charging.kid)
        stores = options.view_as(StoreOptions)
        return cls.of(stores.store, view.period, signer, view.grace, clock, stores.archive)


def build(
    pipeline: beam.Pipeline, settings: StatementSettings, clock: Callable[[], datetime] = utc_now
) -> beam.PCollection:
    """Add the job's steps; return the statements (exported) for tests."""
    closed_at = (
        pipeline
        | "Period" >> beam.Create([settings.period])
        | "BeginClose" >> beam.ParDo(BeginClose(settings.store, settings.grace, clock))
    )
    return (
        pipeline
        | "CustomerIdRanges" >> beam.Create(customer_ranges())
        | "ListCustomers" >> beam.ParDo(ListCustomers(settings.store))
        | "SpreadCustomers" >> beam.Reshuffle()
        | "BatchCustomers" >> beam.BatchElements(min_batch_size=1, max_batch_size=CLOSE_BATCH)
        | "CloseCustomers"
        >> beam.ParDo(
            CloseCustomers(settings.store, settings.signer, settings.period, settings.archive),
            beam.pvalue.AsSingleton(closed_at),
        )
    )


def run(settings: StatementSettings, extra_args: list[str] | None = None, clock: Callable[[], datetime] = utc_now):
    """Run the job locally to the end; its PipelineResult."""
    prepare_direct_runner()
    pipeline = beam.Pipeline(options=PipelineOptions(extra_args or [], runner=RUNNER))
    build(pipeline, settings, clock)
    result = pipeline.run()
    result.wait_until_finish()
    return result


def statement_counts(result):
    return job_counts(result, ["statements"])


def main(argv: list[str] | None = None) -> int:
    options = PipelineOptions(argv if argv is not None else sys.argv[1:])
    launch_or_wait(
        options, REQUIRED, "statements", lambda pipeline: build(pipeline, StatementSettings.from_options(options))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
