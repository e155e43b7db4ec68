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

import base64
from collections.abc import Callable, Iterable, Sequence

from google.cloud import firestore, spanner
from google.cloud.spanner_v1 import param_types

from receipts.rows import LogState, UnloggedReceipt
from receipts.stores.gcp.ledger import RECEIPTS
from receipts.stores.log_sequencer import Appended, check_origin, plan_append
from receipts.stores.retry import with_backoff
from receipts.tlog.hashing import HASH_SIZE
from receipts.tlog.stored import HashReadError, stored_hash_count
from receipts.tlog.tiles import TILE_WIDTH

ROW = 256  # stored hashes per LogHashes row, entries per LogBundles row (one entry bundle)
STATE = ["Id", "Origin", "Size", "RootHash", "TilesSize", "UpdatedAt"]
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
SPAN_TYPE = param_types.Array(
    param_types.Struct(
        [
            param_types.StructField("CustomerId", param_types.STRING),
            param_types.StructField("First", param_types.INT64),
            param_types.StructField("Last", param_types.INT64),
        ]
    )
)
Rows = Callable[[str, list[str], spanner.KeySet], Iterable]


class RowHashes:
    """Stored hashes from LogHashes rows, read with `read` (a snapshot's or a transaction's)."""

    def __init__(self, read: Rows) -> None:
        self._read = read

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        chunks = sorted({index // ROW for index in indexes})
        keys = spanner.KeySet(keys=[[c] for c in chunks])
        rows = {chunk: _raw(data) for chunk, data in self._read("LogHashes", ["Chunk", "Hashes"], keys)}
        hashes = []
        for index in indexes:
            offset = (index % ROW) * HASH_SIZE
            value = rows.get(index // ROW, b"")[offset : offset + HASH_SIZE]
            if len(value) != HASH_SIZE:
                raise HashReadError(f"the log has no stored hash at index {index}")
            hashes.append(value)
        return hashes


def _state_of(rows: Iterable) -> LogState | None:
    for origin, size, root, tiles_size in rows:
        return LogState(origin, size, _raw(root), tiles_size)
    return None


def _bytes(data: bytes) -> bytes:
    """A BYTES value as the Spanner client sends it: base64."""
    return base64.b64encode(data)


def _raw(value: bytes) -> bytes:
    """A BYTES value as the Spanner client answers it (base64 text) decoded."""
    return base64.b64decode(value)


def _one(keys: list) -> spanner.KeySet:
    return spanner.KeySet(keys=[keys])


class SpannerLog:
    def _snapshot_rows(self, table: str, columns: list[str], keys: spanner.KeySet) -> list:
        return self._read(table, columns, keys)

    def ensure_log(self, origin: str) -> LogState:
        def work(transaction) -> LogState:
            stored = _state_of(transaction.read("LogState", STATE[1:5], _one([1])))
            state = check_origin(stored, origin)
            if stored is None:
                values = [1, state.origin, state.size, _bytes(state.root), state.tiles_size, spanner.COMMIT_TIMESTAMP]
                transaction.insert("LogState", STATE, [values])
            return state

        return with_backoff("Spanner ensure log", lambda: self._database.run_in_transaction(work))

    def log_state(self) -> LogState | None:
        return _state_of(self._read("LogState", STATE[1:5], _one([1])))

    def _unlogged(self, max_entries: int) -> list[UnloggedReceipt]:
        """Up to `max_entries` receipts past the marks, by customer then sequence, from one snapshot."""

        def run() -> tuple[list, list]:
            with self._database.snapshot(multi_use=True) as snapshot:
                behind = list(snapshot.execute_sql(BEHIND, {"limit": max_entries}, {"limit": param_types.INT64}))
                spans, left = [], max_entries
                for customer_id, mark, head in behind:
                    if left <= 0:
                        break
                    last = min(head, mark + left)
                    spans.append((customer_id, mark + 1, last))
                    left -= last - mark
                rows = list(snapshot.execute_sql(SPAN_ROWS, {"spans": spans}, {"spans": SPAN_TYPE})) if spans else []
                return spans, rows

        spans, rows = with_backoff("Spanner read unlogged receipts", run)
        found: dict[tuple[str, int], UnloggedReceipt] = {
            (c, s): UnloggedReceipt(c, s, receipt_id, digest) for c, s, receipt_id, digest in rows
        }
        for customer_id, first, last in spans:
            if any((customer_id, s) not in found for s in range(first, last + 1)):  # past the TTL: the ledger
                found.update(self._ledger_unlogged(customer_id, first, last))
        return [found[key] for key in sorted(found)]

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
            state = check_origin(_state_of(transaction.read("LogState", STATE[1:5], _one([1]))), origin)
            marks = dict(
                transaction.read(
                    "LogMarks", ["CustomerId", "LoggedSequence"], spanner.KeySet(keys=[[c] for c in customers])
                )
            )
            bundle = _bundle_row(transaction.read, state.size)
            partial = [bundle[0][i : i + HASH_SIZE] for i in range(0, len(bundle[0]), HASH_SIZE)]
            appended = plan_append(state, candidates, marks, RowHashes(transaction.read), partial)
            if appended is None:
                return None
            _write_append(transaction, state, appended, bundle)
            return appended

        return with_backoff("Spanner append log", lambda: self._database.run_in_transaction(work))

    def log_entries(self, first: int, end: int) -> list[bytes]:
        if end <= first:
            return []
        keys = spanner.KeySet(keys=[[n] for n in range(first // ROW, (end - 1) // ROW + 1)])
        rows = {bundle: _raw(data) for bundle, data in self._read("LogBundles", ["Bundle", "Entries"], keys)}
        entries = []
        for index in range(first, end):
            offset = (index % ROW) * HASH_SIZE
            entry = rows.get(index // ROW, b"")[offset : offset + HASH_SIZE]
            if len(entry) != HASH_SIZE:
                raise HashReadError(f"the log has no entry at leaf {index}")
            entries.append(entry)
        return entries

    def log_hash_reader(self) -> RowHashes:
        return RowHashes(self._snapshot_rows)

    def mark_log_published(self, old_size: int, new_size: int) -> int:
        def work(transaction) -> int:
            state = _state_of(transaction.read("LogState", STATE[1:5], _one([1])))
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
            for (kept,) in transaction.read("LogCheckpoints", ["Note"], _one([size])):
                return _raw(kept)
            transaction.insert(
                "LogCheckpoints", ["Size", "Note", "SignedAt"], [[size, _bytes(note), spanner.COMMIT_TIMESTAMP]]
            )
            return note

        return with_backoff("Spanner add checkpoint", lambda: self._database.run_in_transaction(work))

    def checkpoint(self, size: int) -> bytes | None:
        rows = self._read("LogCheckpoints", ["Note"], _one([size]))
        return _raw(rows[0][0]) if rows else None

    def latest_checkpoint(self) -> bytes | None:
        rows = self._query("SELECT Note FROM LogCheckpoints ORDER BY Size DESC LIMIT 1")
        return _raw(rows[0][0]) if rows else None

    def log_leaf_index(self, receipt_id: str) -> int | None:
        rows = self._read("LogLeaves", ["LeafIndex"], _one([receipt_id]))
        return rows[0][0] if rows else None

    def log_leaf(self, leaf_index: int) -> str | None:
        if leaf_index < 0:
            return None
        rows = self._read("LogBundles", ["ReceiptIds"], _one([leaf_index // ROW]))
        ids = rows[0][0] if rows else []
        return ids[leaf_index % ROW] if leaf_index % ROW < len(ids) else None

    def logged_through(self, customer_id: str) -> int:
        rows = self._read("LogMarks", ["LoggedSequence"], _one([customer_id]))
        return rows[0][0] if rows else 0

    def unlogged_count(self) -> int:
        return int(
            self._query(
                "SELECT IFNULL(SUM(h.Sequence - IFNULL(m.LoggedSequence, 0)), 0) FROM ChainHeads h "
                "LEFT JOIN LogMarks m ON m.CustomerId = h.CustomerId WHERE h.Sequence > IFNULL(m.LoggedSequence, 0)"
            )[0][0]
        )


def _bundle_row(read: Rows, size: int) -> tuple[bytes, list[str]]:
    """The entries and receipt ids of the log's partial bundle (empty when size is a multiple of 256)."""
    if size % TILE_WIDTH == 0:
        return b"", []
    rows = list(read("LogBundles", ["Entries", "ReceiptIds"], _one([size // ROW])))
    entries, ids = (_raw(rows[0][0]), list(rows[0][1])) if rows else (b"", [])
    if len(entries) != (size % ROW) * HASH_SIZE or len(ids) != size % ROW:
        raise HashReadError(f"the log's last entry bundle does not hold its {size % ROW} entries")
    return entries, ids


def _write_append(transaction, state: LogState, appended: Appended, bundle: tuple[bytes, list[str]]) -> None:
    """The append's rows: hash and bundle rows extended, one LogLeaves row per leaf (insert:
    a receipt already a leaf fails the commit), the marks and the new tree."""
    integration = appended.integration
    first = stored_hash_count(state.size)
    hashes = integration.stored_hashes
    assert sorted(hashes) == list(range(first, first + len(hashes))), "an append stores a contiguous run"
    head = _chunk(transaction, first // ROW) if first % ROW else b""
    if len(head) != (first % ROW) * HASH_SIZE:
        raise HashReadError(f"the log's last row of stored hashes does not hold its {first % ROW} hashes")
    _put_rows(transaction, "LogHashes", ["Chunk", "Hashes"], first, head, [hashes[i] for i in sorted(hashes)], [])
    entries, ids = bundle
    leaves = appended.leaves
    _put_rows(
        transaction,
        "LogBundles",
        ["Bundle", "Entries", "ReceiptIds"],
        state.size,
        entries,
        [leaf.entry for leaf in leaves],
        [ids, [leaf.receipt_id for leaf in leaves]],
    )
    transaction.insert(
        "LogLeaves", ["ReceiptId", "LeafIndex"], [[leaf.receipt_id, state.size + n] for n, leaf in enumerate(leaves)]
    )
    transaction.insert_or_update(
        "LogMarks", ["CustomerId", "LoggedSequence"], [list(m) for m in sorted(appended.marks.items())]
    )
    transaction.update(
        "LogState",
        STATE,
        [[1, state.origin, integration.size, _bytes(integration.root), state.tiles_size, spanner.COMMIT_TIMESTAMP]],
    )


def _chunk(transaction, chunk: int) -> bytes:
    rows = list(transaction.read("LogHashes", ["Hashes"], _one([chunk])))
    return _raw(rows[0][0]) if rows else b""


def _put_rows(
    transaction, table: str, columns: list[str], first: int, head: bytes, values: list[bytes], ids: list
) -> None:
    """Rows of 256 values from index `first` on: the first row is `head` (what its row held)
    extended; `ids` (for bundles) is [ids the row held, new ids], kept beside the values."""
    rows = []
    start = first - first % ROW
    held_ids, new_ids = (ids[0], ids[1]) if ids else ([], [])
    position = 0
    for row in range(start // ROW, (first + len(values) - 1) // ROW + 1):
        room = ROW - (first + position) % ROW if row == start // ROW else ROW
        part = values[position : position + room]
        data = (head if row == start // ROW else b"") + b"".join(part)
        cells = [row, _bytes(data)]
        if ids:
            cells.append((held_ids if row == start // ROW else []) + new_ids[position : position + room])
        rows.append(cells)
        position += room
    transaction.insert_or_update(table, columns, rows)
