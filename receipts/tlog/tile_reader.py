"""Reading stored hashes from published tiles, each tile checked before any hash of it is
believed: the tiles that make the tree's root are checked against the root a checkpoint
signed, and every other tile against the hash its parent tile holds for it (Go's
sumdb/tlog TileHashReader, with one difference: every child tile is checked, however
many of the root's tiles coincide).

With it, proofs for a client or the site come from the static tiles alone:
`prove_inclusion(i, size, TileHashReader(size, root, fetch))`.
"""

from collections.abc import Callable, Sequence

from receipts.tlog.hashing import HASH_SIZE, node_hash
from receipts.tlog.stored import stored_hash_index, subtree_indexes
from receipts.tlog.tiles import TILE_HEIGHT, TILE_WIDTH, Tile, hash_from_tile, tile_for_index, tile_hash


class TileError(ValueError):
    """A tile that does not belong to the tree it was read for (or could not be read)."""


def tile_parent(tile: Tile, k: int, size: int) -> Tile | None:
    """The tile k levels above `tile` in the tree of `size` leaves, as wide as that tree
    has it; None when the tree has no such tile."""
    level = tile.level + k
    n = tile.n >> (k * TILE_HEIGHT)
    hashes_at_level = size >> (level * TILE_HEIGHT)
    start = n * TILE_WIDTH
    if start >= hashes_at_level or level > 63:
        return None
    return Tile(level, n, min(TILE_WIDTH, hashes_at_level - start))


class TileHashReader:
    """A HashReader over the tiles of the tree of `size` leaves whose root is `root`;
    `fetch(tile)` returns a tile's bytes (from files, a bucket, HTTP: not yet trusted)."""

    def __init__(self, size: int, root: bytes, fetch: Callable[[Tile], bytes]) -> None:
        if size < 1:
            raise ValueError("the empty tree has no tiles")
        self.size, self.root, self.fetch = size, root, fetch

    def _plan(self, indexes: Sequence[int]) -> tuple[dict[Tile, int], list[int], list[int], int]:
        """The tiles to read, in order, parents before children; for the root's stored hashes
        and for each index asked, the position of its tile; and how many tiles the root needs."""
        order: dict[Tile, int] = {}
        tiles: list[Tile] = []

        def add(tile: Tile) -> int:
            if tile not in order:
                order[tile] = len(tiles)
                tiles.append(tile)
            return order[tile]

        root_indexes = subtree_indexes(0, self.size)
        root_positions = []
        for index in root_indexes:
            widest = tile_parent(tile_for_index(index), 0, self.size)
            assert widest is not None, "a hash of the tree is in one of its tiles"
            root_positions.append(add(widest))
        root_tiles = len(tiles)
        positions = []
        end = stored_hash_index(0, self.size)
        for index in indexes:
            if not 0 <= index < end:
                raise TileError(f"stored hash {index} is not in the tree of {self.size} leaves")
            tile = tile_for_index(index)
            k = 0
            while tile_parent(tile, k, self.size) not in order:  # climb to a tile already planned
                k += 1
                if k > 8:
                    raise AssertionError(f"no planned ancestor of {tile.path} in a tree of {self.size}")
            for down in range(k - 1, -1, -1):  # then plan the ones below it, parents first
                child = tile_parent(tile, down, self.size)
                assert child is not None and not child.is_partial, "only full tiles have parents"
                add(child)
            positions.append(order[tile_parent(tile, 0, self.size)])
        return order, root_positions, positions, root_tiles

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """The stored hashes at `indexes`, each from a tile proven to be of this tree."""
        order, root_positions, positions, root_tiles = self._plan(indexes)
        tiles = list(order)
        data = [self._fetch(tile) for tile in tiles]
        root_indexes = subtree_indexes(0, self.size)
        found = [hash_from_tile(tiles[p], data[p], i) for p, i in zip(root_positions, root_indexes, strict=True)]
        root = found[-1]
        for value in reversed(found[:-1]):
            root = node_hash(value, root)
        if root != self.root:
            raise TileError(f"the tiles do not make the root of the tree of {self.size} leaves")
        for position in range(root_tiles, len(tiles)):
            tile = tiles[position]
            parent = tile_parent(tile, 1, self.size)
            assert parent is not None and order.get(parent, position) < position, "parents come before children"
            expected = hash_from_tile(parent, data[order[parent]], stored_hash_index(parent.hash_level, tile.n))
            if tile_hash(data[position]) != expected:
                raise TileError(f"{tile.path} does not hash to what its parent tile holds for it")
        return [hash_from_tile(tiles[p], data[p], i) for p, i in zip(positions, indexes, strict=True)]

    def _fetch(self, tile: Tile) -> bytes:
        data = self.fetch(tile)
        if not isinstance(data, bytes) or len(data) != tile.width * HASH_SIZE:
            raise TileError(f"{tile.path} is not {tile.width * HASH_SIZE} bytes")
        return data
