"""Checkpoints (C2SP tlog-checkpoint): the signed note a log publishes for each tree
size. Its text is the log's origin, the tree size and the root hash in base64, one per
line, then optional extension lines:

    billing.example/log
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

Parsing is strict (one spelling per value): a checkpoint is compared byte for byte by
witnesses and monitors, and a second spelling of one tree would be a second checkpoint.
"""

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from receipts.tlog.hashing import HASH_SIZE
from receipts.tlog.notes import Note, Signer, Verifier, decode_base64, is_valid_key_name, open_note, sign_note
from receipts.tlog.tiles import MAX_TREE_SIZE

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class CheckpointError(ValueError):
    """A note text that is not a checkpoint, or not of the log expected."""


def _is_line(text: object) -> bool:
    return isinstance(text, str) and text != "" and not any(ord(c) < 0x20 for c in text)


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root, and any extension lines (without newlines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _is_line(self.origin):
            raise CheckpointError("the origin is one non-empty line")
        if not (isinstance(self.size, int) and 0 <= self.size <= MAX_TREE_SIZE):
            raise CheckpointError(f"the tree size is 0 to {MAX_TREE_SIZE}")
        if not (isinstance(self.root, bytes) and len(self.root) == HASH_SIZE):
            raise CheckpointError(f"the root hash is {HASH_SIZE} bytes")
        if not all(_is_line(line) for line in self.extensions):
            raise CheckpointError("extension lines are non-empty lines")

    @property
    def text(self) -> str:
        """The note text: every line ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not an origin we give a log (a schema-less URL with no spaces and
    no plus, as tlog-checkpoint recommends, usable as its key name too); None if it is."""
    if not is_valid_key_name(origin):
        return "an origin is non-empty, with no spaces, plus signs or control characters"
    if "://" in origin:
        return "an origin is a URL without its scheme (billing.example/log, not https://…)"
    if origin.endswith("/"):
        return "an origin has no trailing slash"
    return None


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint a note text holds: origin, size without leading zeros, root in
    canonical base64, then non-empty extension lines; every line ends in a newline."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise CheckpointError("a checkpoint's lines end in newlines")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash line")
    origin, size, root, *extensions = lines
    if not _SIZE.fullmatch(size) or int(size) > MAX_TREE_SIZE:
        raise CheckpointError("the tree size is a decimal number without leading zeros")
    try:
        root_hash = decode_base64(root)
    except ValueError:
        raise CheckpointError("the root hash is not canonical base64") from None
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Iterable[Signer]) -> bytes:
    """The checkpoint as a signed note, signed by each signer (the log's key first)."""
    return sign_note(checkpoint.text, signers)


def open_checkpoint(
    message: bytes, verifiers: Iterable[Verifier], origin: str | None = None
) -> tuple[Checkpoint, Note]:
    """The checkpoint in a signed note that a known key signed (receipts.tlog.notes.open_note
    errors otherwise), refused unless it parses and, given `origin`, is that log's."""
    note = open_note(message, verifiers)
    checkpoint = parse_checkpoint(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"a checkpoint of {checkpoint.origin!r}, not of {origin!r}")
    return checkpoint, note
