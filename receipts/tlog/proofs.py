"""Checking Merkle proofs: the verification algorithms of RFC 9162 sections 2.1.3.2
(inclusion) and 2.1.4.2 (consistency), written as the RFC states them.

Both take what a client holds (hashes, sizes, a proof it was handed) and trust none of it:
a failure raises a named error whose `reason` says which rule broke, for the site, the CLI
and the witness to show as it is. They never read the log: a proof that needs the log to
be checked is no proof.
"""

from collections.abc import Sequence

from receipts.tlog.hashing import EMPTY_ROOT, HASH_SIZE, node_hash

MAX_PROOF_HASHES = 64  # a tree of fewer than 2**64 leaves needs no more, for either proof


class ProofError(ValueError):
    """A proof that does not prove what it claims; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InclusionProofError(ProofError):
    """The leaf is not shown to be at that index of the tree with that root."""


class ConsistencyProofError(ProofError):
    """The larger tree is not shown to extend the smaller one."""


def _check_hashes(path: Sequence[bytes], error: type[ProofError]) -> None:
    if len(path) > MAX_PROOF_HASHES:
        raise error(f"the proof has {len(path)} hashes; no tree needs more than {MAX_PROOF_HASHES}")
    for position, value in enumerate(path):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise error(f"proof hash {position} is not a {HASH_SIZE}-byte hash")


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift fn and sn together until fn is odd or zero (RFC 9162's 'right-shift
    both equally'): climbing past levels where our node is a right child's lone left."""
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def inclusion_root(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root that `path` proves leaf hash `leaf` at `index` to be under, in a tree of
    `size` leaves (RFC 9162 section 2.1.3.2, steps 1 to 4 and the sn check of step 5)."""
    if not 0 <= index < size:
        raise InclusionProofError(f"index {index} is not in a tree of {size} leaves")
    if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
        raise InclusionProofError(f"the leaf hash is not {HASH_SIZE} bytes")
    _check_hashes(path, InclusionProofError)
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise InclusionProofError(f"the proof is longer than a tree of {size} leaves needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InclusionProofError(f"the proof is shorter than a tree of {size} leaves needs")
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> None:
    """Raise InclusionProofError unless `path` proves leaf hash `leaf` is the index-th leaf
    of the tree of `size` leaves whose root is `root`."""
    if inclusion_root(leaf, index, size, path) != root:
        raise InclusionProofError(f"the proof does not lead to the root of the tree of {size} leaves")


def verify_consistency(size1: int, size2: int, path: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Raise ConsistencyProofError unless `path` proves the tree of `size2` leaves with
    root `root2` extends the tree of `size1` leaves with root `root1`.

    Equal sizes need no proof, only equal roots. Every tree extends the empty one, whose
    root is SHA-256 of nothing: no proof either, and any other root1 for it is refused.
    """
    if size1 < 0 or size2 < size1:
        raise ConsistencyProofError(f"a tree of {size2} leaves cannot extend one of {size1}")
    _check_hashes(path, ConsistencyProofError)
    if size1 == 0:
        if path:
            raise ConsistencyProofError("the empty tree needs no consistency proof, and one was given")
        if root1 != EMPTY_ROOT:
            raise ConsistencyProofError("the root of the empty tree is SHA-256 of nothing, not root1")
        if size2 == 0 and root2 != EMPTY_ROOT:
            raise ConsistencyProofError("two different roots for the empty tree")
        if not (isinstance(root2, bytes) and len(root2) == HASH_SIZE):
            raise ConsistencyProofError(f"root2 is not a {HASH_SIZE}-byte hash")
        return
    if size1 == size2:
        if path:
            raise ConsistencyProofError("trees of one size need no consistency proof, and one was given")
        if root1 != root2:
            raise ConsistencyProofError(f"two different roots for the tree of {size1} leaves")
        return
    _run_consistency(size1, size2, path, root1, root2)


def _run_consistency(size1: int, size2: int, path: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 section 2.1.4.2 for 0 < size1 < size2."""
    if not path:
        raise ConsistencyProofError(f"no proof given from {size1} to {size2} leaves")
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: the old root is a node of the new tree
        path = [root1, *path]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(f"the proof is longer than {size1} to {size2} leaves needs")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ConsistencyProofError(f"the proof is shorter than {size1} to {size2} leaves needs")
    if fr != root1:
        raise ConsistencyProofError(f"the proof does not lead to root1, of the tree of {size1} leaves")
    if sr != root2:
        raise ConsistencyProofError(f"the proof does not lead to root2, of the tree of {size2} leaves")
