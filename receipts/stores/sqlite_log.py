"""The transparency log's state in the SQLite store: the tree (size, root, stored hashes),
the leaves (receipt, statement or key document id <-> leaf index, and each leaf's entry), per
customer a "logged through" mark (and one for the customer's statements, one for the key
documents: endorsements and revocations of delegated keys), and every signed checkpoint
by size. receipts.stores.log_sequencer drives it; an append is one transaction. A part of
`SqliteStore` (receipts.stores.sqlite), which supplies `_db` and its transactions."""

import sqlite3
from collections.abc import Sequence

from receipts.restoration.log import LogRows
from receipts.rows import KEYS_MARK, LogState, UnloggedReceipt
from receipts.stores.log_sequencer import Appended, check_origin, plan_append
from receipts.tlog.stored import HashReadError
from receipts.tlog.tiles import TILE_WIDTH

UNLOGGED = """
SELECT r.customer_id, r.sequence, r.receipt_id, r.receipt_hash, coalesce(m.logged_sequence, 0)
FROM chain_heads h
LEFT JOIN log_marks m ON m.customer_id = h.customer_id
JOIN receipts r ON r.customer_id = h.customer_id AND r.sequence > coalesce(m.logged_sequence, 0)
WHERE h.sequence > coalesce(m.logged_sequence, 0)
ORDER BY r.customer_id, r.sequence LIMIT ?
"""
# Statements are leaves too (DESIGN.md), after the receipts: each customer's statements are a
# second chain, numbered 1, 2, … by period, under receipts.rows.statements_mark.
UNLOGGED_STATEMENTS = """
SELECT 'statements:' || s.customer_id, s.number, s.statement_id, s.statement_hash, coalesce(m.logged_sequence, 0)
FROM statements s
LEFT JOIN log_marks m ON m.customer_id = 'statements:' || s.customer_id
WHERE s.number > coalesce(m.logged_sequence, 0)
ORDER BY s.customer_id, s.number LIMIT ?
"""
# And the key documents (receipts.delegation: endorsements, revocations), one chain numbered in
# the order they were written, under receipts.rows.KEYS_MARK.
UNLOGGED_KEY_DOCUMENTS = f"""
SELECT '{KEYS_MARK}', k.number, k.document_id, k.document_hash, coalesce(m.logged_sequence, 0)
FROM key_documents k
LEFT JOIN log_marks m ON m.customer_id = '{KEYS_MARK}'
WHERE k.number > coalesce(m.logged_sequence, 0)
ORDER BY k.number LIMIT ?
"""
_CHUNK = 900  # SQL variables per IN (...)


class SqliteHashes:
    """The stored hashes as a receipts.tlog HashReader."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        found: dict[int, bytes] = {}
        wanted = sorted(set(indexes))
        for first in range(0, len(wanted), _CHUNK):
            part = wanted[first : first + _CHUNK]
            found.update(
                self._db.execute(
                    f"SELECT stored_index, hash FROM log_hashes WHERE stored_index IN ({', '.join('?' * len(part))})",
                    part,
                )
            )
        missing = [index for index in wanted if index not in found]
        if missing:
            raise HashReadError(f"the log has no stored hash at index {missing[0]}")
        return [found[index] for index in indexes]


class SqliteLog:
    _db: sqlite3.Connection

    def ensure_log(self, origin: str) -> LogState:
        with self._transaction():
            state = check_origin(self._log_state(), origin)
            self._db.execute(
                "INSERT OR IGNORE INTO log_state VALUES (1, ?, ?, ?, ?)",
                (state.origin, state.size, state.root, state.tiles_size),
            )
        return state

    def log_state(self) -> LogState | None:
        return self._log_state()

    def _log_state(self) -> LogState | None:
        row = self._db.execute("SELECT origin, size, root, tiles_size FROM log_state WHERE id = 1").fetchone()
        return LogState(*row) if row else None

    def append_log(self, origin: str, max_entries: int) -> Appended | None:
        with self._transaction():
            state = check_origin(self._log_state(), origin)
            rows: list = []  # key documents first: an endorsement is a leaf before the receipts its key signed
            for query in (UNLOGGED_KEY_DOCUMENTS, UNLOGGED, UNLOGGED_STATEMENTS):
                if len(rows) < max_entries:
                    rows += self._db.execute(query, (max_entries - len(rows),)).fetchall()
            candidates = [UnloggedReceipt(*row[:4]) for row in rows]
            marks = {row[0]: row[4] for row in rows}
            appended = plan_append(state, candidates, marks, SqliteHashes(self._db), self._partial_bundle(state.size))
            if appended is None:
                return None
            integration = appended.integration
            self._db.executemany("INSERT INTO log_hashes VALUES (?, ?)", sorted(integration.stored_hashes.items()))
            self._db.executemany(
                "INSERT INTO log_leaves VALUES (?, ?, ?)",
                [(state.size + n, leaf.receipt_id, leaf.entry) for n, leaf in enumerate(appended.leaves)],
            )
            self._db.executemany(
                "INSERT INTO log_marks VALUES (?, ?) ON CONFLICT (customer_id) "
                "DO UPDATE SET logged_sequence = excluded.logged_sequence",
                sorted(appended.marks.items()),
            )
            self._db.execute(
                "INSERT OR REPLACE INTO log_state VALUES (1, ?, ?, ?, ?)",
                (origin, integration.size, integration.root, state.tiles_size),
            )
        return appended

    def _partial_bundle(self, size: int) -> list[bytes]:
        return self.log_entries(size - size % TILE_WIDTH, size)

    def log_entries(self, first: int, end: int) -> list[bytes]:
        rows = self._db.execute(
            "SELECT entry FROM log_leaves WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index", (first, end)
        ).fetchall()
        if len(rows) != end - first:
            raise HashReadError(f"the log holds {len(rows)} of its entries {first}..{end - 1}")
        return [entry for (entry,) in rows]

    def log_leaves(self, first: int, end: int) -> list[tuple[int, str, bytes, int | None]]:
        return self._db.execute(  # one table: a receipt's leaf row is its index
            "SELECT leaf_index, receipt_id, entry, leaf_index FROM log_leaves WHERE leaf_index >= ? AND leaf_index < ? "
            "ORDER BY leaf_index",
            (first, end),
        ).fetchall()

    def log_hash_reader(self) -> SqliteHashes:
        return SqliteHashes(self._db)

    def mark_log_published(self, old_size: int, new_size: int) -> int:
        with self._transaction():
            self._db.execute(
                "UPDATE log_state SET tiles_size = ? WHERE id = 1 AND tiles_size >= ? AND tiles_size < ?",
                (new_size, old_size, new_size),
            )
            row = self._db.execute("SELECT tiles_size FROM log_state WHERE id = 1").fetchone()
        return row[0] if row else 0

    def add_checkpoint(self, size: int, note: bytes) -> bytes:
        with self._transaction():
            self._db.execute("INSERT OR IGNORE INTO log_checkpoints VALUES (?, ?)", (size, note))
            return self._db.execute("SELECT note FROM log_checkpoints WHERE size = ?", (size,)).fetchone()[0]

    def checkpoint(self, size: int) -> bytes | None:
        row = self._db.execute("SELECT note FROM log_checkpoints WHERE size = ?", (size,)).fetchone()
        return row[0] if row else None

    def latest_checkpoint(self) -> bytes | None:
        row = self._db.execute("SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def log_leaf_index(self, receipt_id: str) -> int | None:
        row = self._db.execute("SELECT leaf_index FROM log_leaves WHERE receipt_id = ?", (receipt_id,)).fetchone()
        return row[0] if row else None

    def log_leaf(self, leaf_index: int) -> str | None:
        row = self._db.execute("SELECT receipt_id FROM log_leaves WHERE leaf_index = ?", (leaf_index,)).fetchone()
        return row[0] if row else None

    def logged_through(self, customer_id: str) -> int:
        row = self._db.execute("SELECT logged_sequence FROM log_marks WHERE customer_id = ?", (customer_id,)).fetchone()
        return row[0] if row else 0

    def unlogged_count(self) -> int:
        """Receipts, statements and key documents stored and not yet leaves."""
        receipts = self._db.execute(
            "SELECT coalesce(sum(h.sequence - coalesce(m.logged_sequence, 0)), 0) FROM chain_heads h "
            "LEFT JOIN log_marks m ON m.customer_id = h.customer_id "
            "WHERE h.sequence > coalesce(m.logged_sequence, 0)"
        ).fetchone()[0]
        statements = self._db.execute(
            "SELECT count(*) FROM statements s LEFT JOIN log_marks m ON m.customer_id = 'statements:' || s.customer_id "
            "WHERE s.number > coalesce(m.logged_sequence, 0)"
        ).fetchone()[0]
        keys = self._db.execute(
            "SELECT count(*) FROM key_documents k LEFT JOIN log_marks m ON m.customer_id = ? "
            "WHERE k.number > coalesce(m.logged_sequence, 0)",
            (KEYS_MARK,),
        ).fetchone()[0]
        return receipts + statements + keys

    # -- restore (receipts.stores.log_restore) ------------------------------------------
    def stored_leaves(self) -> list[UnloggedReceipt]:
        """Every receipt, statement and key document the store holds, as the log takes them."""
        receipts = self._db.execute("SELECT customer_id, sequence, receipt_id, receipt_hash FROM receipts").fetchall()
        statements = self._db.execute(
            "SELECT 'statements:' || customer_id, number, statement_id, statement_hash FROM statements"
        ).fetchall()
        keys = self._db.execute(
            "SELECT ?, number, document_id, document_hash FROM key_documents", (KEYS_MARK,)
        ).fetchall()
        return [UnloggedReceipt(*row) for row in receipts + statements + keys]

    def restore_log(self, rows: LogRows, replacing: int = 0) -> bool:
        """Write the log's tables from a verified published log, in one transaction, if the
        store's log still holds `replacing` entries (0: none; more: a prefix of the published
        tree, checked by the caller); False (nothing written) when it has changed meanwhile."""
        published = rows.published
        with self._transaction():
            state = self._log_state()
            if (state.size if state is not None else 0) != replacing:
                return False
            for table in ("log_hashes", "log_leaves", "log_marks") + (() if replacing else ("log_checkpoints",)):
                self._db.execute(f"DELETE FROM {table}")  # the prefix held, or leftovers of a log without its state
            self._db.executemany("INSERT INTO log_hashes VALUES (?, ?)", rows.stored_hashes())
            self._db.executemany(
                "INSERT INTO log_leaves VALUES (?, ?, ?)",
                [(index, leaf.receipt_id, leaf.entry) for index, leaf in enumerate(rows.leaves)],
            )
            self._db.executemany("INSERT INTO log_marks VALUES (?, ?)", sorted(rows.marks.items()))
            self._db.executemany(  # a checkpoint kept and never published stays (the same tree: verified)
                "INSERT OR IGNORE INTO log_checkpoints VALUES (?, ?)", sorted(published.checkpoints.items())
            )
            self._db.execute(
                "INSERT OR REPLACE INTO log_state VALUES (1, ?, ?, ?, ?)",
                (published.origin, published.size, published.root, published.signed),
            )
        return True
