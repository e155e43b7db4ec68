"""tlog-proof files (receipts/tlog/tlog_proof.py): the spec's example parses, our proofs
spell one way, hostile text fails as TlogProofError, and verifying names the step that failed."""

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receipts.tlog.checkpoints import Checkpoint, CheckpointError, sign_checkpoint
from receipts.tlog.cosignatures import CosignatureSigner, QuorumError
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.note_keys import COSIGNATURE_V1, NoteSigner, generate_key
from receipts.tlog.notes import UnverifiedNote, with_signature_lines
from receipts.tlog.proofs import InclusionProofError
from receipts.tlog.proving import prove_inclusion
from receipts.tlog.stored import MemoryHashes, tree_hash
from receipts.tlog.tlog_proof import TlogProof, TlogProofError, parse_tlog_proof, verify_tlog_proof
from tests.tlog.naive import entry

SPEC = b"""c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\xe2\x80\x94 example.com/fancylog hI2DJw==
"""
ORIGIN = "billing.example/log"
LOG = NoteSigner(generate_key(ORIGIN))
WITNESS = CosignatureSigner(generate_key("w1.example", COSIGNATURE_V1), clock=lambda: 1767225600)


def test_the_specs_example_parses_and_spells_back() -> None:
    proof = parse_tlog_proof(SPEC)
    assert proof.index == 73894 and proof.extra == b"age-v1.2.1-darwin-arm64.tar.gz"
    assert [base64.b64encode(h).decode()[:6] for h in proof.hashes] == ["gSKyXo", "B95lDa"]
    assert proof.checkpoint.startswith(b"example.com/fancylog\n109482\n")
    assert proof.text() == SPEC
    without_extra = SPEC.replace(b"extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n", b"")
    assert parse_tlog_proof(without_extra).extra is None and parse_tlog_proof(without_extra).text() == without_extra


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.replace(b"@v1", b"@v2"),
        lambda p: p.replace(b"index 73894", b"index 073894"),
        lambda p: p.replace(b"index 73894", b"index  73894"),
        lambda p: p.replace(b"index 73894", b"index -1"),
        lambda p: p.replace(b"index 73894", b"index 18446744073709551616"),
        lambda p: p.replace(b"index 73894\n", b""),
        lambda p: p.replace(b"extra ", b"extra  "),
        lambda p: p.replace(b"\nextra", b"\nindex 1\nextra"),  # out of order
        lambda p: p.replace(b"PlQ=", b"PlQ"),  # unpadded
        lambda p: p.replace(b"gSKyXoYZ", b"AgSKyXoYZ"),  # not 32 bytes
        lambda p: p.replace(b"\n\nexample.com", b"\nexample.com"),  # no empty line
        lambda p: p.split(b"\n\n")[0] + b"\n\n",  # no checkpoint
        lambda p: p.replace(b"index", "índex".encode()),
        lambda p: p.replace(b"=\n\n", b"=\n" + b"gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n" * 65 + b"\n"),
        lambda p: p + b"x" * 300_000,
    ],
)
def test_malformed_proofs_are_refused(mutate) -> None:
    with pytest.raises(TlogProofError):
        parse_tlog_proof(mutate(SPEC))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_only_as_the_proof_they_spell(data: bytes) -> None:
    for candidate in (data, b"c2sp.org/tlog-proof@v1\nindex 3\n" + data):
        try:
            proof = parse_tlog_proof(candidate)
        except TlogProofError:
            continue
        assert proof.text() == candidate


@pytest.fixture(scope="module")
def receipt_proof() -> TlogProof:
    log = MemoryHashes()
    log.append(entry(i) for i in range(21))
    checkpoint = Checkpoint(ORIGIN, 21, tree_hash(21, log))
    note = sign_checkpoint(checkpoint, [LOG])
    cosigned = with_signature_lines(note, WITNESS.cosign(checkpoint.text, 1767225600).line.encode())
    return TlogProof(13, tuple(prove_inclusion(13, 21, log)), cosigned)


def test_a_receipts_proof_verifies_offline(receipt_proof: TlogProof) -> None:
    parsed = parse_tlog_proof(receipt_proof.text())
    assert parsed == receipt_proof
    witnessed = verify_tlog_proof(parsed, entry(13), ORIGIN, [LOG.verifier], [WITNESS.verifier], 1)
    assert witnessed.checkpoint.size == 21 and witnessed.cosigned_by == {"w1.example": 1767225600}
    assert leaf_hash(entry(13)) != leaf_hash(entry(12))


def test_each_failing_step_is_named(receipt_proof: TlogProof) -> None:
    with pytest.raises(InclusionProofError):
        verify_tlog_proof(receipt_proof, entry(12), ORIGIN, [LOG.verifier])
    with pytest.raises(CheckpointError, match="not of"):
        verify_tlog_proof(receipt_proof, entry(13), "other.example/log", [LOG.verifier])
    with pytest.raises(UnverifiedNote):
        verify_tlog_proof(receipt_proof, entry(13), ORIGIN, [NoteSigner(generate_key(ORIGIN)).verifier])
    other_witness = CosignatureSigner(generate_key("w2.example", COSIGNATURE_V1))
    with pytest.raises(QuorumError):
        verify_tlog_proof(receipt_proof, entry(13), ORIGIN, [LOG.verifier], [other_witness.verifier], 1)
