"""Appending batches (receipts/tlog/integrate.py): however a log's entries are cut into
batches, it stores the same hashes, has the same root, and publishes each tile and bundle
of a checkpointed size once, reading few old hashes; a wrong partial bundle is refused."""

import random

import pytest

from receipts.tlog.integrate import integrate
from receipts.tlog.stored import MemoryHashes, stored_hash_count, subtree_indexes
from receipts.tlog.tiles import Tile, changed_tiles, parse_entry_bundle
from tests.tlog.naive import entry, mth


class CountingReader(MemoryHashes):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[int]] = []

    def read_hashes(self, indexes):
        self.calls.append(list(indexes))
        return super().read_hashes(indexes)


def append_in(batches: list[int]) -> tuple[CountingReader, dict[str, bytes], list[int]]:
    store, files, sizes, size = CountingReader(), {}, [], 0
    for count in batches:
        partial = [entry(i) for i in range(size - size % 256, size)]
        result = integrate(size, store, [entry(i) for i in range(size, size + count)], partial)
        assert result.old_size == size and result.size == size + count
        assert result.root == mth(0, result.size)
        assert not set(result.stored_hashes) & set(store.hashes), "a stored hash is written once"
        assert len(store.hashes) + len(result.stored_hashes) == stored_hash_count(result.size)
        assert not set(result.files()) & set(files), "each tile and bundle is written once"
        store.hashes.update(result.stored_hashes)
        files.update(result.files())
        size = result.size
        sizes.append(size)
    return store, files, sizes


def test_any_cut_into_batches_gives_the_same_log() -> None:
    one, one_files, _ = append_in([1000])
    rng = random.Random(9162)
    for _ in range(5):
        cuts = []
        while sum(cuts) < 1000:
            cuts.append(min(rng.choice([0, 1, 2, 7, 255, 256, 257, 300]), 1000 - sum(cuts)))
        store, files, sizes = append_in(cuts)
        assert store.hashes == one.hashes
        full = {path: data for path, data in files.items() if ".p/" not in path}
        assert full == {path: data for path, data in one_files.items() if ".p/" not in path}
        for size in sizes:  # each checkpointed size has its partial tiles published
            for tile in changed_tiles(0, size):
                assert tile.path in files


def test_a_batch_reads_few_old_hashes_in_few_calls() -> None:
    store, _, _ = append_in([5000])
    store.calls.clear()
    result = integrate(5000, store, [entry(i) for i in range(5000, 5100)], [entry(i) for i in range(4864, 5000)])
    read = [index for call in store.calls for index in call]
    assert len(store.calls) <= 2 + len(result.tiles)  # the old frontier, the partial tiles
    assert len(read) == len(set(read)) and len(read) <= len(subtree_indexes(0, 5000)) + 256 + 19


def test_the_partial_bundle_is_rewritten_wider() -> None:
    _, files, _ = append_in([3, 2])
    assert parse_entry_bundle(files["tile/entries/000.p/5"]) == [entry(i) for i in range(5)]
    assert "tile/entries/000.p/3" in files and "tile/0/000.p/3" in files


def test_a_wrong_partial_bundle_is_refused() -> None:
    store, _, _ = append_in([10])
    with pytest.raises(ValueError, match="holds 10"):
        integrate(10, store, [entry(10)], [entry(i) for i in range(9)])
    with pytest.raises(ValueError, match="is not entry 3"):
        integrate(10, store, [entry(10)], [entry(i) if i != 3 else b"forged" for i in range(10)])
    with pytest.raises(ValueError, match="at most"):
        integrate(10, store, [b"x" * 70_000], [entry(i) for i in range(10)])


def test_an_empty_batch_changes_nothing() -> None:
    store, _, _ = append_in([300])
    result = integrate(300, store, [], [entry(i) for i in range(256, 300)])
    assert (result.size, result.stored_hashes, result.files()) == (300, {}, {})
    assert result.root == mth(0, 300)
    assert Tile(0, 1, 44) not in result.tiles
