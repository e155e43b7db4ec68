"""Statements in the SQLite store: each period's close (when it closed, fixed by its first
run) and each customer's statement, written once. A part of `SqliteStore`
(receipts.stores.sqlite), which supplies `_db` and its transactions."""

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from receipts.canonical import canonical_bytes
from receipts.statements.periods import Period, StatementOrderError, close_order_problem

__all__ = ["SqliteStatements", "StatementOrderError"]


class SqliteStatements:
    _db: sqlite3.Connection

    def begin_close(self, period: str, closed_at: str) -> str:
        """When `period` closes: `closed_at` on its first close, the stored time on any
        later one (a rerun issues the same statements). StatementOrderError out of order."""
        with self._transaction():
            stored = self.period_closed_at(period)
            if stored is not None:
                return stored
            problem = close_order_problem(Period.parse(period), [Period.parse(p) for p in self.closed_periods()])
            if problem:
                raise StatementOrderError(problem)
            self._db.execute("INSERT INTO statement_closes VALUES (?, ?)", (period, closed_at))
            return closed_at

    def period_closed_at(self, period: str) -> str | None:
        row = self._db.execute("SELECT closed_at FROM statement_closes WHERE period = ?", (period,)).fetchone()
        return row[0] if row else None

    def closed_periods(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT period FROM statement_closes ORDER BY period")]

    def add_statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        """Keep an exported statement, once per (customer, period); the stored one is the
        answer (a rerun's statement is byte for byte the same, or it is not written)."""
        body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
        with self._transaction():
            number = self._db.execute(
                "SELECT count(*) + 1 FROM statements WHERE customer_id = ? AND period < ?",
                (statement["customer_id"], statement["period"]),
            ).fetchone()[0]
            self._db.execute(
                "INSERT OR IGNORE INTO statements VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    statement["statement_id"],
                    statement["customer_id"],
                    statement["period"],
                    number,
                    statement["closing_sequence"],
                    statement["statement_hash"],
                    canonical_bytes(body).decode("utf-8"),
                    statement["signature"],
                ),
            )
        return self.statement(statement["statement_id"])

    def statement(self, statement_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body, statement_hash, signature FROM statements WHERE statement_id = ?", (statement_id,)
        ).fetchone()
        return _exported(row) if row else None

    def statements(self, customer_id: str | None = None, period: str | None = None) -> Iterator[dict[str, Any]]:
        """Statements by customer, then period."""
        where, arguments = [], []
        for column, value in (("customer_id", customer_id), ("period", period)):
            if value is not None:
                where.append(f"{column} = ?")
                arguments.append(value)
        query = "SELECT body, statement_hash, signature FROM statements"
        if where:
            query += " WHERE " + " AND ".join(where)
        for row in self._db.execute(query + " ORDER BY customer_id, period", arguments):
            yield _exported(row)

    # -- restore (receipts.stores.statements_restore) ------------------------------------
    def restore_close(self, period: str, closed_at: str) -> str:
        """Write back a period's close as its verified statements sign it: 'kept' when the
        store holds it so, 'written' when it held none, 'replaced' when it held another time."""
        with self._transaction():
            stored = self.period_closed_at(period)
            if stored == closed_at:
                return "kept"
            self._db.execute("INSERT OR REPLACE INTO statement_closes VALUES (?, ?)", (period, closed_at))
            return "written" if stored is None else "replaced"

    def restore_statement(self, statement: dict[str, Any]) -> str:
        """Write a verified archived statement back: 'kept' when the store holds it as it is,
        'written' when it held none, 'replaced' when it held another under its (customer,
        period) or its id. Its number (its order as a leaf of the log) is the customer's count
        of earlier statements + 1: a restore writes a customer's statements in period order."""
        customer, period = statement["customer_id"], statement["period"]
        body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
        text = canonical_bytes(body).decode("utf-8")
        wanted = (statement["statement_id"], statement["statement_hash"], text, statement["signature"])
        with self._transaction():
            held = self._db.execute(
                "SELECT statement_id, statement_hash, body, signature FROM statements "
                "WHERE (customer_id = ? AND period = ?) OR statement_id = ?",
                (customer, period, statement["statement_id"]),
            ).fetchall()
            if len(held) == 1 and tuple(held[0][:4]) == wanted:
                return "kept"
            number = self._db.execute(
                "SELECT count(*) + 1 FROM statements WHERE customer_id = ? AND period < ?", (customer, period)
            ).fetchone()[0]
            self._db.execute(
                "DELETE FROM statements WHERE (customer_id = ? AND period = ?) OR statement_id = ?",
                (customer, period, statement["statement_id"]),
            )
            self._db.execute(
                "INSERT INTO statements VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (wanted[0], customer, period, number, statement["closing_sequence"], *wanted[1:]),
            )
            return "replaced" if held else "written"

    def previous_statement(self, customer_id: str, period: str) -> dict[str, Any] | None:
        """The customer's latest statement of a period before `period`."""
        row = self._db.execute(
            "SELECT body, statement_hash, signature FROM statements WHERE customer_id = ? AND period < ? "
            "ORDER BY period DESC LIMIT 1",
            (customer_id, period),
        ).fetchone()
        return _exported(row) if row else None


def _exported(row: tuple[str, str, str]) -> dict[str, Any]:
    return {**json.loads(row[0]), "statement_hash": row[1], "signature": row[2]}
