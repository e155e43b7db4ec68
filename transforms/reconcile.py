"""Reconcile per customer, then sum up: CoGroupByKey output -> CustomerResult -> one report.

`ReconcileCustomer` runs every check on one customer's chain in one pass with
`receipts.reconciliation` (which verifies with `receipts.verify`); the JWKS is loaded in
setup(), never pickled. `SummarizeResults` adds the small per-customer results up into
one report, listing at most a bounded number of discrepancies.
"""

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from receipts.reconciliation import CHECKS, CustomerResult, Scope, reconcile_customer
from receipts.reconciliation.findings import ARCHIVE, LEDGER, STATE
from receipts.reconciliation.report import Summary, alert_message, summary_line
from receipts.rows import CustomerState
from receipts.stores import open_store
from receipts.stores.public_keys import load_jwks, store_delegations
from receipts.stores.retry import with_backoff

log = logging.getLogger("receipts.reconcile")


class ReconcileCustomer(beam.DoFn):
    """(customer_id, {'ledger': [[LedgerEntry]], 'archive': [[ArchivedCopy], ...], 'state': [CustomerState]})
    -> CustomerResult: the ledger as one list, the archive as one list per file.

    `read_state`: the state store was read, so a customer with no state element has no
    state rows at all (which the checks report), rather than none read.
    """

    def __init__(
        self,
        scope: Scope,
        jwks_location: str | None,
        keys_folder: str | None,
        read_state: bool,
        idempotency_ttl_seconds: int | None = None,
        store_url: str | None = None,
    ) -> None:
        """`store_url`: the store whose delegated keys (and their endorsements) are checked too."""
        self.scope, self.store_url = scope, store_url
        self.jwks_location, self.keys_folder = jwks_location, keys_folder
        self.read_state, self.ttl = read_state, idempotency_ttl_seconds
        self.customers = Metrics.counter("reconcile", "customers_reconciled")
        self.receipts = Metrics.counter("reconcile", "receipts_examined")
        self.discrepancies = {check: Metrics.counter("reconcile", f"discrepancies_{check}") for check in CHECKS}

    def setup(self) -> None:
        self.jwks, _ = load_jwks(self.jwks_location, self.keys_folder)
        self.delegations = None
        if self.store_url:
            store = open_store(self.store_url)
            try:
                found = store_delegations(store, self.jwks)
            finally:
                store.close()
            if found is not None:
                self.jwks, self.delegations = found

    def process(self, element):
        customer_id, grouped = element
        states = list(grouped.get(STATE, ()))
        state = states[0] if states else None
        if state is None and self.read_state:
            state = CustomerState(customer_id, None, None, {}, {}, {}, (), self.ttl)
        result = reconcile_customer(
            customer_id,
            [entry for entries in grouped.get(LEDGER, ()) for entry in entries],
            [copy for copies in grouped.get(ARCHIVE, ()) for copy in copies],
            state,
            self.jwks,
            self.scope,
            datetime.now(UTC),
            self.delegations,
        )
        self.customers.inc()
        self.receipts.inc(result.tally.receipts)
        for discrepancy in result.discrepancies:
            self.discrepancies[discrepancy.check].inc()
        yield result


class SummarizeResults(beam.CombineFn):
    """CustomerResult... -> Summary: exact counts, at most `max_listed` discrepancies kept."""

    def __init__(self, max_listed: int) -> None:
        super().__init__()
        self.max_listed = max_listed

    def create_accumulator(self) -> Summary:
        return Summary(self.max_listed)

    def add_input(self, summary: Summary, result: CustomerResult) -> Summary:
        return summary.add(result)

    def merge_accumulators(self, summaries) -> Summary:
        merged = Summary(self.max_listed)
        for summary in summaries:
            merged.merge(summary)
        return merged

    def extract_output(self, summary: Summary) -> Summary:
        return summary


class WriteReport(beam.DoFn):
    """The report -> a JSON file (a local path or gs://), written whole or not at all; logs
    one summary line (`summary(report)`) and passes the report on. A gs:// object appears
    only when its upload completes, so it is written under its own name: a rename would
    delete the temporary object, which the jobs' create-only identities may not do."""

    def __init__(self, path: str, summary: Callable[[dict], str] = summary_line) -> None:
        self.path, self.summary = path, summary

    def process(self, report: dict):
        data = json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        whole = self.path.startswith("gs://")
        written = self.path if whole else f"{self.path}.partial"
        with FileSystems.create(written) as handle:
            handle.write(data)
        if not whole:
            FileSystems.rename([written], [self.path])
        log.info("%s; report %s", self.summary(report), self.path)
        yield report


class PublishAlert(beam.DoFn):
    """The report -> one Pub/Sub message on `topic` when it has discrepancies."""

    def __init__(self, topic: str, report_url: str | None) -> None:
        self.topic, self.report_url = topic, report_url
        self.published = Metrics.counter("reconcile", "alerts_published")

    def setup(self) -> None:
        from google.cloud import pubsub_v1

        self.publisher = pubsub_v1.PublisherClient()

    def process(self, report: dict):
        if report["ok"]:
            return
        data, attributes = alert_message(report, self.report_url)
        message_id = with_backoff(
            f"publish to {self.topic}", lambda: self.publisher.publish(self.topic, data, **attributes).result(60)
        )
        self.published.inc()
        log.warning("reconciliation alert %s published to %s", message_id, self.topic)
        yield message_id
