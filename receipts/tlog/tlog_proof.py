"""Proofs a receipt holder keeps (C2SP tlog-proof, `c2sp.org/tlog-proof@v1`): the entry's
index, its inclusion proof, and the checkpoint with its cosignatures, in one text that
verifies offline against the log's and the witnesses' public keys:

    c2sp.org/tlog-proof@v1
    [extra <base64>]
    index <n>
    <base64 hash>            (zero or more: the inclusion proof, leaf's sibling first)
                             (an empty line)
    <the checkpoint, a signed note, verbatim>
"""

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from receipts.tlog.cosignatures import CosignatureVerifier, Witnessed, open_witnessed_checkpoint
from receipts.tlog.hashing import HASH_SIZE, leaf_hash
from receipts.tlog.notes import MAX_NOTE_BYTES, Verifier, decode_base64
from receipts.tlog.proofs import MAX_PROOF_HASHES, verify_inclusion
from receipts.tlog.tiles import MAX_TREE_SIZE

HEADER = "c2sp.org/tlog-proof@v1"
MAX_EXTRA_BYTES = 4096
MAX_PROOF_BYTES = MAX_NOTE_BYTES + 8192
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,19})")


class TlogProofError(ValueError):
    """Text that is not a tlog-proof, or a proof that does not hold."""


@dataclass(frozen=True)
class TlogProof:
    """An entry's proof: its index, the inclusion proof, the checkpoint note (bytes, as
    signed) and optional extra data (unauthenticated: never trust it)."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index < MAX_TREE_SIZE:
            raise TlogProofError("the index is not in any log")
        if len(self.hashes) > MAX_PROOF_HASHES or any(len(h) != HASH_SIZE for h in self.hashes):
            raise TlogProofError(f"an inclusion proof is at most {MAX_PROOF_HASHES} hashes of {HASH_SIZE} bytes")
        if self.extra is not None and len(self.extra) > MAX_EXTRA_BYTES:
            raise TlogProofError(f"extra data is at most {MAX_EXTRA_BYTES} bytes")
        if not self.checkpoint.endswith(b"\n") or len(self.checkpoint) > MAX_NOTE_BYTES:
            raise TlogProofError("the checkpoint is a signed note")

    def text(self) -> bytes:
        """The proof in its one spelling (a .tlog-proof file's contents)."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.hashes]
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint


def parse_tlog_proof(data: bytes) -> TlogProof:
    """The proof `data` spells, refusing any other line, value spelling, or order; the
    checkpoint is kept as it is, for verify_tlog_proof to open."""
    if not isinstance(data, bytes) or len(data) > MAX_PROOF_BYTES:
        raise TlogProofError(f"a tlog-proof is at most {MAX_PROOF_BYTES} bytes")
    head, separator, checkpoint = data.partition(b"\n\n")
    if not separator or not checkpoint:
        raise TlogProofError("no empty line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise TlogProofError("the proof's lines are ASCII") from None
    if lines[0] != HEADER:
        raise TlogProofError(f"the first line is {HEADER}")
    position, extra = 1, None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _decoded(lines[position].removeprefix("extra "), "the extra data")
        position += 1
    match = _INDEX.fullmatch(lines[position]) if position < len(lines) else None
    if match is None:
        raise TlogProofError("no 'index <n>' line (a decimal number without leading zeros)")
    hashes = tuple(_decoded(line, f"proof line {i}") for i, line in enumerate(lines[position + 1 :], start=1))
    return TlogProof(int(match.group(1)), hashes, checkpoint, extra)


def _decoded(text: str, what: str) -> bytes:
    try:
        return decode_base64(text)
    except ValueError:
        raise TlogProofError(f"{what} is not canonical base64") from None


def verify_tlog_proof(
    proof: TlogProof,
    entry: bytes,
    origin: str,
    log_verifiers: Sequence[Verifier],
    witnesses: Iterable[CosignatureVerifier] = (),
    quorum: int = 0,
) -> Witnessed:
    """Steps 1 to 4 of tlog-proof: the entry's leaf hash, the checkpoint of `origin` signed
    by its log, `quorum` of `witnesses` cosigning, and the inclusion proof up to its root.
    Raises a named error saying which step failed: a NoteError (the note or its
    signatures), a CheckpointError (not the log's checkpoint, or a QuorumError) or an
    InclusionProofError."""
    witnessed = open_witnessed_checkpoint(proof.checkpoint, log_verifiers, witnesses, quorum, origin)
    checkpoint = witnessed.checkpoint
    verify_inclusion(leaf_hash(entry), proof.index, checkpoint.size, proof.hashes, checkpoint.root)
    return witnessed
