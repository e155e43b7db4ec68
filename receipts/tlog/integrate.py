"""Appending a batch of entries to the log: what a sequencer persists and publishes.

`integrate` computes, from the hashes already stored and the new entries, every new
stored hash (to persist, each written once), the new root, and the tiles and entry bundles
the batch completes or makes partial (to publish, each written once). It reads the old
hashes the batch needs through the caller's HashReader, in a handful of calls, and never
the whole log.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from receipts.tlog.hashing import leaf_hash, node_hash
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
    for entry in entries:
        if not isinstance(entry, bytes) or len(entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"an entry is bytes of at most {MAX_ENTRY_SIZE}")
    if len(partial_bundle) != size % TILE_WIDTH:
        raise ValueError(f"the partial bundle of a log of {size} entries holds {size % TILE_WIDTH}")
    new: dict[int, bytes] = {}
    overlay = _Overlay(reader, new)
    # The only old hashes appending needs: the perfect subtrees on the tree's right edge,
    # left to right, by height (the bits of `size`). Each new leaf's stored hashes (itself,
    # then each subtree it completes) take consecutive indexes from stored_hash_index(0, n),
    # as receipts.tlog.stored.stored_hashes would give them one leaf at a time.
    heights = [bit for bit in reversed(range(size.bit_length())) if size >> bit & 1]
    edge = list(zip(heights, overlay.read_hashes(subtree_indexes(0, size)), strict=True))
    _check_partial_bundle(size, partial_bundle, overlay)
    index = stored_hash_index(0, size)
    for entry in entries:
        value, height = leaf_hash(entry), 0
        new[index] = value
        index += 1
        while edge and edge[-1][0] == height:
            value, height = node_hash(edge.pop()[1], value), height + 1
            new[index] = value
            index += 1
        edge.append((height, value))
    new_size = size + len(entries)
    tiles = {tile: read_tile_data(tile, overlay) for tile in changed_tiles(size, new_size)}
    log_entries = [*partial_bundle, *entries]
    bundles = {}
    for bundle in changed_tiles(size, new_size, level=ENTRIES):
        first = bundle.n * TILE_WIDTH - (size - len(partial_bundle))
        bundles[bundle] = encode_entry_bundle(log_entries[first : first + bundle.width])
    return Integration(size, new_size, tree_hash(new_size, overlay), new, tiles, bundles)


def _check_partial_bundle(size: int, partial_bundle: Sequence[bytes], reader: HashReader) -> None:
    """Refuse a partial bundle whose entries are not the log's last ones."""
    first = size - len(partial_bundle)
    stored = reader.read_hashes([stored_hash_index(0, first + i) for i in range(len(partial_bundle))])
    for offset, (entry, value) in enumerate(zip(partial_bundle, stored, strict=True)):
        if leaf_hash(entry) != value:
            raise ValueError(f"partial bundle entry {offset} is not entry {first + offset} of the log")
