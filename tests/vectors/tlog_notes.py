"""Write the signed-note vectors both log verifiers run (receipts.tlog in Python,
verifier_site/static/tlog.js in the browser):

    python -m tests.vectors.tlog_notes          # from the repository root

Checkpoints signed by a test-only log key and cosigned by test-only witnesses, genuine and
broken in every way a note, a key or a checkpoint can be, each with what
receipts.tlog.cosignatures.open_witnessed_checkpoint answers: accepted (its size, root and
the witnesses that cosigned) or refused. Deterministic: the keys come from fixed seeds,
Ed25519 signatures are deterministic and the cosignature times are fixed, so a second run
writes the same bytes (tests/tlog/test_note_vectors.py fails when the file is not that).
The RFC 6962 proof vectors are tests/vectors/rfc6962, read by both as they are.
"""

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from receipts.tlog.cosignatures import CosignatureSigner, CosignatureVerifier, open_witnessed_checkpoint
from receipts.tlog.note_keys import COSIGNATURE_V1, ED25519, NoteSigner, NoteVerifier, PrivateKey, PublicKey
from receipts.tlog.notes import Signature, sign_note, with_signature_lines

VECTORS = Path(__file__).resolve().parent / "tlog_notes.json"
ORIGIN = "vectors.test/log"
ROOT = hashlib.sha256(b"vectors root").digest()
TIME = 1_767_225_600


def key(name: str, key_type: int = ED25519, label: str = "") -> PrivateKey:
    return PrivateKey(name, key_type, hashlib.sha256(f"tlog vectors {name} {key_type} {label}".encode()).digest())


LOG = NoteSigner(key(ORIGIN))
OTHER_LOG = NoteSigner(key(ORIGIN, label="another key of the same name"))
WITNESSES = [CosignatureSigner(key(f"witness{n}.test", COSIGNATURE_V1)) for n in (1, 2)]


def checkpoint_text(size: str = "42", root: str | None = None, origin: str = ORIGIN, extra: str = "") -> str:
    return f"{origin}\n{size}\n{root or base64.b64encode(ROOT).decode()}\n{extra}"


def signed(text: str, *signers: Any) -> bytes:
    return sign_note(text, signers or [LOG])


def raw_signed(text: str) -> bytes:
    """A note of any text (sign_note refuses control characters), signed by the log."""
    return (text + "\n" + Signature(LOG.name, LOG.key_id, LOG.sign(text.encode())).line).encode()


def cosigned(note: bytes, text: str, *witnesses: CosignatureSigner) -> bytes:
    for witness in witnesses:
        note = with_signature_lines(note, witness.cosign(text, TIME).line.encode())
    return note


def vkey(signer: Any) -> str:
    return signer.key.public.vkey


def as_note_vkey(witness: CosignatureSigner) -> str:
    """The witness's key written as a type 0x01 vkey (as some witnesses publish theirs)."""
    public = witness.key.public
    return PublicKey(public.name, ED25519, public.public_key).vkey


def _swap_signature(note: bytes, donor: bytes) -> bytes:
    """`note`'s log signature line with the signature bytes of `donor`'s (same name and key ID)."""
    head, _, line = note.decode().partition("\n\n")
    name, encoded = line.removeprefix("— ").rstrip("\n").split(" ")
    foreign = base64.b64decode(donor.decode().partition("\n\n")[2].split(" ")[2].strip())
    swapped = base64.b64decode(encoded)[:4] + foreign[4:]
    return f"{head}\n\n— {name} {base64.b64encode(swapped).decode()}\n".encode()


def _flip(note: bytes, at: int) -> bytes:
    return note[:at] + bytes([note[at] ^ 1]) + note[at + 1 :]


def cases() -> list[tuple[str, bytes, dict[str, Any]]]:
    """(name, note, settings): settings may name log_vkey, witness_vkeys, quorum, origin."""
    text = checkpoint_text()
    genuine = signed(text)
    both = cosigned(genuine, text, *WITNESSES)
    witnesses = {"witness_vkeys": [w.vkey for w in WITNESSES]}
    bad_cosignature = _flip(both, len(both) - 10)
    unknown = signed(text, NoteSigner(key("stranger.test")), LOG)
    many = genuine + "".join(f"— s{n}.test AAAAAAA=\n" for n in range(100)).encode()
    found: list[tuple[str, bytes, dict[str, Any]]] = [
        ("genuine", genuine, {}),
        ("genuine with an extension line", signed(checkpoint_text(extra="ext line\n")), {}),
        ("cosigned by both witnesses, quorum 2", both, {**witnesses, "quorum": 2}),
        ("cosigned by one of two, quorum 2", cosigned(genuine, text, WITNESSES[0]), {**witnesses, "quorum": 2}),
        ("cosigned by one of two, quorum 1", cosigned(genuine, text, WITNESSES[1]), {**witnesses, "quorum": 1}),
        ("cosigned, witnesses not asked for", both, {}),
        ("a witness's cosignature broken", bad_cosignature, witnesses),
        ("quorum larger than the witnesses", genuine, {**witnesses, "quorum": 3}),
        ("witness vkey of type 0x01", both, {"witness_vkeys": [as_note_vkey(w) for w in WITNESSES]}),
        ("signed twice by the log", signed(text, LOG, LOG), {}),
        ("an unknown signature first", unknown, {}),
        ("signed by another key of the log's name", signed(text, OTHER_LOG), {}),
        ("the log's key id with another key's signature", _swap_signature(genuine, signed(text, OTHER_LOG)), {}),
        ("the text changed after signing", genuine.replace(b"\n42\n", b"\n43\n"), {}),
        ("a signature bit flipped", _flip(genuine, len(genuine) - 5), {}),
        ("another origin", signed(checkpoint_text(origin="vectors.test/other")), {}),
        ("the origin asked for is another", genuine, {"origin": "vectors.test/other"}),
        ("no final newline", genuine[:-1], {}),
        ("no blank line", genuine.replace(b"\n\n", b"\n"), {}),
        ("no signature", genuine.partition(b"\n\n")[0] + b"\n\n", {}),
        ("a tab in the text", raw_signed(checkpoint_text(extra="tab\there\n")), {}),
        ("a carriage return", genuine.replace(b"\n42\n", b"\r\n42\n"), {}),
        ("not UTF-8", genuine.replace(b"\n42\n", b"\n42\n\xff\n"), {}),
        ("a byte-order mark", signed("\ufeff" + text), {}),
        ("size with a leading zero", signed(checkpoint_text(size="042")), {}),
        ("size 2**64 - 1", signed(checkpoint_text(size=str((1 << 64) - 1))), {}),
        ("size 2**64", signed(checkpoint_text(size=str(1 << 64))), {}),
        ("size negative", signed(checkpoint_text(size="-1")), {}),
        ("root of 31 bytes", signed(checkpoint_text(root=base64.b64encode(ROOT[:31]).decode())), {}),
        ("root not canonical base64", signed(checkpoint_text(root=base64.b64encode(ROOT).decode()[:-2] + "1=")), {}),
        ("an empty extension line", sign_note(checkpoint_text(extra="\next\n"), [LOG]), {}),
        ("only two lines", signed(f"{ORIGIN}\n42\n"), {}),
        ("signature line not canonical base64", genuine + "— other.test AAAAAAB=\n".encode(), {}),
        ("signature line without the dash", genuine.replace("— ".encode(), b"- "), {}),
        ("a signature of four bytes", genuine + "— other.test AAAAAA==\n".encode(), {}),
        ("101 signature lines", many, {}),
        ("100 signature lines", many.rpartition(b"\xe2\x80\x94 s99.test")[0], {}),
        ("log vkey with a wrong key id", genuine, {"log_vkey": vkey(LOG).replace("+", "+0", 1)[:-1]}),
        ("log vkey of a witness (type 0x04)", genuine, {"log_vkey": WITNESSES[0].vkey}),
        ("log vkey with spaces around it", genuine, {"log_vkey": f"  {vkey(LOG)}\n"}),
        ("log vkey not base64", genuine, {"log_vkey": vkey(LOG)[:-4] + "!!!!"}),
        (
            "a non-ASCII origin",
            signed(checkpoint_text(origin="vectors.test/日志"), NoteSigner(key("vectors.test/日志"))),
            {
                "log_vkey": vkey(NoteSigner(key("vectors.test/日志"))),
                "origin": "vectors.test/日志",
            },
        ),
    ]
    return found


def expectation(note: bytes, settings: dict[str, Any]) -> dict[str, Any]:
    """What receipts.tlog answers: accepted (size, root, cosigned_by) or refused."""
    try:
        log = NoteVerifier.from_vkey(settings.get("log_vkey", vkey(LOG)))
        witnesses = [CosignatureVerifier.from_vkey(v) for v in settings.get("witness_vkeys", [])]
        opened = open_witnessed_checkpoint(note, [log], witnesses, settings.get("quorum", 0), settings["origin"])
    except ValueError:
        return {"ok": False}
    checkpoint = opened.checkpoint
    return {
        "ok": True,
        "size": str(checkpoint.size),
        "root": checkpoint.root.hex(),
        "cosigned_by": sorted(opened.cosigned_by),
    }


def document(expect: Callable[[bytes, dict[str, Any]], dict[str, Any]] = expectation) -> dict[str, Any]:
    vectors = []
    for name, note, settings in cases():
        full = {"log_vkey": vkey(LOG), "witness_vkeys": [], "quorum": 0, "origin": ORIGIN, **settings}
        vectors.append({"name": name, "note": base64.b64encode(note).decode(), **full, "expect": expect(note, full)})
    return {"origin": ORIGIN, "notes": vectors}


def text() -> str:
    return json.dumps(document(), indent=1, ensure_ascii=True) + "\n"


if __name__ == "__main__":
    VECTORS.write_text(text(), encoding="ascii")
    sys.stderr.write(f"wrote {VECTORS}\n")
