"""RFC 8785 (JCS) canonical bytes and the hashes built on them."""

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

ZERO_HASH = "0" * 64


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 serialization: the exact bytes that are hashed and signed."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def receipt_hash(body: Mapping[str, Any]) -> str:
    """Lowercase hex SHA-256 of the body's canonical bytes."""
    return sha256_hex(canonical_bytes(body))


def receipt_id(customer_id: str, idempotent_key: str) -> str:
    """Deterministic id a producer can compute at publish time (DESIGN.md, receipt_id)."""
    digest = hashlib.sha256(f"{customer_id}\n{idempotent_key}".encode()).digest()
    return "r_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


class DuplicateKeyError(ValueError):
    """A JSON object names the same member twice: its meaning depends on the parser."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"duplicate member {key!r}")
        result[key] = value
    return result


def strict_loads(text: str | bytes, **kwargs: Any) -> Any:
    """json.loads that refuses duplicate members and the non-JSON NaN/Infinity literals."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    kwargs.setdefault("parse_constant", no_constants)
    return json.loads(text, object_pairs_hook=_reject_duplicates, **kwargs)
