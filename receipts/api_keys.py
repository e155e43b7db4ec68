"""API keys of the verifier site: `sk_<key_id>_<secret>`, one customer each.

Only the SHA-256 of a key is stored (the secret has 256 bits of entropy, so a plain hash
is enough). The key id inside the key is public: it finds the record in one read, and
the hashes are then compared in constant time, so timing says nothing about the secret.
"""

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Protocol

from receipts.rows import ApiKeyRecord

KEY_PATTERN = re.compile(r"sk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})", re.ASCII)
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{16}", re.ASCII)
_UNKNOWN_KEY_HASH = "0" * 64  # compared against when no record exists, so both paths do the same work


class KeyRecords(Protocol):
    """The part of a `Store` (receipts.stores) that keeps API key records."""

    def add_api_key(self, record: ApiKeyRecord) -> None: ...

    def api_key(self, key_id: str) -> ApiKeyRecord | None: ...


def key_hash(key: str) -> str:
    """Lowercase hex SHA-256 of the whole key text: what the store keeps."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The public key id inside a well-formed key, or None when it is not one."""
    match = KEY_PATTERN.fullmatch(key)
    return match.group(1) if match else None


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_api_key(store: KeyRecords, customer_id: str) -> tuple[str, ApiKeyRecord]:
    """Create and store a key for one customer; the key text is returned once and never kept."""
    key_id = secrets.token_hex(8)
    key = f"sk_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKeyRecord(key_id, customer_id, key_hash(key), now_utc())
    store.add_api_key(record)
    return key, record


def authenticate(store: KeyRecords, presented: str) -> ApiKeyRecord | None:
    """The active key record a presented key belongs to, or None (malformed, unknown,
    wrong secret or revoked: the caller cannot tell which, and should not)."""
    key_id = key_id_of(presented) if isinstance(presented, str) else None
    record = store.api_key(key_id) if key_id else None
    expected = record.key_hash if record else _UNKNOWN_KEY_HASH
    matches = hmac.compare_digest(expected, key_hash(presented if isinstance(presented, str) else ""))
    if record is None or not matches or record.revoked_at is not None:
        return None
    return record
