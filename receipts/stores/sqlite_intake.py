"""Intake's state in the SQLite store: one row (id 1) saying whether intake is frozen, why,
since when and by whom. A part of `SqliteStore` (receipts.stores.sqlite)."""

import sqlite3

from receipts.rows import IntakeState


class SqliteIntake:
    """Freeze and resume. Uses the store's `_db` and `_transaction`."""

    _db: sqlite3.Connection

    def intake(self) -> IntakeState:
        row = self._db.execute("SELECT frozen, reason, changed_at, changed_by FROM intake WHERE id = 1").fetchone()
        if row is None:  # never frozen
            return IntakeState.open()
        frozen, reason, changed_at, changed_by = row
        return IntakeState(bool(frozen), reason, changed_at, changed_by)

    def set_intake(self, state: IntakeState) -> None:
        """Replace the one row: setting the same state twice leaves the same row."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO intake VALUES (1, ?, ?, ?, ?)",
                (int(state.frozen), state.reason, state.changed_at, state.changed_by),
            )
