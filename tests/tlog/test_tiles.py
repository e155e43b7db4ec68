"""Tiles (receipts/tlog/tiles.py, tile_reader.py): paths in their one canonical spelling
and nothing else, tile contents from stored hashes as Go's tlog computes them, the
spec's example, entry bundles, and a tile reader that believes no tile it cannot check."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from receipts.tlog.integrate import integrate
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.stored import MemoryHashes, split_stored_hash_index, stored_hash_index, tree_hash
from receipts.tlog.tile_reader import TileError, TileHashReader, tile_parent
from receipts.tlog.tiles import (
    ENTRIES,
    MAX_TREE_SIZE,
    Tile,
    TilePathError,
    changed_tiles,
    encode_entry_bundle,
    hash_from_tile,
    in_tree,
    parse_entry_bundle,
    parse_tile_path,
    read_tile_data,
    tile_for_index,
    tile_path,
)
from tests.tlog.naive import entry, mth

SIZE = 70_000


@pytest.fixture(scope="module")
def published() -> tuple[MemoryHashes, dict[str, bytes]]:
    """A log of 70,000 entries appended in uneven batches, and every file it published."""
    hashes, files, size = MemoryHashes(), {}, 0
    for batch in (1, 4, 250, 1, 1000, 7, 65536, SIZE - 66799):
        result = integrate(size, hashes, [entry(i) for i in range(size, size + batch)], _partial(size))
        hashes.hashes.update(result.stored_hashes)
        files.update(result.files())
        size = result.size
    assert size == SIZE
    return hashes, files


def _partial(size: int) -> list[bytes]:
    return [entry(i) for i in range(size - size % 256, size)]


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(0, 0), "tile/0/000"),
        (Tile(0, 1234067), "tile/0/x001/x234/067"),
        (Tile(1, 1234067, 5), "tile/1/x001/x234/067.p/5"),
        (Tile(ENTRIES, 1000, 255), "tile/entries/x001/000.p/255"),
        (Tile(63, 0, 1), "tile/63/000.p/1"),
    ],
)
def test_paths(tile: Tile, path: str) -> None:
    assert tile_path(tile) == tile.path == path
    if tile.level < 8:
        assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/0",  # not a 3-digit group
        "tile/0/0000",
        "tile/00/000",  # leading zero in the level
        "tile/64/000",  # past level 63
        "tile/8/000.p/1",  # a level no log of fewer than 2**64 entries has
        "tile/0/x000/001",  # a leading zero group
        "tile/0/001/002",  # an x missing
        "tile/0/x001",
        "tile/0/000.p/0",
        "tile/0/000.p/256",  # a full tile has no .p
        "tile/0/000.p/05",
        "tile/0/000.p/",
        "tile/-1/000",
        "tile/data/000",  # Go's name for bundles
        "tile/8/0/000",  # Go's path, with the height
        "/tile/0/000",
        "tile/0/000/",
        "tile/0/000\n",
        "tile/0/٠٠١",  # Arabic-Indic digits: int() reads them
        "tile/0/+01",
        "tile/0/x999/x999/x999/x999/x999/x999/999",  # more tiles than any log has
        "tile/0/" + "x001/" * 50 + "001",
        "tile/entries/000.p/1.p/1",
        "",
    ],
)
def test_non_canonical_paths_are_refused(path: str) -> None:
    with pytest.raises(TilePathError):
        parse_tile_path(path)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="tile/enris0123456789x.p٣\n ", max_size=48) | st.text(max_size=30))
def test_any_path_parses_only_to_its_own_spelling(path: str) -> None:
    try:
        tile = parse_tile_path(path)
    except TilePathError:
        return
    assert tile_path(tile) == path and in_tree(tile, MAX_TREE_SIZE)


@settings(max_examples=300, deadline=None)
@given(st.integers(-1, 7), st.integers(0, 1 << 40), st.integers(1, 256))
def test_every_tile_of_a_log_round_trips(level: int, n: int, width: int) -> None:
    tile = Tile(level, n, width)
    assume(in_tree(tile, MAX_TREE_SIZE))
    assert parse_tile_path(tile_path(tile)) == tile


def test_the_specs_example_tree_of_70000() -> None:
    """273 full level 0 tiles, one partial of 112, one full level 1 tile, one partial of
    17, one partial level 2 tile of 1; and a tree of 256: a full tile and a level 1 of 1."""
    tiles = changed_tiles(0, SIZE)
    assert sum(1 for t in tiles if t.level == 0 and not t.is_partial) == 273
    assert [t for t in tiles if t.is_partial] == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert [t for t in tiles if t.level == 1] == [Tile(1, 0), Tile(1, 1, 17)]
    assert changed_tiles(0, 256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert changed_tiles(256, 256) == []
    assert changed_tiles(255, 300) == [Tile(0, 0), Tile(0, 1, 44), Tile(1, 0, 1)]
    assert changed_tiles(256, 300) == [Tile(0, 1, 44)]  # the level 1 tile of width 1 is unchanged
    assert changed_tiles(0, 300, ENTRIES) == [Tile(ENTRIES, 0), Tile(ENTRIES, 1, 44)]


def test_tiles_hold_the_stored_hashes_of_their_level(published) -> None:
    hashes, files = published
    for tile in changed_tiles(0, SIZE):
        data = files[tile.path]
        assert data == read_tile_data(tile, hashes)
        assert len(data) == 32 * tile.width
        for i in range(0, tile.width, 37):
            expected = mth(((tile.n * 256 + i) << tile.hash_level), ((tile.n * 256 + i + 1) << tile.hash_level))
            assert data[32 * i : 32 * i + 32] == expected  # the spec's MTH(D[(n*256+i)*256**l : …])


def test_every_stored_hash_is_in_its_tile(published) -> None:
    """tile_for_index names the tile a hash is in (or hashed up from), as Go's TileForIndex."""
    hashes, files = published
    for index in [*range(3000), *range(130_000, 139_000, 7)]:
        tile = tile_for_index(index)
        assert tile.level == split_stored_hash_index(index)[0] // 8
        wide = tile_parent(tile, 0, SIZE)
        assert wide is not None and wide.width >= tile.width
        assert hash_from_tile(wide, files[wide.path], index) == hashes.hashes[index]
        with pytest.raises(ValueError):
            hash_from_tile(Tile(wide.level, wide.n + 1), bytes(8192), index)


def test_entry_bundles_hold_the_entries(published) -> None:
    _, files = published
    assert parse_entry_bundle(files["tile/entries/000"], 256) == [entry(i) for i in range(256)]
    assert parse_entry_bundle(files["tile/entries/273.p/112"]) == [entry(i) for i in range(69_888, SIZE)]
    assert encode_entry_bundle([b"", b"ab"]) == b"\x00\x00\x00\x02ab"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"\x00\x05abc", b"\x00\x01a\x00", b"\x00\x00" * 257, b"\x00\x01a\x00\x01b\xff"],
)
def test_malformed_bundles_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_entry_bundle(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_parse_only_as_the_bundle_they_spell(data: bytes) -> None:
    try:
        entries = parse_entry_bundle(data)
    except ValueError:
        return
    assert encode_entry_bundle(entries) == data


def test_proofs_from_tiles_alone(published) -> None:
    hashes, files = published
    root = tree_hash(SIZE, hashes)
    fetched: list[str] = []

    def fetch(tile: Tile) -> bytes:
        fetched.append(tile.path)
        return files[tile.path]

    reader = TileHashReader(SIZE, root, fetch)
    assert tree_hash(SIZE, reader) == root
    for index in (0, 255, 256, 65_535, 69_887, 69_999):
        assert prove_inclusion(index, SIZE, reader) == prove_inclusion(index, SIZE, hashes)
    assert prove_consistency(300, SIZE, reader) == prove_consistency(300, SIZE, hashes)
    assert all(path in files for path in fetched)


def test_a_tile_that_is_not_of_the_tree_is_refused(published) -> None:
    """Every tile read is checked: the partial ones against the root, a full one against its
    parent, including when several of the root's hashes share one tile (tree size 300:
    four subtrees, two tiles), where Go's reader (x/mod 0.7) does not check the child."""
    hashes, files = published
    small_files = dict(files)
    result = integrate(0, MemoryHashes(), [entry(i) for i in range(300)])
    small_files.update(result.files())
    for size, root, tampered in [
        (SIZE, tree_hash(SIZE, hashes), "tile/0/273.p/112"),
        (SIZE, tree_hash(SIZE, hashes), "tile/0/000"),
        (SIZE, tree_hash(SIZE, hashes), "tile/1/000"),
        (300, result.root, "tile/0/000"),
    ]:

        def fetch(tile: Tile, tampered=tampered, size=size) -> bytes:
            data = small_files[tile.path] if size == 300 else files[tile.path]
            return bytes([data[0] ^ 1]) + data[1:] if tile.path == tampered else data

        with pytest.raises(TileError):
            TileHashReader(size, root, fetch).read_hashes([stored_hash_index(0, 5), stored_hash_index(0, size - 1)])
    with pytest.raises(TileError, match="not in the tree"):
        TileHashReader(300, result.root, lambda tile: small_files[tile.path]).read_hashes([stored_hash_index(0, 300)])
    with pytest.raises(TileError, match="bytes"):
        TileHashReader(300, result.root, lambda tile: b"short").read_hashes([0])
