"""Appending a batch of entries to the log: what a sequencer persists and publishes.

`integrate` computes, from the hashes already stored and the new entries, every new
stored hash (to persist, each written once), the new root, and the tiles and entry bundles
the batch completes or makes partial (to publish, each written once). It reads the old
hashes the batch needs through the caller's HashReader, in a handful of calls, and never
the whole log.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from itertools import repeat

from receipts.tlog.hashing import LEAF_PREFIX, NODE_PREFIX, leaf_hash
from receipts.tlog.stored import (
    HashReader,
    read_checked,
    stored_hash_index,
    subtree_indexes,
    tree_hash,
)
from receipts.tlog.tiles import (
    ENTRIES,
    MAX_ENTRY_SIZE,
    MAX_TREE_SIZE,
    TILE_WIDTH,
    Tile,
    changed_tiles,
    encode_entry_bundle,
    read_tile_data,
)


class _Overlay:
    """The caller's stored hashes with the batch's new ones on top; old hashes are read
    once each, the misses of a call in one read."""

    def __init__(self, base: HashReader, new: Mapping[int, bytes]) -> None:
        self.base, self.new, self.cache = base, new, dict[int, bytes]()

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        missing = sorted({i for i in indexes if i not in self.new and i not in self.cache})
        self.cache.update(zip(missing, read_checked(self.base, missing), strict=True))
        return [self.new[i] if i in self.new else self.cache[i] for i in indexes]


@dataclass(frozen=True)
class Integration:
    """What appending a batch gives: persist `stored_hashes`, then publish `files()`,
    then sign a checkpoint for (`size`, `root`)."""

    old_size: int
    size: int
    root: bytes
    stored_hashes: dict[int, bytes]  # stored index -> hash, every hash the batch adds
    tiles: dict[Tile, bytes]  # hash tiles completed or made partial by the batch
    entry_bundles: dict[Tile, bytes]  # entry bundles (level ENTRIES) likewise

    def files(self) -> dict[str, bytes]:
        """Every tile and bundle by its path below the log's prefix (tile/0/000.p/5 …)."""
        return {tile.path: data for tile, data in (self.tiles | self.entry_bundles).items()}


def integrate(
    size: int,
    reader: HashReader,
    entries: Sequence[bytes],
    partial_bundle: Sequence[bytes] = (),
) -> Integration:
    """Append `entries` to the log of `size` entries whose stored hashes `reader` reads.

    `partial_bundle` holds the log's last `size % 256` entries (its partial entry bundle,
    as published or as stored): entries are not recoverable from hashes, and the bundle
    is published again, wider. They are checked against the stored leaf hashes.
    """
    if not 0 <= size <= size + len(entries) <= MAX_TREE_SIZE:
        raise ValueError(f"a log of {size} entries cannot take {len(entries)} more")
    if not all(map(isinstance, entries, repeat(bytes))) or max(map(len, entries), default=0) > MAX_ENTRY_SIZE:
        raise ValueError(f"an entry is bytes of at most {MAX_ENTRY_SIZE}")
    if len(partial_bundle) != size % TILE_WIDTH:
        raise ValueError(f"the partial bundle of a log of {size} entries holds {size % TILE_WIDTH}")
    new: dict[int, bytes] = {}
    overlay = _Overlay(reader, new)
    # The only old hashes appending needs: the perfect subtrees on the tree's right edge,
    # left to right (the bits of `size`, largest first).
    edge = overlay.read_hashes(subtree_indexes(0, size))
    _check_partial_bundle(size, partial_bundle, overlay)
    leaves = [sha256(LEAF_PREFIX + entry).digest() for entry in entries]
    first = stored_hash_index(0, size)
    stored = _stored_hashes(size, leaves, edge)
    new.update(zip(range(first, first + len(stored)), stored, strict=True))
    new_size = size + len(entries)
    tiles = {tile: _tile_data(tile, size, leaves, overlay) for tile in changed_tiles(size, new_size)}
    log_entries = [*partial_bundle, *entries]
    bundles = {}
    for bundle in changed_tiles(size, new_size, level=ENTRIES):
        start = bundle.n * TILE_WIDTH - (size - len(partial_bundle))
        bundles[bundle] = encode_entry_bundle(log_entries[start : start + bundle.width])
    return Integration(size, new_size, tree_hash(new_size, overlay), new, tiles, bundles)


def _stored_hashes(size: int, leaves: Sequence[bytes], edge: list[bytes]) -> list[bytes]:
    """The hashes appending these leaf hashes to a log of `size` stores, in stored order
    (from stored_hash_index(0, size), as receipts.tlog.stored.stored_hashes gives them one
    leaf at a time): each leaf's hash, then one per perfect subtree it completes, one per
    trailing 1 bit of its index, each over the last subtree of `edge` (updated in place).
    The hot loop of the sequencer: hashlib directly, no call per node."""
    stored: list[bytes] = []
    store, pop, push = stored.append, edge.pop, edge.append
    for n, value in enumerate(leaves, start=size):
        store(value)
        while n & 1:
            value = sha256(NODE_PREFIX + pop() + value).digest()
            store(value)
            n >>= 1
        push(value)
    return stored


def _tile_data(tile: Tile, size: int, leaves: Sequence[bytes], reader: HashReader) -> bytes:
    """read_tile_data(tile, reader), a level 0 tile cut from the batch's leaf hashes in one
    slice (only the hashes before `size` are read)."""
    if tile.level != 0:
        return read_tile_data(tile, reader)
    first, end = tile.n * TILE_WIDTH, tile.n * TILE_WIDTH + tile.width
    old = read_checked(reader, [stored_hash_index(0, n) for n in range(first, min(end, size))])
    return b"".join(old) + b"".join(leaves[max(first - size, 0) : end - size])


def _check_partial_bundle(size: int, partial_bundle: Sequence[bytes], reader: HashReader) -> None:
    """Refuse a partial bundle whose entries are not the log's last ones."""
    first = size - len(partial_bundle)
    stored = reader.read_hashes([stored_hash_index(0, first + i) for i in range(len(partial_bundle))])
    for offset, (entry, value) in enumerate(zip(partial_bundle, stored, strict=True)):
        if leaf_hash(entry) != value:
            raise ValueError(f"partial bundle entry {offset} is not entry {first + offset} of the log")
