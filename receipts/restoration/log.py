"""Restore of the transparency log: what a store's log tables must say, worked out from the
log's published files alone (tiles, entry bundles, `checkpoints/<size>`) and the receipts the
store holds. Pure: the files come in through `read(path)` and the list of their paths.

1. Every published checkpoint is opened with the log's key (its signature checked) and must
   be of one origin; the latest one's root is recomputed from its tiles (TileHashReader,
   every tile checked against the signed root) and from its entry bundles.
2. Orphans: entry bundles published for a size past the latest checkpoint (a sequencer killed
   after publishing, before signing) are adopted: their entries are appended to the tree.
3. Every published tile and bundle must be the bytes the adopted tree gives (files are
   written once: one that differs, or that no adopted size explains, would make the next
   integration fail); every kept checkpoint's root must be the tree's root at its size.
4. Every entry must be a stored receipt (or statement), each once, and each customer's
   logged receipts its sequences 1..n in leaf order, as the sequencer takes them.

Any mismatch is a `LogRestoreRefused` naming it; nothing is written then.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from receipts.rows import UnloggedReceipt
from receipts.tlog.checkpoints import CheckpointError, open_checkpoint
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.notes import NoteError, Verifier
from receipts.tlog.stored import MemoryHashes, stored_hash_count, stored_hash_index, tree_hash
from receipts.tlog.tile_reader import TileError, TileHashReader
from receipts.tlog.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Tile,
    TilePathError,
    changed_tiles,
    encode_entry_bundle,
    in_tree,
    parse_entry_bundle,
    parse_tile_path,
    read_tile_data,
)

CHECKPOINTS = "checkpoints/"
Read = Callable[[str], bytes | None]


class LogRestoreRefused(ValueError):
    """The published log does not verify, or does not fit the stored receipts: nothing written."""


@dataclass(frozen=True)
class PublishedLog:
    """The log as its files prove it: the latest signed checkpoint's size (`signed`), the
    adopted size (`size` >= signed: orphaned bundles appended), its entries and stored
    hashes, and every published checkpoint by size (the notes as published)."""

    origin: str
    signed: int
    size: int
    root: bytes
    entries: tuple[bytes, ...]
    hashes: MemoryHashes
    checkpoints: dict[int, bytes]
    files: int  # tile and bundle files checked

    @property
    def adopted(self) -> int:
        return self.size - self.signed


@dataclass(frozen=True)
class LogRows:
    """What the store's log tables get: the leaves (index order) and the marks."""

    published: PublishedLog
    leaves: tuple[UnloggedReceipt, ...]
    marks: dict[str, int]

    def stored_hashes(self) -> list[tuple[int, bytes]]:
        hashes = self.published.hashes.hashes
        return [(index, hashes[index]) for index in range(stored_hash_count(self.published.size))]


def published_log(paths: Iterable[str], read: Read, verifier: Verifier) -> PublishedLog | None:
    """The published log, verified (steps 1 to 3 of the module's docstring); None when
    nothing of a log is published."""
    paths = sorted(set(paths))
    checkpoints = _checkpoints(paths, read, verifier)
    tiles = _tiles(paths)
    if not checkpoints and not tiles:
        return None
    origins = {origin for origin, _ in checkpoints.values()}
    if len(origins) > 1:
        raise LogRestoreRefused(f"the published checkpoints name more than one log: {sorted(origins)}")
    origin = origins.pop() if origins else verifier.name
    signed = max(checkpoints, default=0)
    root = checkpoints[signed][1] if checkpoints else EMPTY_ROOT
    entries = _entries(signed, read)
    hashes = MemoryHashes()
    hashes.append(entries)
    if signed:
        _check_tiles_make_root(signed, root, read, hashes)
    size = _adoptable(signed, tiles, read)
    if size > signed:
        entries += _entries(size, read)[signed:]
        hashes.append(entries[signed:])
    _check_files(tiles, size, read, hashes, entries)
    for at, (_, signed_root) in sorted(checkpoints.items()):
        if tree_hash(at, hashes) != signed_root:
            raise LogRestoreRefused(
                f"the published checkpoint of size {at} is not the tree the tiles prove: the log forked"
            )
    notes = {at: read(f"{CHECKPOINTS}{at}") or b"" for at in checkpoints}
    return PublishedLog(origin, signed, size, tree_hash(size, hashes), tuple(entries), hashes, notes, len(tiles))


def log_rows(published: PublishedLog, stored: Mapping[bytes, UnloggedReceipt]) -> LogRows:
    """The leaves and marks of the published log, each entry a stored receipt (`stored`:
    by entry, the receipts and statements the store holds); step 4 of the docstring."""
    leaves: list[UnloggedReceipt] = []
    seen: dict[bytes, int] = {}
    marks: dict[str, int] = {}
    for index, entry in enumerate(published.entries):
        if entry in seen:
            raise LogRestoreRefused(f"leaves {seen[entry]} and {index} hold one entry ({entry.hex()}): a receipt twice")
        seen[entry] = index
        receipt = stored.get(entry)
        if receipt is None:
            raise LogRestoreRefused(
                f"leaf {index} holds {entry.hex()}, the hash of no receipt, statement or key document the store "
                "holds: restore the store's receipts, statements and key documents first (`receipts restore` does, "
                "in that order; or the archive lacks them, or one was not restored: see STATEMENT NOT RESTORED, "
                "KEY DOCUMENT NOT RESTORED)"
            )
        expected = marks.get(receipt.customer_id, 0) + 1
        if receipt.sequence != expected:
            raise LogRestoreRefused(
                f"leaf {index} is {receipt.receipt_id}, sequence {receipt.sequence} of {receipt.customer_id}, where "
                f"the log can only hold sequence {expected}"
            )
        marks[receipt.customer_id] = receipt.sequence
        leaves.append(receipt)
    return LogRows(published, tuple(leaves), marks)


def _checkpoints(paths: Sequence[str], read: Read, verifier: Verifier) -> dict[int, tuple[str, bytes]]:
    """Every published checkpoint, by size: (origin, root), each signed by the log's key."""
    found = {}
    for path in paths:
        if not path.startswith(CHECKPOINTS):
            continue
        note = read(path) or b""
        try:
            checkpoint, _ = open_checkpoint(note, [verifier])
        except (NoteError, CheckpointError) as error:
            raise LogRestoreRefused(
                f"{path} is not a checkpoint signed by the log's key ({verifier.name}): {error}"
            ) from None
        if path != f"{CHECKPOINTS}{checkpoint.size}":
            raise LogRestoreRefused(f"{path} holds the checkpoint of size {checkpoint.size}")
        found[checkpoint.size] = (checkpoint.origin, checkpoint.root)
    return found


def _tiles(paths: Sequence[str]) -> list[Tile]:
    tiles = []
    for path in paths:
        if path.startswith("tile/"):
            try:
                tiles.append(parse_tile_path(path))
            except TilePathError as error:
                raise LogRestoreRefused(f"{path} is not a tile of a log: {error}") from None
    return tiles


def _bundles_of(size: int) -> list[Tile]:
    """The entry bundles that hold the entries of the tree of `size` leaves."""
    full = [Tile(ENTRIES, n) for n in range(size // TILE_WIDTH)]
    return full + ([Tile(ENTRIES, size // TILE_WIDTH, size % TILE_WIDTH)] if size % TILE_WIDTH else [])


def _entries(size: int, read: Read) -> list[bytes]:
    entries: list[bytes] = []
    for bundle in _bundles_of(size):
        data = read(bundle.path)
        if data is None:
            raise LogRestoreRefused(f"{bundle.path} is missing: the log of {size} entries cannot be read back")
        try:
            entries += parse_entry_bundle(data, bundle.width)
        except ValueError as error:
            raise LogRestoreRefused(f"{bundle.path} is not an entry bundle of {bundle.width}: {error}") from None
    return entries


def _check_tiles_make_root(size: int, root: bytes, read: Read, hashes: MemoryHashes) -> None:
    """Every tile of the tree makes the signed root (TileHashReader checks each tile it reads:
    one hash of each is read), and so do the entry bundles; that each tile holds what the
    bundles give is _check_files'."""
    tiles = TileHashReader(size, root, lambda tile: read(tile.path) or b"")
    try:
        tiles.read_hashes([stored_hash_index(tile.hash_level, tile.n * TILE_WIDTH) for tile in changed_tiles(0, size)])
    except TileError as error:
        raise LogRestoreRefused(
            f"the tiles do not recompute to the signed root of size {size}: {error}{_culprit(size, root, read, hashes)}"
        ) from None
    if tree_hash(size, hashes) != root:
        raise LogRestoreRefused(f"the entry bundles do not make the signed root of size {size}")


def _culprit(size: int, root: bytes, read: Read, hashes: MemoryHashes) -> str:
    """Which tiles are wrong, when the entry bundles make the signed root (else they are wrong too)."""
    if tree_hash(size, hashes) != root:
        return "; the entry bundles do not make it either"
    wrong = [tile.path for tile in changed_tiles(0, size) if read(tile.path) != read_tile_data(tile, hashes)]
    return f"; the entry bundles make it, these tiles differ from them: {', '.join(wrong[:5])}"


def _adoptable(signed: int, tiles: Sequence[Tile], read: Read) -> int:
    """The largest size past `signed` whose entry bundles are all published (orphans a
    sequencer left before signing), else `signed`."""
    present = {tile.path for tile in tiles if tile.is_entry_bundle}
    sizes = {tile.n * TILE_WIDTH + tile.width for tile in tiles if tile.is_entry_bundle}
    for size in sorted((s for s in sizes if s > signed), reverse=True):
        if all(bundle.path in present for bundle in _bundles_of(size)[signed // TILE_WIDTH :]):
            return size
    return signed


def _check_files(tiles: Sequence[Tile], size: int, read: Read, hashes: MemoryHashes, entries: Sequence[bytes]) -> None:
    """Every published tile and bundle holds what the tree of `size` gives at its path."""
    for tile in tiles:
        if not in_tree(tile, size):
            raise LogRestoreRefused(
                f"{tile.path} is published for a larger tree than the log's {size} entries and its entries are not "
                "all published: no restore can say what the next integration would write there"
            )
        if tile.is_entry_bundle:
            first = tile.n * TILE_WIDTH
            expected = encode_entry_bundle(entries[first : first + tile.width])
        else:
            expected = read_tile_data(tile, hashes)
        if read(tile.path) != expected:
            raise LogRestoreRefused(f"{tile.path} does not hold what the log's entries give: a tampered tile")


def leaves_by_entry(receipts: Iterable[UnloggedReceipt]) -> dict[bytes, UnloggedReceipt]:
    """The stored receipts by their log entry (for log_rows)."""
    return {receipt.entry: receipt for receipt in receipts}
