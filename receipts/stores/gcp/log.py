"""The transparency log's state in Spanner (spanner.sql: LogState, LogMarks, LogLeaves,
LogHashes, LogBundles, LogCheckpoints); receipts.stores.log_sequencer drives it.

An append reads its candidates (the receipts past the customers' marks) in a snapshot, so it
locks no chain head the charging job writes; the read-write transaction then reads only the
log's own rows (LogState, the candidates' marks, the last hash and bundle rows), keeps the
candidates that still extend the marks, and commits the stored hashes, leaves, marks and
the new tree together. Stored hashes and entries are kept 256 to a row: an append of 10,000
leaves writes about 80 of those rows, not 30,000. Receipts past the idempotency rows' TTL
are read from the Firestore ledger. A part of `SpannerFirestoreStore` (receipts.stores.gcp.store).
"""

from google.cloud import firestore, spanner
from google.cloud.spanner_v1 import param_types

from receipts.rows import KEYS_MARK, LogState, UnloggedReceipt, statements_mark
from receipts.stores.gcp.ledger import RECEIPTS
from receipts.stores.gcp.log_rows import (
    ROW,
    STATE,
    RowHashes,
    bundle_row,
    key_of,
    raw_bytes,
    read_marks,
    spanner_bytes,
    state_of,
    write_append,
)
from receipts.stores.log_sequencer import Appended, check_origin, plan_append
from receipts.stores.retry import with_backoff
from receipts.tlog.hashing import HASH_SIZE
from receipts.tlog.stored import HashReadError

BEHIND = (
    "SELECT h.CustomerId, IFNULL(m.LoggedSequence, 0), h.Sequence "
    "FROM ChainHeads h LEFT JOIN LogMarks m ON m.CustomerId = h.CustomerId "
    "WHERE h.Sequence > IFNULL(m.LoggedSequence, 0) ORDER BY h.CustomerId LIMIT @limit"
)
SPAN_ROWS = (
    "SELECT k.CustomerId, k.Sequence, k.ReceiptId, k.ReceiptHash "
    "FROM UNNEST(@spans) AS s JOIN IdempotencyKeys@{FORCE_INDEX=IdempotencyKeysBySequence} AS k "
    "ON k.CustomerId = s.CustomerId AND k.Sequence BETWEEN s.First AND s.Last"
)
# Statements are leaves too, after the receipts (as receipts.stores.sqlite_log's
# UNLOGGED_STATEMENTS): each customer's statements a second chain, numbered 1, 2, … by
# period, marked in StatementLogMarks under receipts.rows.statements_mark.
UNLOGGED_STATEMENTS = (
    "SELECT s.CustomerId, s.Number, s.StatementId, s.StatementHash FROM Statements s "
    "LEFT JOIN StatementLogMarks m ON m.CustomerId = s.CustomerId "
    "WHERE s.Number > IFNULL(m.LoggedNumber, 0) ORDER BY s.CustomerId, s.Number LIMIT @limit"
)
# And the key documents (receipts/stores/gcp/delegated_keys.py: endorsements, revocations)
# first, as receipts.stores.sqlite_log's UNLOGGED_KEY_DOCUMENTS: one chain numbered in the
# order written, marked in LogMarks under receipts.rows.KEYS_MARK; an endorsement is
# committed before any receipt its key signs, so it is a leaf before them.
UNLOGGED_KEY_DOCUMENTS = (
    "SELECT k.Number, k.DocumentId, k.DocumentHash FROM KeyDocuments k "
    "WHERE k.Number > IFNULL((SELECT m.LoggedSequence FROM LogMarks m WHERE m.CustomerId = @mark), 0) "
    "ORDER BY k.Number LIMIT @limit"
)
SPAN_TYPE = param_types.Array(
    param_types.Struct(
        [
            param_types.StructField("CustomerId", param_types.STRING),
            param_types.StructField("First", param_types.INT64),
            param_types.StructField("Last", param_types.INT64),
        ]
    )
)


class SpannerLog:
    def _snapshot_rows(self, table: str, columns: list[str], keys: spanner.KeySet) -> list:
        return self._read(table, columns, keys)

    def ensure_log(self, origin: str) -> LogState:
        def work(transaction) -> LogState:
            stored = state_of(transaction.read("LogState", STATE[1:5], key_of([1])))
            state = check_origin(stored, origin)
            if stored is None:
                values = [
                    1,
                    state.origin,
                    state.size,
                    spanner_bytes(state.root),
                    state.tiles_size,
                    spanner.COMMIT_TIMESTAMP,
                ]
                transaction.insert("LogState", STATE, [values])
            return state

        return with_backoff("Spanner ensure log", lambda: self._database.run_in_transaction(work))

    def log_state(self) -> LogState | None:
        return state_of(self._read("LogState", STATE[1:5], key_of([1])))

    def _unlogged(self, max_entries: int) -> list[UnloggedReceipt]:
        """Up to `max_entries` key documents past their mark, then receipts past the marks, by
        customer then sequence, then (when every receipt behind is among them) statements past
        theirs, all from one snapshot: a statement is never seen before the receipts it closes
        over, nor a receipt before the endorsement of its key."""

        def run() -> tuple[list, list, list, list]:
            with self._database.snapshot(multi_use=True) as snapshot:
                documents = list(
                    snapshot.execute_sql(
                        UNLOGGED_KEY_DOCUMENTS,
                        {"mark": KEYS_MARK, "limit": max_entries},
                        {"mark": param_types.STRING, "limit": param_types.INT64},
                    )
                )
                left = max_entries - len(documents)
                behind = (
                    list(snapshot.execute_sql(BEHIND, {"limit": left}, {"limit": param_types.INT64})) if left else []
                )
                spans = []
                for customer_id, mark, head in behind:
                    if left <= 0:
                        break
                    last = min(head, mark + left)
                    spans.append((customer_id, mark + 1, last))
                    left -= last - mark
                rows = list(snapshot.execute_sql(SPAN_ROWS, {"spans": spans}, {"spans": SPAN_TYPE})) if spans else []
                statements = (
                    list(snapshot.execute_sql(UNLOGGED_STATEMENTS, {"limit": left}, {"limit": param_types.INT64}))
                    if left > 0
                    else []
                )
                return documents, spans, rows, statements

        documents, spans, rows, statements = with_backoff("Spanner read unlogged receipts", run)
        found: dict[tuple[str, int], UnloggedReceipt] = {
            (c, s): UnloggedReceipt(c, s, receipt_id, digest) for c, s, receipt_id, digest in rows
        }
        for customer_id, first, last in spans:
            if any((customer_id, s) not in found for s in range(first, last + 1)):  # past the TTL: the ledger
                found.update(self._ledger_unlogged(customer_id, first, last))
        statement_leaves = [UnloggedReceipt(statements_mark(c), n, sid, digest) for c, n, sid, digest in statements]
        key_leaves = [UnloggedReceipt(KEYS_MARK, number, did, digest) for number, did, digest in documents]
        return key_leaves + [found[key] for key in sorted(found)] + statement_leaves

    def _ledger_unlogged(self, customer_id: str, first: int, last: int) -> dict[tuple[str, int], UnloggedReceipt]:
        query = (
            self._firestore.collection(RECEIPTS)
            .where(filter=firestore.FieldFilter("customer_id", "==", customer_id))
            .where(filter=firestore.FieldFilter("sequence", ">=", first))
            .where(filter=firestore.FieldFilter("sequence", "<=", last))
            .order_by("sequence")
        )
        found = {}
        for snapshot in with_backoff("Firestore query", lambda: list(query.stream())):
            document = snapshot.to_dict()
            sequence = document["sequence"]
            found[(customer_id, sequence)] = UnloggedReceipt(
                customer_id, sequence, snapshot.id, document["receipt_hash"]
            )
        return found

    def append_log(self, origin: str, max_entries: int) -> Appended | None:
        candidates = self._unlogged(max_entries)
        if not candidates:
            return None
        customers = sorted({receipt.customer_id for receipt in candidates})

        def work(transaction) -> Appended | None:
            state = check_origin(state_of(transaction.read("LogState", STATE[1:5], key_of([1]))), origin)
            marks = read_marks(transaction.read, customers)
            bundle = bundle_row(transaction.read, state.size)
            partial = [bundle[0][i : i + HASH_SIZE] for i in range(0, len(bundle[0]), HASH_SIZE)]
            appended = plan_append(state, candidates, marks, RowHashes(transaction.read), partial)
            if appended is None:
                return None
            write_append(transaction, state, appended, bundle)
            return appended

        return with_backoff("Spanner append log", lambda: self._database.run_in_transaction(work))

    def log_entries(self, first: int, end: int) -> list[bytes]:
        if end <= first:
            return []
        keys = spanner.KeySet(keys=[[n] for n in range(first // ROW, (end - 1) // ROW + 1)])
        rows = {bundle: raw_bytes(data) for bundle, data in self._read("LogBundles", ["Bundle", "Entries"], keys)}
        entries = []
        for index in range(first, end):
            offset = (index % ROW) * HASH_SIZE
            entry = rows.get(index // ROW, b"")[offset : offset + HASH_SIZE]
            if len(entry) != HASH_SIZE:
                raise HashReadError(f"the log has no entry at leaf {index}")
            entries.append(entry)
        return entries

    def log_leaves(self, first: int, end: int) -> list[tuple[int, str, bytes, int | None]]:
        if end <= first:
            return []
        keys = spanner.KeySet(keys=[[n] for n in range(first // ROW, (end - 1) // ROW + 1)])
        leaves = []
        for bundle, data, ids in self._read("LogBundles", ["Bundle", "Entries", "ReceiptIds"], keys):
            entries = raw_bytes(data)
            for offset, receipt_id in enumerate(ids):
                index = bundle * ROW + offset
                if first <= index < end:
                    leaves.append((index, receipt_id, entries[offset * HASH_SIZE : (offset + 1) * HASH_SIZE]))
        named = {leaf[1] for leaf in leaves}
        indexed = dict(self._read("LogLeaves", ["ReceiptId", "LeafIndex"], spanner.KeySet(keys=[[r] for r in named])))
        return sorted((*leaf, indexed.get(leaf[1])) for leaf in leaves)

    def log_hash_reader(self) -> RowHashes:
        return RowHashes(self._snapshot_rows)

    def mark_log_published(self, old_size: int, new_size: int) -> int:
        def work(transaction) -> int:
            state = state_of(transaction.read("LogState", STATE[1:5], key_of([1])))
            if state is None:
                return 0
            if old_size <= state.tiles_size < new_size:
                transaction.update(
                    "LogState", ["Id", "TilesSize", "UpdatedAt"], [[1, new_size, spanner.COMMIT_TIMESTAMP]]
                )
                return new_size
            return state.tiles_size

        return with_backoff("Spanner mark log published", lambda: self._database.run_in_transaction(work))

    def add_checkpoint(self, size: int, note: bytes) -> bytes:
        def work(transaction) -> bytes:
            for (kept,) in transaction.read("LogCheckpoints", ["Note"], key_of([size])):
                return raw_bytes(kept)
            transaction.insert(
                "LogCheckpoints", ["Size", "Note", "SignedAt"], [[size, spanner_bytes(note), spanner.COMMIT_TIMESTAMP]]
            )
            return note

        return with_backoff("Spanner add checkpoint", lambda: self._database.run_in_transaction(work))

    def checkpoint(self, size: int) -> bytes | None:
        rows = self._read("LogCheckpoints", ["Note"], key_of([size]))
        return raw_bytes(rows[0][0]) if rows else None

    def latest_checkpoint(self) -> bytes | None:
        rows = self._query("SELECT Note FROM LogCheckpoints ORDER BY Size DESC LIMIT 1")
        return raw_bytes(rows[0][0]) if rows else None

    def log_leaf_index(self, receipt_id: str) -> int | None:
        rows = self._read("LogLeaves", ["LeafIndex"], key_of([receipt_id]))
        return rows[0][0] if rows else None

    def log_leaf(self, leaf_index: int) -> str | None:
        if leaf_index < 0:
            return None
        rows = self._read("LogBundles", ["ReceiptIds"], key_of([leaf_index // ROW]))
        ids = rows[0][0] if rows else []
        return ids[leaf_index % ROW] if leaf_index % ROW < len(ids) else None

    def logged_through(self, customer_id: str) -> int:
        """The mark of a customer's receipts, or of its statements (receipts.rows.statements_mark)."""
        return read_marks(self._read, [customer_id]).get(customer_id, 0)

    def unlogged_count(self) -> int:
        """Receipts, statements and key documents stored and not yet leaves."""
        receipts = self._query(
            "SELECT IFNULL(SUM(h.Sequence - IFNULL(m.LoggedSequence, 0)), 0) FROM ChainHeads h "
            "LEFT JOIN LogMarks m ON m.CustomerId = h.CustomerId WHERE h.Sequence > IFNULL(m.LoggedSequence, 0)"
        )[0][0]
        statements = self._query(
            "SELECT COUNT(*) FROM Statements s LEFT JOIN StatementLogMarks m ON m.CustomerId = s.CustomerId "
            "WHERE s.Number > IFNULL(m.LoggedNumber, 0)"
        )[0][0]
        keys = self._query(
            "SELECT COUNT(*) FROM KeyDocuments k WHERE k.Number > "
            "IFNULL((SELECT m.LoggedSequence FROM LogMarks m WHERE m.CustomerId = @mark), 0)",
            {"mark": KEYS_MARK},
            {"mark": param_types.STRING},
        )[0][0]
        return int(receipts) + int(statements) + int(keys)
