"""RFC 7515 JWS compact serialization for receipts: RS256, payload = canonical bytes. A
`Signer` (receipts.stores.signers: a local key or Cloud KMS) makes the signatures."""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from receipts.canonical import canonical_bytes

ALG = "RS256"
TYP = "receipt+jws"
STATEMENT_TYP = "statement+jws"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_FROM_URL, _TO_URL = bytes.maketrans(b"-_", b"+/"), bytes.maketrans(b"+/", b"-_")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding (RFC 7515 section 2): no '=', no other alphabet.
    (base64.urlsafe_b64decode and b64url, as binascii calls: a JWS has two such parts.)"""
    if "=" in text or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        encoded = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("string argument should contain only ASCII characters") from None
    data = binascii.a2b_base64(encoded.translate(_FROM_URL) + b"=" * (-len(text) % 4))
    if binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URL) != encoded:
        raise ValueError("non-canonical base64url")
    return data


def protected_header(kid: str, typ: str = TYP) -> bytes:
    """The protected header's bytes; canonical so the same key always gives the same JWS."""
    return canonical_bytes({"alg": ALG, "kid": kid, "typ": typ})


def signing_input(kid: str, payload: bytes, typ: str = TYP) -> bytes:
    """ASCII(BASE64URL(header) || '.' || BASE64URL(payload)): what RS256 signs."""
    return f"{b64url(protected_header(kid, typ))}.{b64url(payload)}".encode("ascii")


def compact(signing_input_bytes: bytes, signature: bytes) -> str:
    return f"{signing_input_bytes.decode('ascii')}.{b64url(signature)}"


@dataclass(frozen=True)
class CompactParts:
    header_b64: str
    payload_b64: str
    signature_b64: str

    @property
    def signing_input(self) -> bytes:
        return f"{self.header_b64}.{self.payload_b64}".encode("ascii")


def split_compact(token: str) -> CompactParts:
    """Split a compact JWS into its three parts; ValueError when it is not one."""
    if not isinstance(token, str) or not token.isascii():
        raise ValueError("a compact JWS is an ASCII string")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("a compact JWS has three non-empty dot-separated parts")
    return CompactParts(*parts)


class Signer(Protocol):
    kid: str

    def sign(self, signing_inputs: Sequence[bytes]) -> list[bytes]:
        """RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signatures, one per input, in order."""
        ...


def sign_payloads(signer: Signer, payloads: Sequence[bytes], typ: str = TYP) -> list[str]:
    """Compact JWS for each payload, signed in one batch (`typ`: what the payload is)."""
    inputs = [signing_input(signer.kid, payload, typ) for payload in payloads]
    return [compact(data, signature) for data, signature in zip(inputs, signer.sign(inputs), strict=True)]
