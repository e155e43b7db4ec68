"""API keys of the verifier site: `sk_<key_id>_<secret>`, each with a role.

A customer key reads one customer's receipts, evidence and statements and posts that
customer's charges. An operator key posts charges and credits for any customer and reads
any customer's receipts, evidence and statements (disputes and support need the charge a
credit corrects, whoever's it is). The rules are `may_read` and `may_post`, used by every
route of the site.

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
CUSTOMER, OPERATOR = "customer", "operator"
ROLES = (CUSTOMER, OPERATOR)


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


def issue_api_key(store: KeyRecords, customer_id: str | None, role: str = CUSTOMER) -> tuple[str, ApiKeyRecord]:
    """Create and store a key: a customer's (`customer_id` named) or an operator's (none);
    the key text is returned once and never kept."""
    if role not in ROLES:
        raise ValueError(f"an API key's role is one of {', '.join(ROLES)}, not {role!r}")
    if (role == CUSTOMER) != bool(customer_id):
        raise ValueError("a customer key names its customer; an operator key names none")
    key_id = secrets.token_hex(8)
    key = f"sk_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKeyRecord(key_id, customer_id or "", key_hash(key), now_utc(), None, role)
    store.add_api_key(record)
    return key, record


def may_read(record: ApiKeyRecord, customer_id: object) -> bool:
    """Whether the key may read this customer's receipts, evidence and statements: its own
    customer's for a customer key, anyone's for an operator key. Anything else (an unknown
    role, an empty customer) reads nothing."""
    if record.role == OPERATOR:
        return isinstance(customer_id, str) and bool(customer_id)
    return record.role == CUSTOMER and bool(record.customer_id) and customer_id == record.customer_id


def may_post(record: ApiKeyRecord, customer_id: str, credit: bool) -> tuple[str, str] | None:
    """None when the key may post this customer's event (a charge, or a credit when
    `credit`), else a 403's code and message: `customer_mismatch` or `forbidden`."""
    if record.role == OPERATOR:
        return None
    if record.role != CUSTOMER or customer_id != record.customer_id:
        return "customer_mismatch", f"this API key is for {record.customer_id}, not {customer_id}"
    if credit:
        return "forbidden", "a customer's API key may not post credits: credits are posted with an operator key"
    return None


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
