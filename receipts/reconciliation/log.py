"""The transparency log's part of a reconciliation: every stored receipt is a leaf exactly
once, each leaf's entry is its receipt's hash, no leaf names a receipt no store holds, and
the store's hashes and the published tiles make the latest checkpoint. Pure: the reads are
the reconciliation's (transforms.reconcile_log)."""

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from receipts.reconciliation.findings import LEDGER, LOG, CustomerResult, Discrepancy, Tally

NOT_YET_LOGGED = "not_yet_logged"  # past the customer's "logged through" mark: the next integration logs it
LOGGED_AFTER_READ = "logged_after_read"  # logged after the log's leaves were read (a job is integrating)
STORED_AFTER_READ = "stored_after_read"  # a leaf whose receipt reached the ledger after it was read
NOT_YET_SIGNED = "log_entries_not_yet_signed"  # logged, and past the latest checkpoint: the next one signs them
WHERE = "the log"
SHARD_LEAVES = 4096  # leaves per shard of the log check: one join per shard, not one per receipt


@dataclass(frozen=True)
class StoredReceipt:
    """A ledger receipt as the log check sees it, with its customer's mark."""

    customer_id: str
    sequence: int
    receipt_hash: str
    logged_through: int


@dataclass(frozen=True)
class Leaf:
    """One leaf as the store holds it: its index, the receipt it names and its entry."""

    index: int
    receipt_id: str
    entry: bytes
    indexed: int | None = None  # the index the receipt's leaf row names (receipt id -> leaf index)


@dataclass(frozen=True)
class LaterReads:
    """What a second look at the store says of a receipt the first reads could not match:
    its leaf index now (None: none), and whether the store holds the receipt now."""

    leaf_index: int | None = None
    stored: bool = False


def check_logged(
    receipt_id: str, stored: Sequence[StoredReceipt], leaves: Sequence[Leaf], later: LaterReads | None = None
) -> CustomerResult:
    """One receipt id: stored once and a leaf once, with its hash as the entry; or stored and
    not logged yet (past its mark); or neither (nothing to say)."""
    tally = Tally()
    found = _logged_findings(receipt_id, stored, leaves, later, tally)
    return CustomerResult(stored[0].customer_id if stored else None, tuple(found), tally)


def _logged_findings(
    receipt_id: str,
    stored: Sequence[StoredReceipt],
    leaves: Sequence[Leaf],
    later: LaterReads | None,
    tally: Tally,
) -> list[Discrepancy]:
    """`check_logged`'s discrepancies, counted into `tally` (a shard's: one Tally per receipt
    id, then merged, was most of the log check's time)."""
    found: list[Discrepancy] = []
    ref = stored[0] if stored else None
    customer = ref.customer_id if ref else None
    sequence = ref.sequence if ref else None

    def add(field: str, reason: str, rule: str, source: str = LEDGER) -> None:
        found.append(Discrepancy(LOG, customer, receipt_id, sequence, field, reason, rule, source, WHERE))

    if ref is not None:
        # A customer counted once: by its first receipt (not by its first statement, whose mark holds ':').
        tally.examined(LOG, 1, int(ref.sequence == 1 and ":" not in ref.customer_id))
        if not leaves:
            if ref.sequence > ref.logged_through:
                tally.aside(NOT_YET_LOGGED)
            elif later is not None and later.leaf_index is not None:
                tally.aside(LOGGED_AFTER_READ)
            else:
                add(
                    "leaf",
                    f"stored, and the customer is logged through sequence {ref.logged_through}, but the log "
                    "holds no leaf of it",
                    "missing",
                )
        for leaf in leaves:
            if leaf.entry.hex() != ref.receipt_hash:
                add(
                    "entry",
                    f"leaf {leaf.index} holds {leaf.entry.hex()[:16]}…; the receipt's hash is {ref.receipt_hash[:16]}…",
                    "entry",
                )
    elif leaves:
        if later is not None and later.stored:
            tally.aside(STORED_AFTER_READ)
        else:
            indexes = ", ".join(str(leaf.index) for leaf in leaves)
            add("leaf", f"leaf {indexes} names a receipt no store holds", "unknown_receipt", "log")
    for leaf in leaves:
        if len(leaves) == 1 and leaf.indexed != leaf.index:
            said = "no leaf" if leaf.indexed is None else f"leaf {leaf.indexed}"
            add("leaf_index", f"leaf {leaf.index} names it, and its leaf row says {said}", "leaf_index", "log")
    if len(leaves) > 1:
        indexes = ", ".join(str(leaf.index) for leaf in sorted(leaves, key=lambda leaf: leaf.index))
        add("leaf", f"logged {len(leaves)} times: leaves {indexes}", "logged_twice", "log")
    tally.found(found)
    return found


def shard_count(size: int) -> int:
    """Shards of the log check for a log of `size` leaves: about SHARD_LEAVES each."""
    return max(1, -(-size // SHARD_LEAVES))


def shard_of(receipt_id: str, shards: int) -> int:
    """The shard a receipt id's stored receipt and leaves both go to (CRC-32: stable everywhere)."""
    return zlib.crc32(receipt_id.encode("utf-8")) % shards


def needs_later_read(stored: Sequence[StoredReceipt], leaves: Sequence[Leaf]) -> bool:
    """Did the first reads leave a receipt id unmatched, so the store is asked once more?
    (Stored, logged through its mark and no leaf; or a leaf and nothing stored.)"""
    return bool((stored and not leaves and stored[0].sequence <= stored[0].logged_through) or (leaves and not stored))


def check_shard(
    stored: Iterable[tuple[str, StoredReceipt]],
    leaves: Iterable[Leaf],
    later_reads: Callable[[str], LaterReads],
) -> CustomerResult:
    """`check_logged` for every receipt id of one shard, added up: the ledger's receipts and
    the log's leaves that shard_of sends there. `later_reads(receipt_id)` is the second look
    for an id the first reads left unmatched."""
    per_id: dict[str, tuple[list[StoredReceipt], list[Leaf]]] = {}
    for receipt_id, receipt in stored:
        per_id.setdefault(receipt_id, ([], []))[0].append(receipt)
    for leaf in leaves:
        per_id.setdefault(leaf.receipt_id, ([], []))[1].append(leaf)
    tally, found = Tally(), []
    for receipt_id in sorted(per_id):
        its_stored, its_leaves = per_id[receipt_id]
        later = later_reads(receipt_id) if needs_later_read(its_stored, its_leaves) else None
        found += _logged_findings(receipt_id, its_stored, its_leaves, later, tally)
    return CustomerResult(None, tuple(found), tally)


@dataclass(frozen=True)
class LogTree:
    """What the store and the published files say of the log's tree (the reads are the
    transform's): its committed size, the latest checkpoint's size and root, the root the
    store's stored hashes give for that size, and what the tiles give (None: not read)."""

    size: int
    checkpoint_size: int | None  # None: no checkpoint (or one that does not parse: `problem`)
    checkpoint_root: bytes | None
    stored_root: bytes | str | None  # the store's hashes' root at checkpoint_size, or why it has none
    tiles_root: bytes | str | None  # the tiles' root at checkpoint_size (checked against it), or why not
    leaves_read: int = 0
    problem: str | None = None  # a checkpoint that could not be read


def check_log_tree(tree: LogTree) -> CustomerResult:
    """The latest checkpoint is of the store's tree (its root recomputed from the stored
    hashes), the published tiles make it, and the log holds one leaf per index."""
    tally = Tally()
    found: list[Discrepancy] = []

    def add(field: str, reason: str, rule: str) -> None:
        found.append(Discrepancy(LOG, None, None, None, field, reason, rule, "log", WHERE))

    if tree.problem:
        add("checkpoint", tree.problem, "checkpoint")
    if tree.leaves_read != tree.size:
        add("leaf", f"the log's size is {tree.size}, and {tree.leaves_read} leaves were read", "leaves")
    if tree.checkpoint_size is not None and tree.checkpoint_root is not None:
        if tree.checkpoint_size > tree.size:
            add(
                "checkpoint",
                f"the latest checkpoint is of {tree.checkpoint_size} entries; the log has {tree.size}",
                "size",
            )
        elif isinstance(tree.stored_root, str):
            add("checkpoint", f"the store's hashes give no root for the checkpoint: {tree.stored_root}", "root")
        elif tree.stored_root != tree.checkpoint_root:
            add(
                "checkpoint",
                f"the store's tree of {tree.checkpoint_size} entries has another root than the checkpoint",
                "root",
            )
        if isinstance(tree.tiles_root, str):
            add("tiles", f"the published tiles do not make the checkpoint: {tree.tiles_root}", "tiles")
    signed = tree.checkpoint_size or 0
    if tree.problem is None and tree.size > signed:
        tally.aside(NOT_YET_SIGNED, tree.size - signed)  # a kill or an outage before the checkpoint: not a loss
    tally.found(found)
    return CustomerResult(None, tuple(found), tally)
