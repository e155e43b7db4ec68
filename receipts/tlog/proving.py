"""Making Merkle proofs from stored hashes (RFC 6962 section 2.1.1 audit paths and 2.1.2
consistency proofs), as Go's sumdb/tlog ProveRecord and ProveTree do: first the stored
indexes a proof needs, read in one call, then the proof folded from them.

A proof for a tree of n leaves reads at most about 2 log2(n) hashes, whatever n; the
reader may be the sequencer's database or the published tiles (receipts.tlog.tile_reader).
"""

from collections.abc import Sequence

from receipts.tlog.hashing import largest_power_of_two_below
from receipts.tlog.stored import HashReader, fold_subtree, read_checked, subtree_indexes


def _inclusion_indexes(lo: int, hi: int, n: int) -> list[int]:
    """The stored indexes of the audit path of leaf n in the subtree of leaves [lo, hi)."""
    if lo + 1 == hi:
        return []
    k = largest_power_of_two_below(hi - lo)
    if n < lo + k:
        return _inclusion_indexes(lo, lo + k, n) + subtree_indexes(lo + k, hi)
    return subtree_indexes(lo, lo + k) + _inclusion_indexes(lo + k, hi, n)


def _inclusion_path(lo: int, hi: int, n: int, hashes: Sequence[bytes]) -> tuple[list[bytes], Sequence[bytes]]:
    """The audit path of leaf n in [lo, hi), leaf's sibling first, from the hashes
    _inclusion_indexes named; and the hashes left over."""
    if lo + 1 == hi:
        return [], hashes
    k = largest_power_of_two_below(hi - lo)
    if n < lo + k:
        path, hashes = _inclusion_path(lo, lo + k, n, hashes)
        sibling, hashes = fold_subtree(lo + k, hi, hashes)
    else:
        sibling, hashes = fold_subtree(lo, lo + k, hashes)
        path, hashes = _inclusion_path(lo + k, hi, n, hashes)
    return [*path, sibling], hashes


def inclusion_indexes(index: int, size: int) -> list[int]:
    """The stored indexes the inclusion proof of leaf `index` in the tree of `size` leaves
    reads: for a caller that reads the hashes of many proofs at once (in one tile read)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of {size} leaves")
    return _inclusion_indexes(0, size, index)


def prove_inclusion(index: int, size: int, reader: HashReader) -> list[bytes]:
    """The inclusion proof (audit path) of leaf `index` in the tree of the first `size`
    leaves, checked by receipts.tlog.proofs.verify_inclusion."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of {size} leaves")
    hashes = read_checked(reader, _inclusion_indexes(0, size, index))
    path, rest = _inclusion_path(0, size, index, hashes)
    assert not rest, "every hash read is on the path"
    return path


def _consistency_indexes(lo: int, hi: int, n: int) -> list[int]:
    """The stored indexes of the consistency proof from n leaves, within the subtree [lo, hi)."""
    if n == hi:
        return [] if lo == 0 else subtree_indexes(lo, hi)
    k = largest_power_of_two_below(hi - lo)
    if n <= lo + k:
        return _consistency_indexes(lo, lo + k, n) + subtree_indexes(lo + k, hi)
    return subtree_indexes(lo, lo + k) + _consistency_indexes(lo + k, hi, n)


def _consistency_path(lo: int, hi: int, n: int, hashes: Sequence[bytes]) -> tuple[list[bytes], Sequence[bytes]]:
    """RFC 6962's SUBPROOF(n, D[lo:hi], lo == 0) from the hashes _consistency_indexes named."""
    if n == hi:
        if lo == 0:
            return [], hashes  # the old tree itself: the verifier holds its root
        node, hashes = fold_subtree(lo, hi, hashes)
        return [node], hashes
    k = largest_power_of_two_below(hi - lo)
    if n <= lo + k:
        path, hashes = _consistency_path(lo, lo + k, n, hashes)
        node, hashes = fold_subtree(lo + k, hi, hashes)
    else:
        node, hashes = fold_subtree(lo, lo + k, hashes)
        path, hashes = _consistency_path(lo + k, hi, n, hashes)
    return [*path, node], hashes


def prove_consistency(size1: int, size2: int, reader: HashReader) -> list[bytes]:
    """The consistency proof that the tree of `size2` leaves extends the tree of `size1`,
    checked by receipts.tlog.proofs.verify_consistency; empty when size1 is 0 or size2."""
    if size1 < 0 or size2 < size1:
        raise ValueError(f"a tree of {size2} leaves cannot extend one of {size1}")
    if size1 == 0 or size1 == size2:
        return []
    hashes = read_checked(reader, _consistency_indexes(0, size2, size1))
    path, rest = _consistency_path(0, size2, size1, hashes)
    assert not rest, "every hash read is in the proof"
    return path
