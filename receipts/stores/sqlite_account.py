"""The customer's account page reads in the SQLite store: one customer's balances, a page of
their receipts under a filter (keyset by sequence, never OFFSET), the credits that name some
charges, and a period's accepted receipts per day. Reads only. A part of `SqliteStore`
(receipts.stores.sqlite), which supplies `_db`."""

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from receipts.rows import Balance
from receipts.statements.activity import DayTotal, ReceiptFilter, ReceiptPage, daily_totals
from receipts.statements.periods import Period

# The receipt's type as receipts.statements.lines.receipt_type reads it: v1 is a charge.
TYPE_SQL = (
    "CASE WHEN json_extract(body, '$.v') = 1 THEN 'charge' ELSE coalesce(json_extract(body, '$.type'), 'charge') END"
)
# UTC texts start with YYYY-MM: the month prefix is the period (a string range would put
# "…T00:00:00.5Z" before "…T00:00:00Z").
PERIOD_SQL = "substr(json_extract(body, '$.event_timestamp'), 1, 7)"


class SqliteAccount:
    _db: sqlite3.Connection

    def customer_balances(self, customer_id: str) -> list[Balance]:
        rows = self._db.execute(
            "SELECT customer_id, currency, balance, as_of_sequence FROM balances WHERE customer_id = ? "
            "ORDER BY currency",
            (customer_id,),
        )
        return [Balance(*row) for row in rows]

    def account_receipts(self, customer_id: str, chosen: ReceiptFilter, after_sequence: int, limit: int) -> ReceiptPage:
        """Up to `limit` receipts with sequence > `after_sequence` that `chosen` keeps."""
        where, arguments = ["customer_id = ?", "sequence > ?"], [customer_id, after_sequence]
        if chosen.status is not None:
            where.append("json_extract(body, '$.status') = ?")
            arguments.append(chosen.status)
        if chosen.type is not None:
            where.append(f"{TYPE_SQL} = ?")
            arguments.append(chosen.type)
        if chosen.period is not None:
            where.append(f"{PERIOD_SQL} = ?")
            arguments.append(str(chosen.period))
        rows = self._db.execute(
            "SELECT body, receipt_hash, signature FROM receipts WHERE "
            + " AND ".join(where)
            + " ORDER BY sequence LIMIT ?",
            (*arguments, limit + 1),
        ).fetchall()
        found = [_exported(row) for row in rows[:limit]]
        return ReceiptPage(found, found[-1]["sequence"] if len(rows) > limit else None)

    def credits_of(self, customer_id: str, charge_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The receipts (accepted or refused) that name each charge as the one they correct."""
        found: dict[str, list[dict[str, Any]]] = {}
        if not charge_ids:
            return found
        marks = ", ".join("?" * len(charge_ids))
        rows = self._db.execute(
            "SELECT body, receipt_hash, signature FROM receipts INDEXED BY receipts_by_corrects WHERE customer_id = ? "
            f"AND json_extract(body, '$.corrects') IS NOT NULL AND json_extract(body, '$.corrects') IN ({marks}) "
            "ORDER BY sequence",
            (customer_id, *charge_ids),
        )
        for row in rows:
            credit = _exported(row)
            found.setdefault(credit["corrects"], []).append(credit)
        return found

    def daily_totals(self, customer_id: str, period: Period) -> list[DayTotal]:
        return daily_totals(self._period_receipts(customer_id, period), period)

    def _period_receipts(self, customer_id: str, period: Period) -> Iterator[dict[str, Any]]:
        rows = self._db.execute(
            f"SELECT body, receipt_hash, signature FROM receipts WHERE customer_id = ? AND {PERIOD_SQL} = ? "
            "AND json_extract(body, '$.status') = 'accepted' ORDER BY sequence",
            (customer_id, str(period)),
        )
        for row in rows:
            yield _exported(row)

    def latest_receipt(self, customer_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body, receipt_hash, signature FROM receipts WHERE customer_id = ? ORDER BY sequence DESC LIMIT 1",
            (customer_id,),
        ).fetchone()
        return _exported(row) if row else None


def _exported(row: tuple[str, str, str]) -> dict[str, Any]:
    return {**json.loads(row[0]), "receipt_hash": row[1], "signature": row[2]}
