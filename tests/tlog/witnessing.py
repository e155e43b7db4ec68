"""A small log for the witness tests: entries appended on demand, signed checkpoints, the
add-checkpoint bodies a log would send, and a fork of it."""

import base64

from receipts.tlog.checkpoints import Checkpoint, sign_checkpoint
from receipts.tlog.cosignatures import CosignatureSigner
from receipts.tlog.note_keys import COSIGNATURE_V1, NoteSigner, generate_key
from receipts.tlog.proving import prove_consistency
from receipts.tlog.stored import MemoryHashes, tree_hash
from tests.tlog.naive import entry

ORIGIN = "billing.example/log"


class Log:
    def __init__(self, signer: NoteSigner | None = None, salt: bytes = b"") -> None:
        self.signer = signer or NoteSigner(generate_key(ORIGIN))
        self.hashes, self.size, self.salt = MemoryHashes(), 0, salt

    def grow(self, size: int) -> "Log":
        self.hashes.append(entry(i) + self.salt for i in range(self.size, size))
        self.size = size
        return self

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = self.size if size is None else size
        return Checkpoint(ORIGIN, size, tree_hash(size, self.hashes))

    def note(self, size: int | None = None) -> bytes:
        return sign_checkpoint(self.checkpoint(size), [self.signer])

    def body(self, old: int, size: int | None = None, proof: list[bytes] | None = None) -> bytes:
        size = self.size if size is None else size
        hashes = prove_consistency(old, size, self.hashes) if proof is None else proof
        lines = "".join(base64.b64encode(h).decode() + "\n" for h in hashes)
        return f"old {old}\n{lines}\n".encode() + self.note(size)


def witness_signer(now: int = 1767225600) -> CosignatureSigner:
    return CosignatureSigner(generate_key("witness.example/w1", COSIGNATURE_V1), clock=lambda: now)
