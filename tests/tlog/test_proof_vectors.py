"""The RFC 6962 proof vectors of transparency-dev/merkle (../shared/vectors/rfc6962, copied
into tests/vectors/rfc6962): every happy path verifies, every mutation is refused, and
our proofs for the vectors' tree are the vectors' proofs."""

import base64
import json
from pathlib import Path

import pytest

from receipts.tlog.hashing import leaf_hash
from receipts.tlog.proofs import ConsistencyProofError, InclusionProofError, verify_consistency, verify_inclusion
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.stored import MemoryHashes, tree_hash

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc6962"
LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def cases(kind: str) -> list[Path]:
    found = sorted((VECTORS / kind).rglob("*.json"))
    assert len(found) > 50, f"the {kind} vectors are missing from {VECTORS}"
    return found


@pytest.mark.parametrize("path", cases("inclusion"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    arguments = (b64(case["leafHash"]), case["leafIdx"], case["treeSize"], [b64(h) for h in case["proof"] or []])
    if case["wantErr"]:
        with pytest.raises(InclusionProofError):
            verify_inclusion(*arguments, b64(case["root"]))
    else:
        verify_inclusion(*arguments, b64(case["root"]))


@pytest.mark.parametrize("path", cases("consistency"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    arguments = (case["size1"], case["size2"], [b64(h) for h in case["proof"] or []], b64(case["root1"]))
    if case["wantErr"]:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(*arguments, b64(case["root2"]))
    else:
        verify_consistency(*arguments, b64(case["root2"]))


def test_our_proofs_are_the_vectors_proofs() -> None:
    log = MemoryHashes()
    log.append(bytes.fromhex(leaf) for leaf in LEAVES)
    assert tree_hash(8, log).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    for path in cases("inclusion"):
        case = json.loads(path.read_text())
        if path.stem == "happy-path" and case["treeSize"] <= 8:
            assert prove_inclusion(case["leafIdx"], case["treeSize"], log) == [b64(h) for h in case["proof"] or []]
            assert leaf_hash(bytes.fromhex(LEAVES[case["leafIdx"]])) == b64(case["leafHash"])
    for path in cases("consistency"):
        case = json.loads(path.read_text())
        if path.stem == "happy-path":
            assert prove_consistency(case["size1"], case["size2"], log) == [b64(h) for h in case["proof"] or []]
