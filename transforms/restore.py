"""Restore per customer, then sum up: the archive's copies of one customer's receipts ->
its verified chain -> the store's rows rebuilt -> CustomerRestore -> one report.

`RestoreCustomer` verifies with `receipts.restoration` (which uses `receipts.verify`) and
writes with `Store.restore_chain`; the JWKS and the store are opened in setup(), never
pickled. Archive lines are read by the reconciliation's own `ReadArchive`.
"""

from dataclasses import replace

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.reconciliation import CustomerResult
from receipts.restoration import extended_by_store, restorable_chain
from receipts.restoration.report import WRITTEN_KINDS, CustomerRestore, RestoreSummary
from receipts.stores.public_keys import load_jwks
from receipts.stores.worker_stores import acquire_store, release_store

NAMESPACE = "restore"


class RestoreCustomer(beam.DoFn):
    """(customer_id, [[ArchivedCopy], ...] one list per archive file) -> CustomerRestore.

    Nothing is written for a customer unless its chain verifies from sequence 1: the verified
    prefix of the archived chain, extended by the store's own receipts past it when they
    extend it and verify (not yet archived)."""

    def __init__(self, store_url: str, jwks_location: str | None, keys_folder: str | None) -> None:
        self.store_url, self.jwks_location, self.keys_folder = store_url, jwks_location, keys_folder
        self.customers = Metrics.counter(NAMESPACE, "customers_restored")
        self.verified = Metrics.counter(NAMESPACE, "receipts_verified")
        self.cut_short = Metrics.counter(NAMESPACE, "customers_cut_short")
        self.refused = Metrics.counter(NAMESPACE, "customers_refused")
        self.written = {kind: Metrics.counter(NAMESPACE, kind) for kind in WRITTEN_KINDS}

    def setup(self) -> None:
        self.jwks, _ = load_jwks(self.jwks_location, self.keys_folder)
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, element):
        customer_id, per_file = element
        restorable = restorable_chain(customer_id, [copy for copies in per_file for copy in copies], self.jwks)
        self.verified.inc(len(restorable.receipts))
        if restorable.cut_short is not None:
            self.cut_short.inc()
        state = self.store.customer_state(customer_id)
        extended = extended_by_store(restorable, self.store.ledger_entries(customer_id), state.head_sequence, self.jwks)
        result = CustomerRestore(
            customer_id,
            len(restorable.receipts),
            extended.kept,
            restorable.lines,
            restorable.duplicates,
            cut_short=restorable.cut_short,
            refused=extended.refused,
        )
        if extended.refused is None and extended.receipts:
            outcome = self.store.restore_chain(customer_id, extended.receipts, len(restorable.receipts))
            result = replace(result, outcome=outcome, refused=outcome.refused)
            if outcome.refused is None:
                self.customers.inc()
                for kind, counter in self.written.items():
                    counter.inc(getattr(outcome, kind))
        if result.refused is not None:
            self.refused.inc()
        yield result


def unreadable_line(result: CustomerResult) -> CustomerRestore:
    """An archive line the reconciliation's reader could not take for a receipt."""
    return CustomerRestore(None, unreadable=result.discrepancies[0].reason)


class SummarizeRestore(beam.CombineFn):
    """CustomerRestore... -> RestoreSummary: exact counts, a bounded list of problems."""

    def __init__(self, max_listed: int) -> None:
        super().__init__()
        self.max_listed = max_listed

    def create_accumulator(self) -> RestoreSummary:
        return RestoreSummary(self.max_listed)

    def add_input(self, summary: RestoreSummary, result: CustomerRestore) -> RestoreSummary:
        return summary.add(result)

    def merge_accumulators(self, summaries) -> RestoreSummary:
        merged = RestoreSummary(self.max_listed)
        for summary in summaries:
            merged.merge(summary)
        return merged

    def extract_output(self, summary: RestoreSummary) -> RestoreSummary:
        return summary
