"""Signed notes (C2SP signed-note, Go's golang.org/x/mod/sumdb/note): a UTF-8 text
ending in a newline, a blank line, then signature lines `— <key name> base64(key ID ||
signature)`. Checkpoints and cosignatures are notes.

`open_note` is the one reader: hostile input, so it bounds the size and the number of
signatures, refuses anything the format forbids, verifies every signature of a known key
(name and key ID both matching), ignores the others, and fails unless a known key signed.
"""

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

MAX_NOTE_BYTES = 256 * 1024  # 100 post-quantum signatures of about 2.5 kB would still fit
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16; Go's note.Open allows 100
KEY_ID_SIZE = 4
_DASH = "— "  # em dash (U+2014), space
# Unicode White_Space (what Go's unicode.IsSpace counts): no key name may hold one.
_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


class NoteError(ValueError):
    """A note that cannot be believed; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedNote(NoteError):
    """Not a signed note: bad UTF-8, control characters, no signature block, a bad line…"""


class InvalidSignature(NoteError):
    """A signature by a known key (name and key ID) that does not verify: the whole note is refused."""


class UnverifiedNote(NoteError):
    """A well-formed note that no known key signed."""


class Verifier(Protocol):
    """A key a note's signature line may name: checks its signature over the note text."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class Signer(Protocol):
    """A key that signs note texts."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> bytes: ...


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID, and the signature bytes after the ID."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text (with the final newline) and its signatures by known keys
    (verified) and by others (not checked, kept to pass along)."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()


def is_valid_key_name(name: object) -> bool:
    """A key name is non-empty and holds no Unicode space, no plus and no control character."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(c in _SPACES or c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in name)
    )


def decode_base64(text: str) -> bytes:
    """Standard base64 (RFC 4648 section 4) in its one canonical spelling, else ValueError."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise ValueError("not canonical base64")
    return raw


def _check_text(text: str) -> None:
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise MalformedNote("a note holds no control character but newline")


def parse_signature_lines(block: str) -> list[Signature]:
    """The signature lines of a note's signature block (or of a witness's answer), each
    `— <name> <base64>` and a newline; at most MAX_SIGNATURES of them."""
    if not block.endswith("\n"):
        raise MalformedNote("signature lines end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    signatures = []
    for number, line in enumerate(lines, start=1):
        name, _, encoded = line.removeprefix(_DASH).partition(" ")
        if not line.startswith(_DASH) or not is_valid_key_name(name):
            raise MalformedNote(f"signature line {number} is not '— <key name> <signature>'")
        try:
            raw = decode_base64(encoded)
        except ValueError:
            raise MalformedNote(f"signature line {number} is not canonical base64") from None
        if len(raw) <= KEY_ID_SIZE:
            raise MalformedNote(f"signature line {number} holds no signature")
        signatures.append(Signature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return signatures


def _verifier_map(verifiers: Iterable[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if key in known and known[key] is not verifier:
            raise ValueError(f"two keys named {verifier.name} with key ID {verifier.key_id.hex()}")
        known[key] = verifier
    return known


def open_note(message: bytes, verifiers: Iterable[Verifier]) -> Note:
    """The note in `message`, with every signature by a known key verified.

    Raises MalformedNote (not a note), InvalidSignature (a known key's signature fails)
    or UnverifiedNote (no known key signed it).
    """
    known = _verifier_map(verifiers)
    if not isinstance(message, bytes) or len(message) > MAX_NOTE_BYTES:
        raise MalformedNote(f"a note is at most {MAX_NOTE_BYTES} bytes")
    try:
        decoded = message.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote("a note is UTF-8") from None
    _check_text(decoded)
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line before the signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block:
        raise MalformedNote("no signature")
    text_bytes = text.encode()
    verified: dict[tuple[str, bytes], Signature] = {}
    unverified: dict[Signature, None] = {}
    for signature in parse_signature_lines(block):
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            unverified[signature] = None
            continue
        if not verifier.verify(text_bytes, signature.signature):
            raise InvalidSignature(f"the signature of {signature.name} ({signature.key_id.hex()}) does not verify")
        verified.setdefault((signature.name, signature.key_id), signature)
    if not verified:
        raise UnverifiedNote("no known key signed the note")
    return Note(text, tuple(verified.values()), tuple(unverified))


def sign_note(text: str, signers: Iterable[Signer]) -> bytes:
    """The signed note of `text` (which ends in a newline) by each signer, in order."""
    if not text.endswith("\n"):
        raise MalformedNote("a note's text ends in a newline")
    _check_text(text)
    lines = []
    for signer in signers:
        if not is_valid_key_name(signer.name) or len(signer.key_id) != KEY_ID_SIZE:
            raise ValueError(f"{signer.name!r} cannot sign notes")
        lines.append(Signature(signer.name, signer.key_id, signer.sign(text.encode())).line)
    if not lines:
        raise ValueError("a note needs at least one signer")
    message = (text + "\n" + "".join(lines)).encode()
    if len(message) > MAX_NOTE_BYTES:
        raise MalformedNote(f"a note is at most {MAX_NOTE_BYTES} bytes")
    return message


def with_signature_lines(message: bytes, lines: bytes) -> bytes:
    """`message` (a signed note) with more signature lines appended, e.g. a witness's
    cosignatures; the lines are checked to be signature lines, not what they say."""
    try:
        block = lines.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote("signature lines are UTF-8") from None
    _check_text(block)
    parse_signature_lines(block)
    if not message.endswith(b"\n") or b"\n\n" not in message:
        raise MalformedNote("not a signed note")
    return message + lines
