"""The statements job's steps: fix the period's close time once (BeginClose), then one
statement per customer (CloseCustomers, a batch of customers at a time), each signed with
the receipts' key and written once, then archived once (receipts.stores.statement_files)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.jws import STATEMENT_TYP, sign_payloads
from receipts.records import export_line
from receipts.statements import Period, Previous, build_statement, exported_statement, statement_id
from receipts.statements.periods import close_time_problem
from receipts.stores.archives import open_statement_archive
from receipts.stores.signers import signer_from_url
from receipts.stores.statement_files import statement_path
from receipts.stores.worker_stores import acquire_store, release_store


class CloseRefused(ValueError):
    """The period may not close now (too early, or out of order): nothing was issued."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class BeginClose(beam.DoFn):
    """period -> its close time: now on the period's first close (refused while its end plus
    the grace is ahead, or out of order), the stored time on any later run."""

    def __init__(self, store_url: str, grace: timedelta, clock: Callable[[], datetime] = utc_now) -> None:
        self.store_url, self.grace, self.clock = store_url, grace, clock

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, period: str):
        stored = self.store.period_closed_at(period)
        if stored is None:
            now = self.clock()
            problem = close_time_problem(Period.parse(period), now, self.grace)
            if problem:
                raise CloseRefused(problem)
            stored = self.store.begin_close(period, now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        yield stored


class CloseCustomers(beam.DoFn):
    """[customer_id, ...] -> each customer's statement for the period (exported), issued once:
    a statement already stored is the answer, byte for byte (kept again, so that a store that
    mirrors it, as the Google Cloud store does, finishes what a killed close left undone). The
    batch's new statements are signed in one call: Cloud KMS signs a batch concurrently, where
    one statement at a time would wait a round trip each.

    Each statement, new or not, then goes to the statements' archive beside `archive_url`
    (write-once: the same bytes again are a replay; other bytes fail the job, naming the
    object), unless the store archives its statements itself (the Google Cloud store's
    add_statement does, after its commit)."""

    def __init__(self, store_url: str, signer_url: str, period: str, archive_url: str | None = None) -> None:
        self.store_url, self.signer_url, self.period = store_url, signer_url, period
        self.archive_url = archive_url
        self.archived = Metrics.counter("statements", "statements_archived")
        self.issued = Metrics.counter("statements", "statements_issued")
        self.kept = Metrics.counter("statements", "statements_already_issued")
        self.lines = Metrics.counter("statements", "lines")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)
        self.signer = signer_from_url(self.signer_url)
        mirrored = getattr(self.store, "mirrors_statements", False)
        self.archive = open_statement_archive(self.archive_url) if self.archive_url and not mirrored else None

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, customers: list[str], closed_at: str):
        period, unsigned, done = Period.parse(self.period), [], []
        for customer_id in customers:
            existing = self.store.statement(statement_id(customer_id, self.period))
            if existing is not None:
                self.kept.inc()
                done.append(self.store.add_statement(existing))
                continue
            chain = list(self.store.receipts(customer_id))
            previous = Previous.of(self.store.previous_statement(customer_id, self.period))
            unsigned.append(build_statement(customer_id, period, closed_at, chain, previous, self.signer.kid))
        signatures = sign_payloads(self.signer, [statement.canonical for statement in unsigned], STATEMENT_TYP)
        for statement, signature in zip(unsigned, signatures, strict=True):
            stored = self.store.add_statement(exported_statement(statement, signature))
            self.issued.inc()
            self.lines.inc(stored["line_count"])
            done.append(stored)
        if self.archive is not None:  # the batch's statements at once, after their commits
            self.archived.inc(self.archive.write_all({statement_path(s): export_line(s) for s in done}))
        yield from done
