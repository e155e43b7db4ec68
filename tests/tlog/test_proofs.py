"""Proofs (receipts/tlog/proving.py, proofs.py) against RFC 6962 computed the obvious way
(tests/tlog/naive.py), for every tree of up to 300 leaves: every inclusion proof of every
leaf and every consistency proof between two sizes is the RFC's, verifies, and stops
verifying when anything about it changes."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.proofs import (
    MAX_PROOF_HASHES,
    ConsistencyProofError,
    InclusionProofError,
    ProofError,
    verify_consistency,
    verify_inclusion,
)
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.stored import MemoryHashes
from tests.tlog.naive import entry, mth, path, proof

LARGEST = 300


@pytest.fixture(scope="module")
def log() -> MemoryHashes:
    hashes = MemoryHashes()
    hashes.append(entry(i) for i in range(LARGEST))
    return hashes


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_every_inclusion_proof_up_to_300_leaves(log: MemoryHashes) -> None:
    for size in range(1, LARGEST + 1):
        root = mth(0, size)
        for index in range(size):
            made = prove_inclusion(index, size, log)
            assert made == path(index, 0, size)
            verify_inclusion(mth(index, index + 1), index, size, made, root)


def test_every_consistency_proof_up_to_300_leaves(log: MemoryHashes) -> None:
    for size2 in range(1, LARGEST + 1):
        root2 = mth(0, size2)
        for size1 in range(0, size2 + 1):
            made = prove_consistency(size1, size2, log)
            assert made == ([] if size1 == 0 else proof(size1, size2))
            verify_consistency(size1, size2, made, mth(0, size1), root2)


def test_tampered_proofs_are_refused(log: MemoryHashes) -> None:
    """Sampled: a flipped hash, another index, a hash more or less, another root. (Another
    size alone can keep an inclusion proof valid for the same root: the checkpoint binds
    the size to the root, which the vectors' size mutations show.)"""
    rng = random.Random(6962)
    for _ in range(1500):
        size = rng.randint(2, LARGEST)
        index = rng.randrange(size)
        made, root, leaf = prove_inclusion(index, size, log), mth(0, size), mth(index, index + 1)
        wrong = [
            (leaf, index, size, [flipped(made[0]), *made[1:]], root),
            (leaf, index ^ 1 if index ^ 1 < size else index - 1, size, made, root),
            (leaf, index, size, [*made, made[0]], root),
            (leaf, index, size, made[:-1], root),
            (leaf, index, size, made, flipped(root)),
            (flipped(leaf), index, size, made, root),
        ]
        for arguments in wrong:
            with pytest.raises(InclusionProofError):
                verify_inclusion(*arguments)
        size1 = rng.randint(1, size - 1)
        made, root1 = prove_consistency(size1, size, log), mth(0, size1)
        for arguments in [
            (size1, size, [flipped(made[0]), *made[1:]], root1, root),
            (size1, size, made[:-1], root1, root),
            (size1, size, [*made, made[-1]], root1, root),
            (size1, size, made, flipped(root1), root),
            (size1, size, made, root1, flipped(root)),
            (size1 + 1, size, made, root1, root),
            (size1, size, made, root, root1),
        ]:
            with pytest.raises(ConsistencyProofError):
                verify_consistency(*arguments)


def test_edges() -> None:
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 5, [], EMPTY_ROOT, mth(0, 5))
    with pytest.raises(ConsistencyProofError, match="needs no consistency proof"):
        verify_consistency(0, 5, [EMPTY_ROOT], EMPTY_ROOT, mth(0, 5))
    with pytest.raises(ConsistencyProofError, match="cannot extend"):
        verify_consistency(5, 4, [], mth(0, 5), mth(0, 4))
    with pytest.raises(InclusionProofError, match="not in a tree"):
        verify_inclusion(mth(0, 1), 0, 0, [], EMPTY_ROOT)
    with pytest.raises(InclusionProofError, match="no tree needs more"):
        verify_inclusion(mth(0, 1), 0, 1, [EMPTY_ROOT] * (MAX_PROOF_HASHES + 1), EMPTY_ROOT)
    with pytest.raises(ValueError):
        prove_inclusion(3, 3, MemoryHashes())
    with pytest.raises(ValueError):
        prove_consistency(4, 3, MemoryHashes())


def test_huge_trees_need_no_storage_to_be_checked() -> None:
    """A 2**63-leaf claim with a 63-hash path runs the algorithm, no more (no recursion, no memory)."""
    with pytest.raises(InclusionProofError, match="does not lead to the root"):
        verify_inclusion(mth(0, 1), (1 << 63) - 1, 1 << 63, [EMPTY_ROOT] * 63, EMPTY_ROOT)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=-2, max_value=1 << 65),
    st.integers(min_value=-2, max_value=1 << 65),
    st.lists(st.binary(min_size=0, max_size=40), max_size=70),
    st.binary(max_size=40),
    st.binary(max_size=40),
)
def test_hostile_arguments_only_ever_fail_as_proof_errors(size1, size2, hashes, root1, root2) -> None:
    for check in (
        lambda: verify_consistency(size1, size2, hashes, root1, root2),
        lambda: verify_inclusion(root1, size1, size2, hashes, root2),
    ):
        try:
            check()
        except ProofError as error:
            assert error.reason
