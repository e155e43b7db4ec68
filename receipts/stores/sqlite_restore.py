"""Restore for the SQLite store: make one customer's rows say what its verified chain says,
in one transaction, touching only rows that are missing or wrong. A part of `SqliteStore`
(receipts.stores.sqlite); pipelines/restore.py calls it with chains it has verified."""

import sqlite3
from collections.abc import Sequence
from typing import Any

from receipts.canonical import canonical_bytes
from receipts.contract import signed_body
from receipts.restoration import state_rows
from receipts.rows import RestoreOutcome


class SqliteRestore:
    """`restore_chain` for SqliteStore. Uses the store's `_db` and `_transaction`."""

    _db: sqlite3.Connection

    def restore_chain(
        self, customer_id: str, receipts: Sequence[dict[str, Any]], archived_through: int | None = None
    ) -> RestoreOutcome:
        last = len(receipts)
        with self._transaction():
            head = self._db.execute(
                "SELECT sequence, receipt_hash FROM chain_heads WHERE customer_id = ?", (customer_id,)
            ).fetchone()
            if head and head[0] > last:
                refused = f"the chain head is sequence {head[0]}, past the chain given (sequence {last})"
                return RestoreOutcome(customer_id, head[0], refused=refused)
            ledger = [0, 0, 0]  # written, replaced, right already
            keys = [0, 0, 0]
            for receipt in receipts:
                ledger[self._restore_receipt(receipt)] += 1
                keys[self._restore_key(receipt)] += 1
            state = self._restore_state(customer_id, receipts, tuple(head) if head else None)
            self._db.execute(
                "INSERT INTO archive_marks VALUES (?, ?) ON CONFLICT (customer_id) "
                "DO UPDATE SET planned_sequence = max(planned_sequence, excluded.planned_sequence)",
                (customer_id, last if archived_through is None else archived_through),
            )
        return RestoreOutcome(customer_id, last, ledger[0], ledger[1], keys[0], keys[1], 0, state)

    def _restore_receipt(self, receipt: dict[str, Any]) -> int:
        """0: written (missing), 1: replaced (differed), 2: right already."""
        body = signed_body(receipt)
        row = (
            receipt["receipt_id"],
            receipt["customer_id"],
            receipt["sequence"],
            receipt["receipt_hash"],
            canonical_bytes(body).decode("utf-8"),
            receipt["signature"],
        )
        found = self._db.execute(
            "SELECT receipt_id, customer_id, sequence, receipt_hash, body, signature FROM receipts "
            "WHERE receipt_id = ? OR (customer_id = ? AND sequence = ?)",
            (row[0], row[1], row[2]),
        ).fetchall()
        if found == [row]:
            return 2
        self._db.execute(
            "DELETE FROM receipts WHERE receipt_id = ? OR (customer_id = ? AND sequence = ?)", (row[0], row[1], row[2])
        )
        self._db.execute("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)", row)
        return 1 if found else 0

    def _restore_key(self, receipt: dict[str, Any]) -> int:
        row = (receipt["customer_id"], receipt["idempotent_key"], receipt["receipt_id"], receipt["event_sha256"])
        found = self._db.execute(
            "SELECT customer_id, idempotent_key, receipt_id, event_sha256 FROM idempotency_keys "
            "WHERE customer_id = ? AND idempotent_key = ?",
            row[:2],
        ).fetchone()
        if found == row:
            return 2
        self._db.execute("INSERT OR REPLACE INTO idempotency_keys VALUES (?, ?, ?, ?)", row)
        return 1 if found else 0

    def _restore_state(self, customer_id: str, receipts: Sequence[dict[str, Any]], head: tuple[int, str] | None) -> int:
        """The chain head, balances, usage and charge credits recomputed from the chain; rows the chain does
        not account for removed. Returns how many rows were written or removed."""
        changed = 0
        if receipts and head != (receipts[-1]["sequence"], receipts[-1]["receipt_hash"]):
            self._db.execute(
                "INSERT OR REPLACE INTO chain_heads VALUES (?, ?, ?)",
                (customer_id, receipts[-1]["sequence"], receipts[-1]["receipt_hash"]),
            )
            changed += 1
        balances, usage, credits = state_rows(receipts)
        wanted = {
            "balances": ("currency", "balance", {c: (text, seq) for c, (text, seq) in balances.items()}),
            "entitlement_usage": ("entitlement_id", "used_minor", {e: (str(m), seq) for e, (m, seq) in usage.items()}),
            "charge_credits": ("receipt_id", "credited_minor", {r: (str(m), seq) for r, (m, seq) in credits.items()}),
        }
        for table, (key, value, rows) in wanted.items():
            stored = {
                name: (str(amount), as_of)
                for name, amount, as_of in self._db.execute(
                    f"SELECT {key}, {value}, as_of_sequence FROM {table} WHERE customer_id = ?", (customer_id,)
                )
            }
            for name in stored.keys() - rows.keys():
                self._db.execute(f"DELETE FROM {table} WHERE customer_id = ? AND {key} = ?", (customer_id, name))
                changed += 1
            for name, row in rows.items():
                if stored.get(name) != row:
                    self._db.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?)", (customer_id, name, *row))
                    changed += 1
        return changed
