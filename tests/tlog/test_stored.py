"""Stored hashes (receipts/tlog/stored.py): the numbering is Go's, every root equals the
RFC 6962 tree hash, and a reader that answers wrongly is refused."""

import pytest

from receipts.tlog.hashing import EMPTY_ROOT, HASH_SIZE, largest_power_of_two_below, leaf_hash, node_hash
from receipts.tlog.stored import (
    HashReadError,
    MemoryHashes,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    stored_hashes,
    tree_hash,
    tree_size_of,
)
from tests.tlog.naive import entry, mth


def go_stored_hash_index(level: int, n: int) -> int:
    """Go's StoredHashIndex, loop for loop."""
    for _ in range(level):
        n = 2 * n + 1
    i = 0
    while n > 0:
        i += n
        n >>= 1
    return i + level


@pytest.fixture(scope="module")
def log() -> MemoryHashes:
    hashes = MemoryHashes()
    hashes.append(entry(i) for i in range(600))
    return hashes


def test_hashes_are_rfc_6962() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert node_hash(b"l" * 32, b"r" * 32) != node_hash(b"r" * 32, b"l" * 32)
    assert len(leaf_hash(b"x")) == HASH_SIZE


def test_split_points() -> None:
    assert [largest_power_of_two_below(n) for n in (2, 3, 4, 5, 8, 9)] == [1, 2, 2, 4, 4, 8]
    with pytest.raises(ValueError):
        largest_power_of_two_below(1)


def test_the_numbering_is_gos_and_splits_back() -> None:
    for level in range(12):
        for n in range(300):
            assert stored_hash_index(level, n) == go_stored_hash_index(level, n)
    for index in range(5000):
        assert stored_hash_index(*split_stored_hash_index(index)) == index
    assert stored_hash_index(3, 1 << 59) == go_stored_hash_index(3, 1 << 59)  # no overflow, no float


def test_counts_match_what_appending_stores(log: MemoryHashes) -> None:
    counted = MemoryHashes()
    for size in range(1, 600):
        counted.append([entry(size - 1)])
        assert stored_hash_count(size) == len(counted.hashes)
        assert tree_size_of(len(counted.hashes)) == size
    for count in (2, 5, 6):  # logs of 1, 2, 3, 4 leaves store 1, 3, 4, 7 hashes
        with pytest.raises(ValueError):
            tree_size_of(count)
    assert counted.hashes == {i: log.hashes[i] for i in counted.hashes}


def test_every_root_is_the_tree_hash(log: MemoryHashes) -> None:
    assert tree_hash(0, log) == EMPTY_ROOT
    for size in range(1, 601):
        assert tree_hash(size, log) == mth(0, size)


def test_a_reader_that_answers_wrongly_is_refused(log: MemoryHashes) -> None:
    class Short:
        def read_hashes(self, indexes):
            return log.read_hashes(indexes)[:-1]

    class NotHashes:
        def read_hashes(self, indexes):
            return [b"short"] * len(indexes)

    for reader in (Short(), NotHashes(), MemoryHashes()):
        with pytest.raises(HashReadError):
            tree_hash(7, reader)
    with pytest.raises(HashReadError):
        stored_hashes(7, leaf_hash(entry(7)), Short())
