"""The customer's account page reads in the SQLite store: one customer's balances, a page of
their receipts under a filter (keyset by sequence, never OFFSET), the credits that name some
charges, and a period's accepted receipts per day. Reads only. A part of `SqliteStore`
(receipts.stores.sqlite), which supplies `_db`."""

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from receipts.rows import Balance
from receipts.statements.activity import SCAN_LIMIT, DayTotal, ReceiptFilter, ReceiptPage
from receipts.statements.periods import Period

MAX_SEQUENCE = 2**63 - 1  # SQLite's largest integer
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
        """Up to `limit` receipts with sequence > `after_sequence` that `chosen` keeps, among
        the next SCAN_LIMIT receipts (an index range on (customer_id, sequence))."""
        bound = min(after_sequence + SCAN_LIMIT, MAX_SEQUENCE)
        where, arguments = ["customer_id = ?", "sequence > ?", "sequence <= ?"], [customer_id, after_sequence, bound]
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
        if len(rows) > limit:
            return ReceiptPage(found, found[-1]["sequence"])
        later = self._db.execute(
            "SELECT 1 FROM receipts WHERE customer_id = ? AND sequence > ? LIMIT 1", (customer_id, bound)
        ).fetchone()
        return ReceiptPage(found, bound if later else None)

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
        """receipts.statements.activity.daily_totals, summed by SQLite in integers: a stored
        amount has exactly its currency's minor digits ("1.25", "100", "0.250"), so the text
        without its point is its minor units. tests/gcp/test_account_gcp.py holds both equal."""
        rows = self._db.execute(  # each body parsed once: its fields as one small JSON array, then read by index
            "WITH f AS MATERIALIZED (SELECT json_extract(body, '$.event_timestamp', '$.currency', '$.amount', "
            "'$.status', '$.v', '$.type') AS a FROM receipts WHERE customer_id = ?), "
            "g AS (SELECT json_extract(a, '$[0]') AS at, json_extract(a, '$[1]') AS currency, "
            "CAST(replace(json_extract(a, '$[2]'), '.', '') AS INTEGER) AS minor, json_extract(a, '$[3]') AS status, "
            "CASE WHEN json_extract(a, '$[4]') = 1 THEN 'charge' ELSE coalesce(json_extract(a, '$[5]'), 'charge') END "
            "AS kind FROM f) "
            "SELECT substr(at, 1, 10), currency, sum(CASE WHEN kind = 'credit' THEN 0 ELSE minor END), "
            "sum(CASE WHEN kind = 'credit' THEN minor ELSE 0 END) FROM g "
            "WHERE substr(at, 1, 7) = ? AND status = 'accepted' GROUP BY 1, 2 ORDER BY 1, 2",
            (customer_id, str(period)),
        )
        return [DayTotal(day, currency, charged, credited) for day, currency, charged, credited in rows]

    def latest_receipt(self, customer_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body, receipt_hash, signature FROM receipts WHERE customer_id = ? ORDER BY sequence DESC LIMIT 1",
            (customer_id,),
        ).fetchone()
        return _exported(row) if row else None


def _exported(row: tuple[str, str, str]) -> dict[str, Any]:
    return {**json.loads(row[0]), "receipt_hash": row[1], "signature": row[2]}
