"""Stored hashes: every node of the tree that a log keeps, in one dense numbering, as Go's
golang.org/x/mod/sumdb/tlog lays them out (Crosby and Wallach, "Efficient Data Structures for
Tamper-Evident Logging", section 3.3).

Appending leaf n stores its leaf hash and the hash of every perfect subtree that leaf
completes, consecutively from `stored_hash_index(0, n)`: under two hashes per leaf on
average, each written once and never changed. Any root, proof or tile is computed from
at most a few dozen of them, read through a `HashReader`; nothing here rebuilds a tree from
its leaves.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from receipts.tlog.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash


class HashReader(Protocol):
    """Where stored hashes come from (a database, tiles, a dict): the hash at each stored
    index asked for, in order. A missing index is an error, never a hash left out."""

    def read_hashes(self, indexes: Sequence[int]) -> Sequence[bytes]: ...


class HashReadError(LookupError):
    """A reader answered with the wrong number of hashes, or something that is not one."""


class MemoryHashes:
    """Stored hashes in a dict: a HashReader for tests, tools and a batch being integrated."""

    def __init__(self, hashes: Mapping[int, bytes] | None = None) -> None:
        self.hashes: dict[int, bytes] = dict(hashes or {})

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        try:
            return [self.hashes[index] for index in indexes]
        except KeyError as missing:
            raise HashReadError(f"no stored hash at index {missing.args[0]}") from None

    def append(self, entries: Iterable[bytes]) -> None:
        """Store the hashes of these entries appended after the ones held (a contiguous log)."""
        size = tree_size_of(len(self.hashes))
        for n, entry in enumerate(entries, start=size):
            start = stored_hash_index(0, n)
            for offset, value in enumerate(stored_hashes(n, leaf_hash(entry), self)):
                self.hashes[start + offset] = value


def read_checked(reader: HashReader, indexes: Sequence[int]) -> list[bytes]:
    """reader.read_hashes(indexes), refused unless it is one 32-byte hash per index."""
    if not indexes:
        return []
    hashes = list(reader.read_hashes(indexes))
    if len(hashes) != len(indexes):
        raise HashReadError(f"asked for {len(indexes)} stored hashes, got {len(hashes)}")
    for index, value in zip(indexes, hashes, strict=True):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise HashReadError(f"stored hash {index} is not {HASH_SIZE} bytes")
    return hashes


def stored_hash_index(level: int, n: int) -> int:
    """Where the n-th hash of `level` is stored (level 0: leaf hashes; level k: perfect
    subtrees of 2**k leaves). It follows the hash of leaf ((n + 1) << level) - 1, which
    completes it, and the hashes that leaf completed below it."""
    if level < 0 or n < 0:
        raise ValueError(f"no stored hash at level {level}, number {n}")
    last_leaf = ((n + 1) << level) - 1
    # Leaf m is stored after the m + m/2 + m/4 + … hashes before it, which is 2m - popcount(m).
    return 2 * last_leaf - last_leaf.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """(level, n) of a stored index: the inverse of stored_hash_index."""
    if index < 0:
        raise ValueError(f"no stored hash at index {index}")
    n = index // 2  # stored_hash_index(0, n) < 2n, so the leaf that stored `index` is ≥ index/2
    start = stored_hash_index(0, n)
    while True:
        following = start + 1 + ((n + 1) & -(n + 1)).bit_length() - 1  # leaf n stores 1 + trailing ones
        if following > index:
            break
        n, start = n + 1, following
    level = index - start
    return level, n >> level


def stored_hash_count(size: int) -> int:
    """How many hashes a log of `size` leaves has stored."""
    if size == 0:
        return 0
    last = size - 1
    trailing_ones = ((last + 1) & -(last + 1)).bit_length() - 1
    return stored_hash_index(0, last) + 1 + trailing_ones


def tree_size_of(count: int) -> int:
    """The size of the log that has stored exactly `count` hashes (ValueError if none has)."""
    size = count // 2  # every leaf stores at least one hash and fewer than two on average
    while stored_hash_count(size) < count:
        size += 1
    if stored_hash_count(size) != count:
        raise ValueError(f"{count} stored hashes is not a whole log")
    return size


def stored_hashes(n: int, record_hash: bytes, reader: HashReader) -> list[bytes]:
    """The hashes to store, from stored_hash_index(0, n) on, when appending leaf n with this
    leaf hash: itself, then one per perfect subtree it completes (one per trailing 1 bit
    of n), each needing the stored hash of its left sibling, read from `reader`."""
    completed = ((n + 1) & -(n + 1)).bit_length() - 1
    siblings = [stored_hash_index(level, (n >> level) - 1) for level in reversed(range(completed))]
    old = read_checked(reader, siblings)
    hashes = [record_hash]
    for level in range(completed):
        hashes.append(node_hash(old[completed - 1 - level], hashes[-1]))
    return hashes


def _largest_power_of_two_at_most(n: int) -> int:
    return 1 << (n.bit_length() - 1)


def subtree_indexes(lo: int, hi: int) -> list[int]:
    """The stored indexes whose hashes make the hash of leaves [lo, hi): the perfect subtrees
    it splits into, left to right (lo must be aligned to the first of them)."""
    need = []
    while lo < hi:
        k = _largest_power_of_two_at_most(hi - lo)
        if lo & (k - 1):
            raise ValueError(f"[{lo}, {hi}) is not a subtree of an RFC 6962 tree")
        level = k.bit_length() - 1
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def subtree_count(lo: int, hi: int) -> int:
    """len(subtree_indexes(lo, hi)), without computing them."""
    count = 0
    while lo < hi:
        lo += _largest_power_of_two_at_most(hi - lo)
        count += 1
    return count


def fold_subtree(lo: int, hi: int, hashes: Sequence[bytes]) -> tuple[bytes, Sequence[bytes]]:
    """The hash of leaves [lo, hi) from the hashes subtree_indexes(lo, hi) named (at the
    front of `hashes`), and the hashes left over."""
    count = subtree_count(lo, hi)
    if count == 0 or len(hashes) < count:
        raise ValueError(f"need {count} hashes for [{lo}, {hi}), have {len(hashes)}")
    value = hashes[count - 1]
    for i in range(count - 2, -1, -1):
        value = node_hash(hashes[i], value)
    return value, hashes[count:]


def tree_hash(size: int, reader: HashReader) -> bytes:
    """The root of the log's first `size` leaves, from at most 1 + log2(size) stored hashes
    read in one call. The empty tree's root is SHA-256 of nothing (RFC 9162; Go's tlog
    answers all zeros)."""
    if size < 0:
        raise ValueError(f"no tree has {size} leaves")
    if size == 0:
        return EMPTY_ROOT
    root, _ = fold_subtree(0, size, read_checked(reader, subtree_indexes(0, size)))
    return root
