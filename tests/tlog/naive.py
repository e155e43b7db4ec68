"""RFC 6962 section 2.1 as written: the Merkle tree hash, audit paths and consistency
proofs computed from the leaves, the obvious way the tests compare against (subtree
hashes memoized, so every size up to a few hundred stays quick)."""

import hashlib
from functools import cache

from receipts.tlog.hashing import EMPTY_ROOT, leaf_hash, node_hash


def entry(i: int) -> bytes:
    """The i-th test entry: 32 bytes, like a receipt hash."""
    return hashlib.sha256(f"receipt {i}".encode()).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) of the test entries."""
    if hi == lo:
        return EMPTY_ROOT
    if hi - lo == 1:
        return leaf_hash(entry(lo))
    k = split(hi - lo)
    return node_hash(mth(lo, lo + k), mth(lo + k, hi))


def path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]), m relative to lo."""
    if hi - lo == 1:
        return []
    k = split(hi - lo)
    if m < k:
        return [*path(m, lo, lo + k), mth(lo + k, hi)]
    return [*path(m - k, lo + k, hi), mth(lo, lo + k)]


def proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[0:n]) for 0 < m <= n."""
    return _subproof(m, 0, n, True)


def _subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
    if m == hi - lo:
        return [] if complete else [mth(lo, hi)]
    k = split(hi - lo)
    if m <= k:
        return [*_subproof(m, lo, lo + k, complete), mth(lo + k, hi)]
    return [*_subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]
