"""What the reconciliation reads from the SQLite store: every customer, a customer's ledger
as stored, and its state rows from one read transaction (never repaired). A part of
`SqliteStore` (receipts.stores.sqlite)."""

import json
import sqlite3
from collections.abc import Iterator

from receipts.rows import AmountRow, CustomerState, IdempotencyRow, LedgerEntry


class SqliteStateReads:
    """Customers, ledgers and state rows, for the reconciliation. Uses the store's `_db`,
    `_read` and `entitlements`."""

    _db: sqlite3.Connection

    def customers(self, first: str = "", before: str | None = None) -> Iterator[str]:
        tables = ("receipts", "chain_heads", "balances", "entitlement_usage", "idempotency_keys")
        union = " UNION ".join(f"SELECT customer_id FROM {table}" for table in tables)
        query = f"SELECT customer_id FROM ({union}) WHERE customer_id >= ?"
        arguments: tuple[str, ...] = (first,)
        if before is not None:
            query += " AND customer_id < ?"
            arguments += (before,)
        for (customer_id,) in self._db.execute(query + " ORDER BY 1", arguments):
            yield customer_id

    def ledger_entries(self, customer_id: str) -> Iterator[LedgerEntry]:
        rows = self._db.execute(
            "SELECT receipt_id, customer_id, sequence, receipt_hash, body, signature FROM receipts "
            "WHERE customer_id = ? ORDER BY sequence",
            (customer_id,),
        )
        for receipt_id, customer, sequence, receipt_hash, body, signature in rows:
            try:
                exported = {**json.loads(body), "receipt_hash": receipt_hash, "signature": signature}
            except ValueError:  # an edited row may not even be JSON: the check says so
                exported = {"receipt_hash": receipt_hash, "signature": signature}
            yield LedgerEntry(exported, {"receipt_id": receipt_id, "customer_id": customer, "sequence": sequence})

    def customer_state(self, customer_id: str, as_of: str | None = None) -> CustomerState:
        """One read transaction; `as_of` is ignored (SQLite keeps no versions; the CLI holds
        the home's run lock, so nothing moves while the reconciliation reads)."""
        with self._read():
            head = self._db.execute(
                "SELECT sequence, receipt_hash FROM chain_heads WHERE customer_id = ?", (customer_id,)
            ).fetchone()
            balances = {
                currency: AmountRow(str(balance), as_of_sequence)
                for currency, balance, as_of_sequence in self._db.execute(
                    "SELECT currency, balance, as_of_sequence FROM balances WHERE customer_id = ?", (customer_id,)
                )
            }
            usage = {
                entitlement_id: AmountRow(str(used), as_of_sequence)
                for entitlement_id, used, as_of_sequence in self._db.execute(
                    "SELECT entitlement_id, used_minor, as_of_sequence FROM entitlement_usage WHERE customer_id = ?",
                    (customer_id,),
                )
            }
            caps = {cap.entitlement_id: cap for cap in self.entitlements() if cap.customer_id == customer_id}
            rows = tuple(
                IdempotencyRow(key, receipt_id, event_sha256)
                for key, receipt_id, event_sha256 in self._db.execute(
                    "SELECT idempotent_key, receipt_id, event_sha256 FROM idempotency_keys "
                    "WHERE customer_id = ? ORDER BY idempotent_key",
                    (customer_id,),
                )
            )
            credits = {
                receipt_id: AmountRow(str(credited), as_of_sequence)
                for receipt_id, credited, as_of_sequence in self._db.execute(
                    "SELECT receipt_id, credited_minor, as_of_sequence FROM charge_credits WHERE customer_id = ?",
                    (customer_id,),
                )
            }
            archived = self.archived_through(customer_id)
        return CustomerState(
            customer_id,
            head[0] if head else None,
            head[1] if head else None,
            balances,
            usage,
            caps,
            rows,
            self.idempotency_ttl_seconds,
            archived,
            credits,
        )
