"""The rows of the log's Spanner tables (receipts.stores.gcp.log): stored hashes and entries
256 to a row, their reading (RowHashes, a receipts.tlog HashReader) and an append's writes,
and Spanner's BYTES spelling (base64 on the wire). A part of receipts.stores.gcp.log."""

import base64
from collections.abc import Callable, Iterable, Sequence

from google.cloud import spanner

from receipts.rows import LogState, statements_mark
from receipts.stores.log_sequencer import Appended
from receipts.tlog.hashing import HASH_SIZE
from receipts.tlog.stored import HashReadError, stored_hash_count
from receipts.tlog.tiles import TILE_WIDTH

ROW = 256  # stored hashes per LogHashes row, entries per LogBundles row (one entry bundle)
STATE = ["Id", "Origin", "Size", "RootHash", "TilesSize", "UpdatedAt"]
Rows = Callable[[str, list[str], spanner.KeySet], Iterable]


class RowHashes:
    """Stored hashes from LogHashes rows, read with `read` (a snapshot's or a transaction's)."""

    def __init__(self, read: Rows) -> None:
        self._read = read

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        chunks = sorted({index // ROW for index in indexes})
        keys = spanner.KeySet(keys=[[c] for c in chunks])
        rows = {chunk: raw_bytes(data) for chunk, data in self._read("LogHashes", ["Chunk", "Hashes"], keys)}
        hashes = []
        for index in indexes:
            offset = (index % ROW) * HASH_SIZE
            value = rows.get(index // ROW, b"")[offset : offset + HASH_SIZE]
            if len(value) != HASH_SIZE:
                raise HashReadError(f"the log has no stored hash at index {index}")
            hashes.append(value)
        return hashes


def split_marks(marks: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(LogMarks rows by customer, StatementLogMarks rows by customer) of a sequencer's marks,
    where a customer's statements go under receipts.rows.statements_mark."""
    prefix = statements_mark("")
    receipts = {name: mark for name, mark in marks.items() if not name.startswith(prefix)}
    statements = {name.removeprefix(prefix): mark for name, mark in marks.items() if name.startswith(prefix)}
    return receipts, statements


def read_marks(read: Rows, names: Iterable[str]) -> dict[str, int]:
    """The marks of `names` (customers, or statements_mark(customer)) from both tables."""
    receipts, statements = split_marks(dict.fromkeys(names, 0))
    found = {}
    if receipts:
        keys = spanner.KeySet(keys=[[c] for c in sorted(receipts)])
        found.update(dict(read("LogMarks", ["CustomerId", "LoggedSequence"], keys)))
    if statements:
        keys = spanner.KeySet(keys=[[c] for c in sorted(statements)])
        found.update(
            {statements_mark(c): n for c, n in read("StatementLogMarks", ["CustomerId", "LoggedNumber"], keys)}
        )
    return found


def state_of(rows: Iterable) -> LogState | None:
    for origin, size, root, tiles_size in rows:
        return LogState(origin, size, raw_bytes(root), tiles_size)
    return None


def spanner_bytes(data: bytes) -> bytes:
    """A BYTES value as the Spanner client sends it: base64."""
    return base64.b64encode(data)


def raw_bytes(value: bytes) -> bytes:
    """A BYTES value as the Spanner client answers it (base64 text) decoded."""
    return base64.b64decode(value)


def key_of(keys: list) -> spanner.KeySet:
    return spanner.KeySet(keys=[keys])


def bundle_row(read: Rows, size: int) -> tuple[bytes, list[str]]:
    """The entries and receipt ids of the log's partial bundle (empty when size is a multiple of 256)."""
    if size % TILE_WIDTH == 0:
        return b"", []
    rows = list(read("LogBundles", ["Entries", "ReceiptIds"], key_of([size // ROW])))
    entries, ids = (raw_bytes(rows[0][0]), list(rows[0][1])) if rows else (b"", [])
    if len(entries) != (size % ROW) * HASH_SIZE or len(ids) != size % ROW:
        raise HashReadError(f"the log's last entry bundle does not hold its {size % ROW} entries")
    return entries, ids


def write_append(transaction, state: LogState, appended: Appended, bundle: tuple[bytes, list[str]]) -> None:
    """The append's rows: hash and bundle rows extended, one LogLeaves row per leaf (insert:
    a receipt already a leaf fails the commit), the marks and the new tree."""
    integration = appended.integration
    first = stored_hash_count(state.size)
    hashes = integration.stored_hashes
    assert sorted(hashes) == list(range(first, first + len(hashes))), "an append stores a contiguous run"
    head = chunk_row(transaction, first // ROW) if first % ROW else b""
    if len(head) != (first % ROW) * HASH_SIZE:
        raise HashReadError(f"the log's last row of stored hashes does not hold its {first % ROW} hashes")
    put_rows(transaction, "LogHashes", ["Chunk", "Hashes"], first, head, [hashes[i] for i in sorted(hashes)], [])
    entries, ids = bundle
    leaves = appended.leaves
    put_rows(
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
    receipt_marks, statement_marks = split_marks(appended.marks)
    if receipt_marks:
        transaction.insert_or_update(
            "LogMarks", ["CustomerId", "LoggedSequence"], [list(m) for m in sorted(receipt_marks.items())]
        )
    if statement_marks:
        transaction.insert_or_update(
            "StatementLogMarks", ["CustomerId", "LoggedNumber"], [list(m) for m in sorted(statement_marks.items())]
        )
    transaction.update(
        "LogState",
        STATE,
        [
            [
                1,
                state.origin,
                integration.size,
                spanner_bytes(integration.root),
                state.tiles_size,
                spanner.COMMIT_TIMESTAMP,
            ]
        ],
    )


def chunk_row(transaction, chunk: int) -> bytes:
    rows = list(transaction.read("LogHashes", ["Hashes"], key_of([chunk])))
    return raw_bytes(rows[0][0]) if rows else b""


def put_rows(
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
        cells = [row, spanner_bytes(data)]
        if ids:
            cells.append((held_ids if row == start // ROW else []) + new_ids[position : position + room])
        rows.append(cells)
        position += room
    transaction.insert_or_update(table, columns, rows)
