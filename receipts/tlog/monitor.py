"""A monitor of one log: what `receipts log verify` checks each time it looks.

1. The latest checkpoint is signed by the log's key and cosigned per the witness policy.
2. The published tiles recompute to the checkpoint's root: every tile the tree needs is
   read and checked against the signed root (receipts.tlog.tile_reader), and the root is
   computed from them again.
3. The checkpoint is consistent with the last one this monitor saw: that tree's root is
   computed from the new tree's tiles and must equal the root seen before. A log that
   shows a different history is a fork, reported with both signed notes as its proof; a
   log that shows a smaller tree than before has rolled back, also with both notes.

The monitor keeps what it saw (`Seen`: size, root and the note) between runs; the caller
stores it (receipts_cli.log_verify keeps a JSON file).
"""

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from receipts.tlog.checkpoints import Checkpoint
from receipts.tlog.cosignatures import CosignatureVerifier, Witnessed, open_witnessed_checkpoint
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.notes import Verifier
from receipts.tlog.stored import stored_hash_index, tree_hash
from receipts.tlog.tile_reader import TileHashReader
from receipts.tlog.tiles import TILE_WIDTH, Tile


@dataclass(frozen=True)
class Seen:
    """The last checkpoint a monitor accepted."""

    origin: str
    size: int
    root: bytes
    note: bytes

    def as_json(self) -> dict:
        return {
            "origin": self.origin,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "note": self.note.decode("utf-8"),
        }

    @classmethod
    def from_json(cls, document: dict) -> "Seen":
        return cls(
            document["origin"], int(document["size"]), base64.b64decode(document["root"]), document["note"].encode()
        )


class LogMisbehaved(Exception):
    """Two signed checkpoints that cannot both be true: the proof is the pair of notes."""

    def __init__(self, reason: str, earlier: bytes, later: bytes) -> None:
        super().__init__(reason)
        self.reason, self.earlier, self.later = reason, earlier, later


@dataclass(frozen=True)
class Looked:
    """One look at the log: the checkpoint accepted, who cosigned it, and how far it grew."""

    seen: Seen
    witnessed: Witnessed
    grown_by: int


def look(
    note: bytes,
    fetch_tile: Callable[[Tile], bytes],
    log_verifiers: Sequence[Verifier],
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
    origin: str,
    previous: Seen | None = None,
    every_tile: bool = True,
) -> Looked:
    """Check `note` (the log's latest checkpoint) and its tiles, and its consistency with
    `previous`; raises a notes/checkpoint error for a bad signature or quorum, TileError
    for tiles that do not make the root, LogMisbehaved for a fork or a rollback. With
    `every_tile`, every leaf tile is read and checked, not only those the root needs."""
    witnessed = open_witnessed_checkpoint(note, log_verifiers, witnesses, quorum, origin)
    checkpoint: Checkpoint = witnessed.checkpoint
    size, root = checkpoint.size, checkpoint.root
    if size == 0:
        if root != EMPTY_ROOT:
            raise LogMisbehaved("the empty tree's checkpoint has another root", note, note)
        reader = None
    else:
        reader = TileHashReader(size, root, fetch_tile)
        if tree_hash(size, reader) != root:
            raise LogMisbehaved("the published tiles do not recompute to the checkpoint's root", note, note)
        if every_tile:  # each leaf tile read is checked against its parent, and so up to the root
            for first in range(0, size, TILE_WIDTH):
                reader.read_hashes([stored_hash_index(0, n) for n in range(first, min(size, first + TILE_WIDTH))])
    if previous is not None:
        if size < previous.size:
            raise LogMisbehaved(
                f"the log shows a tree of {size} leaves after one of {previous.size}", previous.note, note
            )
        earlier_root = EMPTY_ROOT if previous.size == 0 else tree_hash(previous.size, reader)
        if earlier_root != previous.root:
            raise LogMisbehaved(
                f"a fork: the tree of {size} leaves does not extend the tree of {previous.size} seen before",
                previous.note,
                note,
            )
    grown = size - (previous.size if previous else 0)
    return Looked(Seen(origin, size, root, note), witnessed, grown)
