"""Witness cosignatures (C2SP tlog-cosignature, Ed25519 `cosignature/v1`): a witness's
timestamped statement that the checkpoint is the largest consistent tree it has seen
of that log.

The witness signs `cosignature/v1\\ntime <unix seconds>\\n` followed by the checkpoint's
note text; its signature line carries base64(key ID || timestamp as 8 bytes big-endian ||
the 64-byte signature), the key ID computed with type 0x04. A client trusts a checkpoint
once the log signed it and enough of the witnesses it knows cosigned it.
"""

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from receipts.tlog.checkpoints import Checkpoint, CheckpointError, open_checkpoint
from receipts.tlog.note_keys import COSIGNATURE_V1, ED25519, NoteKeyError, PrivateKey, PublicKey, parse_vkey
from receipts.tlog.notes import Note, Signature, Verifier

MAX_TIMESTAMP = (1 << 63) - 1
_HEADER = "cosignature/v1\n"


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What an Ed25519 cosignature signs: the header, the time line, the checkpoint text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"a cosignature timestamp is 0 to {MAX_TIMESTAMP}")
    return f"{_HEADER}time {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class CosignatureVerifier:
    """Checks one witness's cosignatures: a notes.Verifier for the witness's key."""

    key: PublicKey

    def __post_init__(self) -> None:
        if self.key.key_type != COSIGNATURE_V1:
            raise NoteKeyError("a witness key has type 0x04")

    @classmethod
    def from_vkey(cls, vkey: str) -> "CosignatureVerifier":
        """From the witness's vkey (type 0x04; a type 0x01 vkey of the same key is taken
        as its cosignature key, as transparency-dev's witnesses publish some)."""
        key = parse_vkey(vkey)
        return cls(PublicKey(key.name, COSIGNATURE_V1, key.public_key) if key.key_type == ED25519 else key)

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_id(self) -> bytes:
        return self.key.key_id

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            message = cosigned_message(text.decode(), timestamp)
        except UnicodeDecodeError:
            return False
        return self.key.verify_ed25519(message, signature[8:])


@dataclass(frozen=True)
class CosignatureSigner:
    """A witness's key (type 0x04): a notes.Signer whose signatures carry the time now."""

    key: PrivateKey
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        if self.key.key_type != COSIGNATURE_V1:
            raise NoteKeyError("a witness key has type 0x04")

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_id(self) -> bytes:
        return self.key.key_id

    @property
    def vkey(self) -> str:
        return self.key.public.vkey

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.key.public)

    def sign(self, text: bytes) -> bytes:
        return self.cosign(text.decode(), int(self.clock())).signature

    def cosign(self, text: str, timestamp: int) -> Signature:
        """The cosignature of checkpoint text `text` at `timestamp` (never zero)."""
        if timestamp < 1:
            raise ValueError("a witness's cosignature carries the time, never zero")
        signed = self.key.sign_ed25519(cosigned_message(text, timestamp))
        return Signature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signed)


def cosignature_time(signature: Signature) -> int:
    """The POSIX time a cosignature states it was made."""
    return int.from_bytes(signature.signature[:8], "big")


class QuorumError(CheckpointError):
    """A checkpoint that too few of the trusted witnesses cosigned."""


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint its log signed, with the trusted witnesses that cosigned it (by name)
    and the time each stated."""

    checkpoint: Checkpoint
    note: Note
    cosigned_by: dict[str, int]


def open_witnessed_checkpoint(
    message: bytes,
    log_verifiers: Sequence[Verifier],
    witnesses: Iterable[CosignatureVerifier],
    quorum: int,
    origin: str | None = None,
) -> Witnessed:
    """The checkpoint in `message`, refused unless one of `log_verifiers` signed it and at
    least `quorum` of `witnesses` cosigned it (each known signature must verify)."""
    witnesses = list(witnesses)
    if not 0 <= quorum <= len({(witness.name, witness.key_id) for witness in witnesses}):
        raise ValueError(f"a quorum of {quorum} out of {len(witnesses)} witnesses cannot be met")
    checkpoint, note = open_checkpoint(message, [*log_verifiers, *witnesses], origin)
    log_keys = {(verifier.name, verifier.key_id) for verifier in log_verifiers}
    witness_keys = {(witness.name, witness.key_id) for witness in witnesses}
    if not any((s.name, s.key_id) in log_keys for s in note.signatures):
        raise CheckpointError("the log's key did not sign the checkpoint")
    by_witnesses = [s for s in note.signatures if (s.name, s.key_id) in witness_keys]  # one per key
    if len(by_witnesses) < quorum:
        raise QuorumError(f"{len(by_witnesses)} of the trusted witnesses cosigned the checkpoint; {quorum} needed")
    return Witnessed(checkpoint, note, {s.name: cosignature_time(s) for s in by_witnesses})
