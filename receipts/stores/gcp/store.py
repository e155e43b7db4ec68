"""`SpannerFirestoreStore`: the production store, `gcp://PROJECT[?instance=&database=&bucket=]`.

- Spanner holds the state: idempotency keys (TTL), chain heads, balances, entitlements
  and their usage. A receipt's rows are one commit, taken only when the receipt extends
  its customer's chain head, so a balance never moves without its receipt and the chain
  never has a gap. The idempotency row also carries the signed receipt (an outbox).
- Firestore holds the ledger: `receipts/{receipt_id}`, created after the Spanner commit,
  create-only. The same receipt again is a no-op; a different one under the same id is
  logged and counted, never written. If a process died between the two, the next
  `load_chain` of that customer copies the missing tail from the outbox.
- Dead letters: `dead_letters/{dead_letter_id}` in Firestore, create-only.

Every call that a briefly unavailable service can fail is retried with backoff.
"""

import json
import logging
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from google.cloud import firestore, spanner
from google.cloud.spanner_v1 import param_types

from receipts.canonical import ZERO_HASH
from receipts.ledger import ChainState
from receipts.money import minor_from_decimal
from receipts.records import SignedReceipt
from receipts.rows import WriteCounts, WriteOutcome
from receipts.stores.gcp.account import GcpAccount
from receipts.stores.gcp.archive_outbox import SpannerArchiveOutbox
from receipts.stores.gcp.delegated_keys import SpannerDelegatedKeys
from receipts.stores.gcp.intake import SpannerIntake
from receipts.stores.gcp.keyed_reads import SpannerKeyedReads
from receipts.stores.gcp.ledger import RECEIPTS, FirestoreLedger, document_of, ledger_document
from receipts.stores.gcp.location import GcpLocation, client_options
from receipts.stores.gcp.log import SpannerLog
from receipts.stores.gcp.log_restore import SpannerLogRestore
from receipts.stores.gcp.restore import SpannerRestore
from receipts.stores.gcp.schema import KEY_COLUMNS
from receipts.stores.gcp.site_records import SpannerSiteRecords
from receipts.stores.gcp.state_reads import SpannerStateReads
from receipts.stores.gcp.statements import SpannerStatements
from receipts.stores.gcp.submissions import SpannerSubmissions
from receipts.stores.retry import with_backoff

log = logging.getLogger("receipts.gcp")
OUTBOX_SCAN = 1000  # receipts a crash can leave out of the ledger: at most one write batch
IDEMPOTENCY_TTL_SECONDS = 30 * 24 * 3600  # spanner.sql: ROW DELETION POLICY (OLDER_THAN(CreatedAt, INTERVAL 30 DAY))
STATE_COLUMNS = {
    "ChainHeads": ["CustomerId", "Sequence", "ReceiptHash", "ReceiptId", "UpdatedAt"],
    "Balances": ["CustomerId", "Currency", "Balance", "AsOfSequence"],
    "EntitlementUsage": ["CustomerId", "EntitlementId", "UsedMinor", "AsOfSequence"],
    "ChargeCredits": ["CustomerId", "ReceiptId", "CreditedMinor", "AsOfSequence"],
}


class SpannerFirestoreStore(
    FirestoreLedger,
    SpannerKeyedReads,
    SpannerStateReads,
    SpannerSiteRecords,
    SpannerArchiveOutbox,
    SpannerLog,
    SpannerLogRestore,
    SpannerIntake,
    SpannerRestore,
    SpannerSubmissions,
    GcpAccount,
    SpannerStatements,
    SpannerDelegatedKeys,
):
    """The Spanner state and the chain's writes here; the Firestore ledger (receipts.stores.gcp.ledger),
    the look-ups by key and the entitlements (keyed_reads),
    the reconciliation's reads (state_reads), the site's records (site_records), the archive's
    outbox (archive_outbox), the transparency log (log, and its restore: log_restore), intake's
    state (intake), the restore (restore), who submitted each event through the site's API (submissions), the
    billing periods' statements (statements) and the delegated signing keys (delegated_keys) beside it."""

    idempotency_ttl_seconds = IDEMPOTENCY_TTL_SECONDS
    shareable = True  # thread-safe clients: one per worker process (receipts.stores.worker_stores)

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = GcpLocation.parse(url)
        options = client_options()
        self._spanner = spanner.Client(project=self.location.project, **options)
        self._database = self._spanner.instance(self.location.instance).database(
            self.location.database, database_role=self.location.role
        )
        self._firestore = firestore.Client(project=self.location.project, **options)
        self._counts = threading.local()  # per thread: a shared store's callers each read their own

    @property
    def ledger_conflicts(self) -> int:
        """Different receipts found under a stored id (logged, never written), by this thread."""
        return getattr(self._counts, "ledger_conflicts", 0)

    @ledger_conflicts.setter
    def ledger_conflicts(self, value: int) -> None:
        self._counts.ledger_conflicts = value

    @property
    def write_counts(self) -> WriteCounts:
        """The receipt commits' Spanner transactions and mutations, by this thread."""
        if not hasattr(self._counts, "writes"):
            self._counts.writes = WriteCounts()
        return self._counts.writes

    def close(self) -> None:
        self._firestore.close()
        if hasattr(self._spanner, "close"):
            self._spanner.close()

    # -- Spanner reads -------------------------------------------------------------
    def _query(self, sql: str, params: dict[str, Any] | None = None, types: dict[str, Any] | None = None) -> list:
        def run() -> list:
            with self._database.snapshot() as snapshot:
                return list(snapshot.execute_sql(sql, params=params, param_types=types))

        return with_backoff("Spanner query", run)

    def _read(self, table: str, columns: list[str], keys: spanner.KeySet) -> list:
        """Rows by key: a Spanner read is about twice as fast as the same SELECT."""

        def run() -> list:
            with self._database.snapshot() as snapshot:
                return list(snapshot.read(table, columns, keys))

        return with_backoff(f"Spanner read {table}", run)

    def load_chain(self, customer_id: str) -> ChainState:
        one = spanner.KeySet(keys=[[customer_id]])
        prefix = spanner.KeySet(ranges=[spanner.KeyRange(start_closed=[customer_id], end_closed=[customer_id])])

        def run() -> tuple[list, list, list]:
            with self._database.snapshot(multi_use=True) as snapshot:
                return (
                    list(snapshot.read("ChainHeads", ["Sequence", "ReceiptHash", "ReceiptId"], one)),
                    list(snapshot.read("Balances", ["Currency", "Balance"], prefix)),
                    list(snapshot.read("EntitlementUsage", ["EntitlementId", "UsedMinor"], prefix)),
                )

        head, balance_rows, usage_rows = with_backoff("Spanner read chain", run)
        sequence, head_hash, head_id = head[0] if head else (0, ZERO_HASH, None)
        balances = {currency: minor_from_decimal(amount, currency) for currency, amount in balance_rows}
        if head_id is not None and self._get_ledger(head_id) is None:
            self._sync_ledger_tail(customer_id, sequence)
        return ChainState(customer_id, sequence, head_hash, balances, dict(usage_rows))

    def write_receipts(self, receipts: Sequence[SignedReceipt]) -> list[WriteOutcome]:
        """One Spanner commit for the batch (state + outbox), then the ledger documents."""
        if not receipts:
            return []
        outcomes = with_backoff(
            "Spanner receipt commit", lambda: self._database.run_in_transaction(self._commit_receipts, receipts)
        )
        stored = [
            r
            for r, o in zip(receipts, outcomes, strict=True)
            if o in (WriteOutcome.WRITTEN, WriteOutcome.ALREADY_PRESENT)
        ]
        self._create_ledger_documents([(r.receipt_id, ledger_document(r)) for r in stored])
        return outcomes

    def _commit_receipts(self, transaction, receipts: Sequence[SignedReceipt]) -> list[WriteOutcome]:
        """Insert each receipt's idempotency row (its outbox) and, once per customer, the state
        after the last receipt taken: head, balances and usage rows are absolute values, so a
        batch of a customer's receipts writes them once, not once per receipt."""
        self.write_counts.transactions += 1  # an attempt: Spanner may run the function again on abort
        keys = [[r.chained.customer_id, r.chained.body["idempotent_key"]] for r in receipts]
        stored_hashes = {
            (customer, key): receipt_hash
            for customer, key, receipt_hash in transaction.read(
                "IdempotencyKeys",
                ["CustomerId", "IdempotentKey", "ReceiptHash"],
                spanner.KeySet(keys=keys),
            )
        }
        customers = sorted({r.chained.customer_id for r in receipts})
        heads = {
            customer: (sequence, receipt_hash)
            for customer, sequence, receipt_hash in transaction.read(
                "ChainHeads", ["CustomerId", "Sequence", "ReceiptHash"], spanner.KeySet(keys=[[c] for c in customers])
            )
        }
        outcomes, keys_rows = [], []
        state: dict[str, dict[tuple[str, str], list]] = {table: {} for table in STATE_COLUMNS}
        for receipt in receipts:
            chained, body = receipt.chained, receipt.chained.body
            customer, sequence = chained.customer_id, chained.sequence
            stored = stored_hashes.get((customer, body["idempotent_key"]))
            if stored is not None:
                outcomes.append(
                    WriteOutcome.ALREADY_PRESENT if stored == chained.receipt_hash else WriteOutcome.CONFLICT
                )
                continue
            head_sequence, head_hash = heads.get(customer, (0, ZERO_HASH))
            if (sequence, body["previous_receipt_hash"]) != (head_sequence + 1, head_hash):
                outcomes.append(WriteOutcome.NOT_NEXT)
                continue
            keys_rows.append(
                [
                    customer,
                    body["idempotent_key"],
                    chained.receipt_id,
                    body["event_sha256"],
                    sequence,
                    chained.receipt_hash,
                    chained.canonical.decode("utf-8"),
                    receipt.signature,
                    spanner.COMMIT_TIMESTAMP,
                ]
            )
            state["ChainHeads"][(customer, "")] = [
                customer,
                sequence,
                chained.receipt_hash,
                chained.receipt_id,
                spanner.COMMIT_TIMESTAMP,
            ]
            currency = body["currency"]
            state["Balances"][(customer, currency)] = [customer, currency, Decimal(body["balance_after"]), sequence]
            if chained.entitlement_used_minor is not None:
                entitlement = chained.entitlement_id  # a credit's is its charge's
                state["EntitlementUsage"][(customer, entitlement)] = [
                    customer,
                    entitlement,
                    chained.entitlement_used_minor,
                    sequence,
                ]
            if chained.credited is not None:  # an accepted credit: what its charge's credits add up to now
                charge_id, credited = chained.credited
                state["ChargeCredits"][(customer, charge_id)] = [customer, charge_id, credited, sequence]
            heads[customer] = (sequence, chained.receipt_hash)
            stored_hashes[(customer, body["idempotent_key"])] = chained.receipt_hash
            outcomes.append(WriteOutcome.WRITTEN)
        if keys_rows:
            self._mutate(transaction.insert, "IdempotencyKeys", [*KEY_COLUMNS, "CreatedAt"], keys_rows)
        for table, rows in state.items():
            if rows:
                self._mutate(transaction.insert_or_update, table, STATE_COLUMNS[table], list(rows.values()))
        return outcomes

    def _mutate(self, write, table: str, columns: list[str], rows: list[list]) -> None:
        """One mutation of `rows`, counted as Spanner counts them: one per column of each row
        (secondary index entries, which Spanner counts too, are not counted here)."""
        write(table, columns, rows)
        self.write_counts.mutations += len(rows) * len(columns)
        self.write_counts.rows += len(rows)

    def _sync_ledger_tail(self, customer_id: str, head_sequence: int) -> int:
        """Copy receipts that Spanner committed but the ledger lacks (a process died between
        the two writes; load_chain found the head missing). They can only be the newest
        ones; return how many were copied."""
        rows = self._query(
            "SELECT ReceiptId, Sequence, ReceiptHash, Body, Signature "
            "FROM IdempotencyKeys@{FORCE_INDEX=IdempotencyKeysBySequence} "
            "WHERE CustomerId = @c AND Sequence > @from ORDER BY Sequence DESC",
            {"c": customer_id, "from": max(0, head_sequence - OUTBOX_SCAN)},
            {"c": param_types.STRING, "from": param_types.INT64},
        )
        if not rows:
            return 0
        references = [self._firestore.collection(RECEIPTS).document(row[0]) for row in rows]
        present = {
            snapshot.id
            for snapshot in with_backoff("Firestore get_all", lambda: list(self._firestore.get_all(references)))
            if snapshot.exists
        }
        missing = [row for row in reversed(rows) if row[0] not in present]
        self._create_ledger_documents(
            [
                (receipt_id, document_of(body, json.loads(body), receipt_hash, signature))
                for receipt_id, _, receipt_hash, body, signature in missing
            ]
        )
        if missing:
            log.warning("copied %d receipt(s) of %s from the Spanner outbox into the ledger", len(missing), customer_id)
        return len(missing)
