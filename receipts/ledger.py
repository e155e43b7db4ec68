"""The per-customer chain: sequence, hash links, balances and entitlement usage.

`ChainState.append` is the one place a receipt body is built. It is pure apart from
mutating the state it is called on, so the Beam DoFn, tests and tools share it.
"""

from dataclasses import dataclass, field
from typing import Any

from receipts.canonical import SAFE_INTEGER, ZERO_HASH, canonical_bytes, sha256_hex
from receipts.events import Event
from receipts.money import format_amount

RECEIPT_VERSION = 1
MAX_SEQUENCE = SAFE_INTEGER  # the largest sequence every JSON reader holds exactly
ACCEPTED = "accepted"
REJECTED = "rejected"
QUOTA_EXCEEDED = "quota_exceeded"
CURRENCY_MISMATCH = "entitlement_currency_mismatch"


@dataclass(frozen=True)
class Entitlement:
    """A spending cap for one customer's entitlement, in one currency."""

    customer_id: str
    entitlement_id: str
    limit_minor: int
    currency: str

    @property
    def limit(self) -> str:
        return format_amount(self.limit_minor, self.currency)


EVENT_FIELDS_IN_BODY = {  # event field -> the body field that carries it
    "idempotent_key": "idempotent_key",
    "customer_id": "customer_id",
    "amount": "amount",
    "currency": "currency",
    "timestamp": "event_timestamp",
    "entitlement_id": "entitlement_id",
    "usage_description": "usage_description",
}


def event_of(body: dict[str, Any]) -> dict[str, Any]:
    """The event a receipt body was made from, as a producer message would carry it:
    `event_sha256` is the SHA-256 of its RFC 8785 form, and it parses back to the same event."""
    return {name: body.get(source) for name, source in EVENT_FIELDS_IN_BODY.items()}


@dataclass(frozen=True)
class ChainedReceipt:
    """An unsigned receipt: its body, the canonical bytes that get signed, and the
    absolute state after it (what the store writes in the same commit)."""

    body: dict[str, Any]
    canonical: bytes
    receipt_hash: str
    entitlement_used_minor: int | None

    @property
    def receipt_id(self) -> str:
        return self.body["receipt_id"]

    @property
    def customer_id(self) -> str:
        return self.body["customer_id"]

    @property
    def sequence(self) -> int:
        return self.body["sequence"]


@dataclass
class ChainState:
    """Where one customer's chain stands: the head and the running totals."""

    customer_id: str
    sequence: int = 0
    head_hash: str = ZERO_HASH
    balances: dict[str, int] = field(default_factory=dict)  # currency -> minor units
    usage: dict[str, int] = field(default_factory=dict)  # entitlement_id -> minor units used

    def append(self, event: Event, entitlement: Entitlement | None, kid: str, processed_at: str) -> ChainedReceipt:
        """Build the next receipt for `event` and advance the state past it."""
        if event.customer_id != self.customer_id:
            raise ValueError(f"event for {event.customer_id} appended to chain of {self.customer_id}")
        status, reason = ACCEPTED, None
        used = self.usage.get(event.entitlement_id, 0) if event.entitlement_id else None
        if entitlement is not None:
            if entitlement.currency != event.currency:
                status, reason = REJECTED, CURRENCY_MISMATCH
            elif used + event.amount_minor > entitlement.limit_minor:
                status, reason = REJECTED, QUOTA_EXCEEDED
        balance = self.balances.get(event.currency, 0)
        if status == ACCEPTED:
            balance += event.amount_minor
            self.balances[event.currency] = balance
            if used is not None:
                used += event.amount_minor
                self.usage[event.entitlement_id] = used
        quota_remaining = format_amount(entitlement.limit_minor - used, entitlement.currency) if entitlement else None
        body = {
            "v": RECEIPT_VERSION,
            "receipt_id": event.receipt_id,
            "customer_id": event.customer_id,
            "sequence": self.sequence + 1,
            "previous_receipt_hash": self.head_hash,
            "idempotent_key": event.idempotent_key,
            "event_sha256": event.event_sha256,
            "entitlement_id": event.entitlement_id,
            "amount": event.amount,
            "currency": event.currency,
            "usage_description": event.usage_description,
            "event_timestamp": event.timestamp,
            "processed_at": processed_at,
            "status": status,
            "reason": reason,
            "balance_after": format_amount(balance, event.currency),
            "quota_remaining": quota_remaining,
            "kid": kid,
        }
        canonical = canonical_bytes(body)
        digest = sha256_hex(canonical)
        self.sequence += 1
        self.head_hash = digest
        return ChainedReceipt(body, canonical, digest, used)
