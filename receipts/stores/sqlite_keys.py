"""The delegated signing keys in the SQLite store: one wrapped key per validity window
(first writer wins, so every worker signs a window's receipts with the same key) and the
key documents (endorsements, revocations) in the order written, which the log makes leaves.
Each document is archived write-once after the commit that keeps it, in the home's archive
beside the database (`archive/keys/`, receipts.stores.key_document_files): a store that loses
them gets them back with `receipts restore`. A crash between the commit and the archive write
leaves the document to `receipts archive catch-up` (and `receipts reconcile` says so).
A part of `SqliteStore` (receipts.stores.sqlite), which supplies `_db`, `path` and its transactions."""

import sqlite3
from pathlib import Path

from receipts.delegation import REVOCATION_TYP, document_kid, payload_hash
from receipts.rows import DelegatedKeyRow, KeyDocument
from receipts.stores.key_document_files import key_document_path, sqlite_key_archive

ENDORSEMENT, REVOCATION = "endorsement", "revocation"


class KeyDocumentConflict(ValueError):
    """The store holds another key document under a restored one's number or id: not overwritten."""


class SqliteDelegatedKeys:
    _db: sqlite3.Connection
    path: Path

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
            number = self._add_document(ENDORSEMENT, key.kid, key.endorsement) if added else None
        if number is not None:
            self._archive_document(number, ENDORSEMENT, key.kid, key.endorsement)
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
            number = self._add_document(REVOCATION, kid, revocation)
        self._archive_document(number, REVOCATION, kid, revocation)
        return True

    def key_documents(self, kind: str | None = None) -> list[KeyDocument]:
        query = "SELECT number, document_id, kind, kid, jws, document_hash FROM key_documents"
        rows = self._db.execute(
            query + (" WHERE kind = ?" if kind else "") + " ORDER BY number", (kind,) if kind else ()
        )
        return [KeyDocument(*row) for row in rows]

    def restore_key_document(self, number: int, kind: str, kid: str, jws: str) -> str:
        """Write back an archived (verified) key document under its number: "kept" when the
        store holds it, "written" when it lacked it; KeyDocumentConflict when the store holds
        another under that number or that document under another: never overwritten."""
        document_id = f"{kind}:{kid}"
        with self._transaction():
            held = self._db.execute(
                "SELECT number, document_id, jws FROM key_documents WHERE number = ? OR document_id = ?",
                (number, document_id),
            ).fetchall()
            if not held:
                self._db.execute(
                    "INSERT INTO key_documents VALUES (?, ?, ?, ?, ?, ?)",
                    (number, document_id, kind, kid, jws, payload_hash(jws)),
                )
                return "written"
        if held == [(number, document_id, jws)]:
            return "kept"
        raise KeyDocumentConflict(
            f"the store holds {', '.join(f'{row[1]} as number {row[0]}' for row in held)}, where the archive "
            f"has {document_id} as number {number}: nothing was overwritten"
        )

    def _add_document(self, kind: str, kid: str, jws: str) -> int:
        number = self._db.execute("SELECT coalesce(max(number), 0) + 1 FROM key_documents").fetchone()[0]
        self._db.execute(
            "INSERT INTO key_documents VALUES (?, ?, ?, ?, ?, ?)",
            (number, f"{kind}:{kid}", kind, kid, jws, payload_hash(jws)),
        )
        return number

    def _archive_document(self, number: int, kind: str, kid: str, jws: str) -> None:
        """Write-once into the home's archive/keys/ (after the commit): see the module docstring."""
        sqlite_key_archive(self.path).write_once(key_document_path(number, kind, kid), jws.encode("ascii"))
