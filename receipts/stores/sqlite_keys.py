"""The delegated signing keys in the SQLite store: one wrapped key per validity window
(first writer wins, so every worker signs a window's receipts with the same key) and the
key documents (endorsements, revocations) in the order written, which the log makes leaves.
A part of `SqliteStore` (receipts.stores.sqlite), which supplies `_db` and its transactions."""

import sqlite3

from receipts.delegation import REVOCATION_TYP, document_kid, payload_hash
from receipts.rows import DelegatedKeyRow, KeyDocument

ENDORSEMENT, REVOCATION = "endorsement", "revocation"


class SqliteDelegatedKeys:
    _db: sqlite3.Connection

    def delegated_key(self, not_before: str) -> DelegatedKeyRow | None:
        row = self._db.execute(
            "SELECT not_before, kid, wrapped_private, endorsement FROM delegated_keys WHERE not_before = ?",
            (not_before,),
        ).fetchone()
        return DelegatedKeyRow(*row) if row else None

    def add_delegated_key(self, key: DelegatedKeyRow) -> DelegatedKeyRow:
        """Keep `key` for its window unless one is kept already; either way, the window's key."""
        with self._transaction():
            added = self._db.execute(
                "INSERT OR IGNORE INTO delegated_keys VALUES (?, ?, ?, ?)",
                (key.not_before, key.kid, key.wrapped_private, key.endorsement),
            ).rowcount
            if added:
                self._add_document(ENDORSEMENT, key.kid, key.endorsement)
        stored = self.delegated_key(key.not_before)
        assert stored is not None
        return stored

    def delegated_keys(self) -> list[DelegatedKeyRow]:
        rows = self._db.execute(
            "SELECT not_before, kid, wrapped_private, endorsement FROM delegated_keys ORDER BY not_before"
        )
        return [DelegatedKeyRow(*row) for row in rows]

    def add_key_revocation(self, revocation: str) -> bool:
        """Keep a revocation (JWS by the HSM key); False when one of that key is kept already."""
        kid = document_kid(revocation, REVOCATION_TYP)
        with self._transaction():
            known = self._db.execute("SELECT 1 FROM key_documents WHERE document_id = ?", (f"{REVOCATION}:{kid}",))
            if known.fetchone():
                return False
            self._add_document(REVOCATION, kid, revocation)
        return True

    def key_documents(self, kind: str | None = None) -> list[KeyDocument]:
        query = "SELECT number, document_id, kind, kid, jws, document_hash FROM key_documents"
        rows = self._db.execute(
            query + (" WHERE kind = ?" if kind else "") + " ORDER BY number", (kind,) if kind else ()
        )
        return [KeyDocument(*row) for row in rows]

    def _add_document(self, kind: str, kid: str, jws: str) -> None:
        number = self._db.execute("SELECT coalesce(max(number), 0) + 1 FROM key_documents").fetchone()[0]
        self._db.execute(
            "INSERT INTO key_documents VALUES (?, ?, ?, ?, ?, ?)",
            (number, f"{kind}:{kid}", kind, kid, jws, payload_hash(jws)),
        )
