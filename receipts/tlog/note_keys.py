"""Note keys: Ed25519 keys named for who holds them, in the string forms Go's sumdb/note
reads, so a key made here works there and the other way round.

- key ID = SHA-256(name || 0x0A || type || 32-byte public key)[:4], type 0x01 for note
  signatures (C2SP signed-note), 0x04 for cosignatures (C2SP tlog-cosignature);
- verifier key (vkey): `<name>+<hex key ID>+<base64(type || public key)>`;
- private key: `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || 32-byte seed)>`, as
  note.GenerateKey writes it and note.NewSigner (type 0x01) reads it.
"""

import base64
import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from receipts.tlog.notes import decode_base64, is_valid_key_name

ED25519 = 0x01  # note signatures
COSIGNATURE_V1 = 0x04  # timestamped Ed25519 checkpoint cosignatures
KEY_TYPES = (ED25519, COSIGNATURE_V1)
_MAX_KEY_STRING = 1024
_HEX_ID = re.compile(r"[0-9a-f]{8}")


class NoteKeyError(ValueError):
    """A key string that is not a well-formed key of a type we know."""


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """The 4-byte ID signature lines name a key by."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


@dataclass(frozen=True)
class PublicKey:
    """A named Ed25519 public key of one type (ED25519 or COSIGNATURE_V1)."""

    name: str
    key_type: int
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteKeyError("a key name is non-empty, without spaces, plus signs or control characters")
        if self.key_type not in KEY_TYPES or len(self.public_key) != 32:
            raise NoteKeyError("not an Ed25519 key of type 0x01 or 0x04")

    @cached_property
    def key_id(self) -> bytes:
        return key_id(self.name, self.key_type, self.public_key)

    @property
    def vkey(self) -> str:
        encoded = _base64(bytes([self.key_type]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify_ed25519(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's Ed25519 signature of `message`."""
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class PrivateKey:
    """A named Ed25519 private key (its 32-byte seed) of one type."""

    name: str
    key_type: int
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteKeyError("a key name is non-empty, without spaces, plus signs or control characters")
        if self.key_type not in KEY_TYPES or len(self.seed) != 32:
            raise NoteKeyError("not an Ed25519 key of type 0x01 or 0x04")

    @cached_property
    def public(self) -> PublicKey:
        raw = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return PublicKey(self.name, self.key_type, raw)

    @property
    def key_id(self) -> bytes:
        return self.public.key_id

    @property
    def private_key_string(self) -> str:
        """PRIVATE+KEY+<name>+<key ID>+<base64(type || seed)>: secret, keep it mode 0600."""
        encoded = _base64(bytes([self.key_type]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def sign_ed25519(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def generate_key(name: str, key_type: int = ED25519) -> PrivateKey:
    """A new random key for `name` (os.urandom through cryptography)."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return PrivateKey(name, key_type, seed)


def _split_key(text: str, parts: int) -> list[str]:
    """`text` cut at its first parts-1 plus signs (base64 holds plus signs too)."""
    if not isinstance(text, str) or len(text) > _MAX_KEY_STRING:
        raise NoteKeyError("not a key string")
    pieces = text.split("+", parts - 1)
    if len(pieces) != parts:
        raise NoteKeyError("not a key string")
    return pieces


def _typed_key(name: str, hex_id: str, encoded: str) -> tuple[int, bytes]:
    if not is_valid_key_name(name) or not _HEX_ID.fullmatch(hex_id):
        raise NoteKeyError("a key string is <name>+<8 lowercase hex digits>+<base64>")
    try:
        raw = decode_base64(encoded)
    except ValueError:
        raise NoteKeyError("the key material is not canonical base64") from None
    if len(raw) != 33 or raw[0] not in KEY_TYPES:
        raise NoteKeyError("not an Ed25519 key of type 0x01 or 0x04")
    return raw[0], raw[1:]


def parse_vkey(vkey: str) -> PublicKey:
    """The public key a verifier key string names, refusing a key ID that does not match."""
    name, hex_id, encoded = _split_key(vkey.strip() if isinstance(vkey, str) else vkey, 3)
    key = PublicKey(name, *_typed_key(name, hex_id, encoded))
    if key.key_id.hex() != hex_id:
        raise NoteKeyError(f"the key ID {hex_id} is not the ID of {name}'s key")
    return key


def parse_private_key(text: str) -> PrivateKey:
    """The private key a PRIVATE+KEY+… string holds, refusing a key ID that does not match."""
    private, key, name, hex_id, encoded = _split_key(text.strip() if isinstance(text, str) else text, 5)
    if (private, key) != ("PRIVATE", "KEY"):
        raise NoteKeyError("a private key string starts with PRIVATE+KEY+")
    parsed = PrivateKey(name, *_typed_key(name, hex_id, encoded))
    if parsed.key_id.hex() != hex_id:
        raise NoteKeyError(f"the key ID {hex_id} is not the ID of {name}'s key")
    return parsed


@dataclass(frozen=True)
class NoteVerifier:
    """Verifies note signatures (type 0x01) by one key: a notes.Verifier."""

    key: PublicKey

    def __post_init__(self) -> None:
        if self.key.key_type != ED25519:
            raise NoteKeyError("a note verifier key has type 0x01")

    @classmethod
    def from_vkey(cls, vkey: str) -> "NoteVerifier":
        return cls(parse_vkey(vkey))

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_id(self) -> bytes:
        return self.key.key_id

    def verify(self, text: bytes, signature: bytes) -> bool:
        return self.key.verify_ed25519(text, signature)


@dataclass(frozen=True)
class NoteSigner:
    """Signs notes (type 0x01) with one key: a notes.Signer."""

    key: PrivateKey

    def __post_init__(self) -> None:
        if self.key.key_type != ED25519:
            raise NoteKeyError("a note signer key has type 0x01")

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_id(self) -> bytes:
        return self.key.key_id

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.key.public)

    def sign(self, text: bytes) -> bytes:
        return self.key.sign_ed25519(text)
