"""Tiles (C2SP tlog-tiles): the tree published as immutable files of 256 consecutive
hashes, so that clients compute any root or proof from static resources.

Tile (L, N) lists hashes N*256 … N*256+255 of tree level 8L; a partial tile of width W < 256
lists the first W of them, for the tree size that ends there. Entry bundles hold the
entries of level 0 tile N, each as a big-endian uint16 length and its bytes. Paths are
`tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, N in 3-digit groups with an `x` on
all but the last (1234067 → x001/x234/067). Go's sumdb/tlog names the same tiles
`tile/8/<L>/…` and `tile/8/data/…`; its algorithms (tileForIndex, HashFromTile, ReadTileData)
are the model here, with the height fixed at 8.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from receipts.tlog.hashing import HASH_SIZE, node_hash
from receipts.tlog.stored import HashReader, read_checked, split_stored_hash_index, stored_hash_index

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
ENTRIES = -1  # the level of entry bundles
MAX_LEVEL = 63
MAX_TREE_SIZE = (1 << 64) - 1  # checkpoint sizes are 64-bit: no tile beyond this is any log's
MAX_ENTRY_SIZE = 0xFFFF
_MAX_PATH = 64  # a tile of a tree under 2**64 leaves has a path of about 40 characters


class TilePathError(ValueError):
    """A path that is not the one canonical path of a tile of a log."""


@dataclass(frozen=True, order=True)
class Tile:
    """Tile `n` of `level` (ENTRIES for an entry bundle), `width` hashes (or entries) wide."""

    level: int
    n: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not (ENTRIES <= self.level <= MAX_LEVEL and self.n >= 0 and 1 <= self.width <= TILE_WIDTH):
            raise ValueError(f"no tile at level {self.level}, number {self.n}, width {self.width}")

    @property
    def is_entry_bundle(self) -> bool:
        return self.level == ENTRIES

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def hash_level(self) -> int:
        """The tree level of the hashes in this tile (the leaves' level for a bundle)."""
        return max(self.level, 0) * TILE_HEIGHT

    @property
    def path(self) -> str:
        return tile_path(self)


def _encode_n(n: int) -> str:
    groups = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        groups.append(f"x{n % 1000:03d}")
    return "/".join(reversed(groups))


def tile_path(tile: Tile) -> str:
    """The tile's path below the log's prefix, e.g. tile/0/x001/x234/067.p/5."""
    level = "entries" if tile.is_entry_bundle else str(tile.level)
    partial = f".p/{tile.width}" if tile.is_partial else ""
    return f"tile/{level}/{_encode_n(tile.n)}{partial}"


_PATH = re.compile(r"tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/){0,6}[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


def parse_tile_path(path: str) -> Tile:
    """The tile a request path names, refusing every path but its canonical one: levels
    0 to 63 or `entries` without leading zeros, N in whole 3-digit groups without leading
    zero groups, width 1 to 255, and no tile beyond the largest tree a checkpoint can
    name. Hostile input: the site serves files from what this returns."""
    if not isinstance(path, str) or len(path) > _MAX_PATH:
        raise TilePathError("not a tile path")
    match = _PATH.fullmatch(path)
    if match is None:
        raise TilePathError("not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
    level_text, n_text, width_text = match.groups()
    level = ENTRIES if level_text == "entries" else int(level_text)
    width = int(width_text) if width_text else TILE_WIDTH
    if level > MAX_LEVEL or (width_text and width >= TILE_WIDTH):
        raise TilePathError("a tile level is 0 to 63 and a partial tile's width 1 to 255")
    tile = Tile(level, int(n_text.replace("x", "").replace("/", "")), width)
    if tile_path(tile) != path:
        raise TilePathError("not the canonical path of its tile (leading zeros?)")
    if _leaves_needed(tile) > MAX_TREE_SIZE:
        raise TilePathError("no log of fewer than 2**64 entries has this tile")
    return tile


def _leaves_needed(tile: Tile) -> int:
    """The size of the smallest tree that has this tile."""
    return (tile.n * TILE_WIDTH + tile.width) << tile.hash_level


def in_tree(tile: Tile, size: int) -> bool:
    """Whether the tree of `size` leaves has this tile (a partial one: as a prefix of its
    hashes at that level, as every tree since the size the tile was cut for has)."""
    return _leaves_needed(tile) <= size


def tile_for_index(index: int) -> Tile:
    """The narrowest tile that holds, or lets a reader compute, the stored hash at `index`
    (a hash of a level between two tile levels is hashed up from the tile below)."""
    return _tile_for_index(index)[0]


def _tile_for_index(index: int) -> tuple[Tile, int, int]:
    """tile_for_index, with the byte range of the tile data that hashes to the index's hash."""
    level, n = split_stored_hash_index(index)
    tile_level = level // TILE_HEIGHT
    within = level - tile_level * TILE_HEIGHT  # levels above the tile's own
    tile_n = (n << within) >> TILE_HEIGHT
    n -= (tile_n << TILE_HEIGHT) >> within  # now n within the tile, at that level
    width = (n + 1) << within
    return Tile(tile_level, tile_n, width), (n << within) * HASH_SIZE, width * HASH_SIZE


def tile_hash(data: bytes) -> bytes:
    """The hash of the perfect subtree over the 2**k hashes in `data` (a full tile: the hash
    its parent tile holds for it)."""
    if len(data) == HASH_SIZE:
        return data
    half = len(data) // 2
    return node_hash(tile_hash(data[:half]), tile_hash(data[half:]))


def hash_from_tile(tile: Tile, data: bytes, index: int) -> bytes:
    """The stored hash at `index`, from `data`, the contents of `tile`, which must be the
    tile of that index or a wider one (Go's HashFromTile)."""
    if tile.is_entry_bundle:
        raise ValueError("an entry bundle holds entries, not hashes")
    if len(data) < tile.width * HASH_SIZE:
        raise ValueError(f"{len(data)} bytes is too short for {tile.path}")
    needed, start, end = _tile_for_index(index)
    if (needed.level, needed.n) != (tile.level, tile.n) or tile.width < needed.width:
        raise ValueError(f"stored hash {index} is in {needed.path}, not {tile.path}")
    return tile_hash(data[start:end])


def read_tile_data(tile: Tile, reader: HashReader) -> bytes:
    """The contents of a hash tile: its `width` stored hashes, concatenated."""
    if tile.is_entry_bundle:
        raise ValueError("an entry bundle holds entries, not hashes")
    first = tile.n * TILE_WIDTH
    indexes = [stored_hash_index(tile.hash_level, first + i) for i in range(tile.width)]
    return b"".join(read_checked(reader, indexes))


def changed_tiles(old_size: int, new_size: int, level: int | None = None) -> list[Tile]:
    """The tiles a log growing from `old_size` to `new_size` leaves publishes: each tile
    completed meanwhile, and the partial tiles of `new_size` that `old_size` did not have
    (level=ENTRIES: the entry bundles). Unlike Go's NewTiles, no partial tile of the
    sizes between: a checkpoint is only ever signed for `new_size`."""
    if not 0 <= old_size <= new_size <= MAX_TREE_SIZE:
        raise ValueError(f"a log does not grow from {old_size} to {new_size} leaves")
    levels = [ENTRIES] if level == ENTRIES else range(MAX_LEVEL + 1) if level is None else [level]
    tiles = []
    for at in levels:
        shift = max(at, 0) * TILE_HEIGHT
        old_count, new_count = old_size >> shift, new_size >> shift  # hashes at that level
        if new_count == 0:
            break
        tiles += [Tile(at, n) for n in range(old_count // TILE_WIDTH, new_count // TILE_WIDTH)]
        if new_count % TILE_WIDTH and new_count != old_count:
            tiles.append(Tile(at, new_count // TILE_WIDTH, new_count % TILE_WIDTH))
    return tiles


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise ValueError(f"an entry bundle holds 1 to {TILE_WIDTH} entries, not {len(entries)}")
    lengths = set(map(len, entries))
    if max(lengths) > MAX_ENTRY_SIZE:
        raise ValueError(f"an entry of {max(lengths)} bytes does not fit a uint16 length")
    if len(lengths) == 1:  # the usual bundle, every entry a 32-byte hash: one join
        prefix = lengths.pop().to_bytes(2, "big")
        return prefix + prefix.join(entries)
    return b"".join(len(entry).to_bytes(2, "big") + entry for entry in entries)


def parse_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """The entries of a bundle, refusing a truncated one, trailing bytes, more than 256
    entries, or (given `width`) any other number of them."""
    entries, offset = [], 0
    while offset < len(data):
        if len(entries) == TILE_WIDTH:
            raise ValueError(f"an entry bundle holds at most {TILE_WIDTH} entries")
        if offset + 2 > len(data):
            raise ValueError("the bundle ends inside an entry's length")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise ValueError("the bundle ends inside an entry")
        entries.append(bytes(data[offset : offset + length]))
        offset += length
    if not entries or (width is not None and len(entries) != width):
        raise ValueError(f"the bundle holds {len(entries)} entries, not {width or 'at least 1'}")
    return entries
