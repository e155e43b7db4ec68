"""The verifier site's records in the SQLite store: API keys (only their hashes) and
signed-in sessions. A part of `SqliteStore` (receipts.stores.sqlite)."""

import sqlite3
from datetime import UTC, datetime

from receipts.rows import ApiKeyRecord
from receipts.sessions import SessionRecord


class SqliteSiteRecords:
    """API keys and sessions of the verifier site. Uses the store's `_db` and `_transaction`."""

    _db: sqlite3.Connection

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        row = self._db.execute(
            "SELECT key_id, customer_id, key_hash, created_at, revoked_at, role FROM api_keys WHERE key_id = ?",
            (key_id,),
        ).fetchone()
        return ApiKeyRecord(*row) if row else None

    def api_keys(self, customer_id: str | None = None) -> list[ApiKeyRecord]:
        query = "SELECT key_id, customer_id, key_hash, created_at, revoked_at, role FROM api_keys"
        arguments: tuple[str, ...] = ()
        if customer_id is not None:
            query += " WHERE customer_id = ?"
            arguments = (customer_id,)
        return [ApiKeyRecord(*row) for row in self._db.execute(query + " ORDER BY created_at, key_id", arguments)]

    def add_api_key(self, record: ApiKeyRecord) -> None:
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO api_keys (key_id, customer_id, key_hash, created_at, revoked_at, role)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.key_id,
                        record.customer_id,
                        record.key_hash,
                        record.created_at,
                        record.revoked_at,
                        record.role,
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise ValueError(f"API key id {record.key_id} is taken") from error

    def revoke_api_key(self, key_id: str, revoked_at: str) -> bool:
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (revoked_at, key_id)
            )
            return cursor.rowcount == 1

    def add_session(self, record: SessionRecord) -> None:
        """Expired sessions go when a new one comes: the table holds live ones, roughly."""
        with self._transaction():
            self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (_instant(record.created_at),))
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (record.session_hash, record.key_id, _instant(record.created_at), _instant(record.expires_at)),
            )

    def session(self, session_hash: str) -> SessionRecord | None:
        row = self._db.execute(
            "SELECT session_hash, key_id, created_at, expires_at FROM sessions WHERE session_hash = ?", (session_hash,)
        ).fetchone()
        if row is None:
            return None
        return SessionRecord(row[0], row[1], datetime.fromisoformat(row[2]), datetime.fromisoformat(row[3]))

    def end_session(self, session_hash: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM sessions WHERE session_hash = ?", (session_hash,))


def _instant(moment: datetime) -> str:
    """A UTC instant as fixed-width text, so text order is time order in SQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
