"""Cosignatures (receipts/tlog/cosignatures.py): the signed message is the spec's, the
signature line carries the time, and a checkpoint is trusted only with its log's
signature and a quorum of known witnesses."""

import base64
import hashlib

import pytest

from receipts.tlog.checkpoints import Checkpoint, CheckpointError, sign_checkpoint
from receipts.tlog.cosignatures import (
    CosignatureSigner,
    CosignatureVerifier,
    QuorumError,
    cosignature_time,
    cosigned_message,
    open_witnessed_checkpoint,
)
from receipts.tlog.note_keys import COSIGNATURE_V1, ED25519, NoteKeyError, NoteSigner, PublicKey, generate_key
from receipts.tlog.notes import InvalidSignature, UnverifiedNote, with_signature_lines

ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
CHECKPOINT = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
LOG = NoteSigner(generate_key("example.com/behind-the-sofa"))


def witness(name: str, now: int = 1679315147) -> CosignatureSigner:
    return CosignatureSigner(generate_key(name, COSIGNATURE_V1), clock=lambda: now)


def test_the_signed_message_is_the_specs() -> None:
    assert cosigned_message(CHECKPOINT.text, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_a_cosignature_line() -> None:
    signer = witness("witness.example/w1")
    signature = signer.cosign(CHECKPOINT.text, 1679315147)
    raw = base64.b64decode(signature.line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    name, public = signer.name, signer.key.public.public_key
    assert raw[:4] == hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert int.from_bytes(raw[4:12], "big") == 1679315147 == cosignature_time(signature)
    assert signer.verifier.verify(CHECKPOINT.text.encode(), raw[4:])
    assert not signer.verifier.verify(CHECKPOINT.text.encode() + b"x", raw[4:])
    later = (1679315148).to_bytes(8, "big") + raw[12:]
    assert not signer.verifier.verify(CHECKPOINT.text.encode(), later)  # the time is signed
    vkey_name, vkey_id, material = signer.vkey.split("+", 2)
    assert (vkey_name, vkey_id, base64.b64decode(material)) == (name, raw[:4].hex(), b"\x04" + public)
    with pytest.raises(ValueError):
        signer.cosign(CHECKPOINT.text, 0)


def test_witness_vkeys() -> None:
    signer = witness("witness.example/w1")
    assert CosignatureVerifier.from_vkey(signer.vkey) == signer.verifier
    as_ed25519 = PublicKey(signer.name, ED25519, signer.key.public.public_key).vkey
    assert CosignatureVerifier.from_vkey(as_ed25519) == signer.verifier  # transparency-dev's form
    with pytest.raises(NoteKeyError):
        CosignatureSigner(generate_key("w", ED25519))


def test_a_quorum_of_witnesses() -> None:
    w1, w2, w3 = witness("w1.example"), witness("w2.example", 1700000000), witness("w3.example")
    note = sign_checkpoint(CHECKPOINT, [LOG])
    lines = b"".join(w.cosign(CHECKPOINT.text, int(w.clock())).line.encode() for w in (w1, w2))
    cosigned = with_signature_lines(note, lines)
    verifiers = [w1.verifier, w2.verifier, w3.verifier]
    witnessed = open_witnessed_checkpoint(cosigned, [LOG.verifier], verifiers, 2, CHECKPOINT.origin)
    assert witnessed.checkpoint == CHECKPOINT
    assert witnessed.cosigned_by == {"w1.example": 1679315147, "w2.example": 1700000000}
    with pytest.raises(QuorumError, match="2 of the trusted witnesses"):
        open_witnessed_checkpoint(cosigned, [LOG.verifier], verifiers, 3)
    with pytest.raises(ValueError, match="cannot be met"):
        open_witnessed_checkpoint(cosigned, [LOG.verifier], verifiers, 4)
    with pytest.raises(CheckpointError, match="log's key did not sign"):  # witnesses alone are not the log
        open_witnessed_checkpoint(cosigned, [NoteSigner(generate_key("x.example")).verifier], verifiers, 1)
    forged = cosigned.replace(lines[-20:], b"A" * 19 + b"\n")
    with pytest.raises(InvalidSignature):
        open_witnessed_checkpoint(forged, [LOG.verifier], verifiers, 1)
    with pytest.raises(UnverifiedNote):
        open_witnessed_checkpoint(cosigned, [], [witness("w9.example").verifier], 0)
