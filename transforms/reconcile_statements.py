"""The reconciliation's statements step: customer id -> CustomerResult of its statements
(receipts.reconciliation.statements), read from the store (its chain as stored, its
statements, the periods' closes). A store that keeps no statements has nothing to check."""

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.reconciliation.findings import STATEMENTS, CustomerResult, Tally
from receipts.reconciliation.statements import check_statements
from receipts.stores.public_keys import load_jwks
from receipts.stores.worker_stores import acquire_store, release_store


class CheckStatements(beam.DoFn):
    def __init__(self, store_url: str, jwks_location: str | None, keys_folder: str | None) -> None:
        self.store_url, self.jwks_location, self.keys_folder = store_url, jwks_location, keys_folder
        self.discrepancies = Metrics.counter("reconcile", "discrepancies_statements")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)
        self.jwks, _ = load_jwks(self.jwks_location, self.keys_folder)
        self.keeps_statements = hasattr(self.store, "statements")
        self.closes = (
            {period: self.store.period_closed_at(period) for period in self.store.closed_periods()}
            if self.keeps_statements
            else {}
        )

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, customer_id: str):
        if not self.keeps_statements:
            return
        statements = list(self.store.statements(customer_id))
        if not statements and not self.closes:  # nothing closed yet: every receipt is open
            tally = Tally()
            # The head as stored (customer_state never repairs: load_chain would copy a missing
            # ledger tail from Spanner's outbox and hide what the stores check must find).
            tally.examined(STATEMENTS, self.store.customer_state(customer_id).head_sequence or 0)
            yield CustomerResult(customer_id, (), tally)
            return
        chain = list(self.store.receipts(customer_id))
        # The chain check verifies every receipt (ReconcileCustomer); here each statement is
        # recomputed from the verified chain, so its receipts are not verified again.
        result = check_statements(customer_id, chain, statements, self.closes, self.jwks, chain_verified=True)
        self.discrepancies.inc(len(result.discrepancies))
        yield result
