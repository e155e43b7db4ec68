"""The per-customer chain: sequence, hash links, balances and entitlement usage.

`ChainState.append` is the one place a receipt body is built. It is pure apart from
mutating the state it is called on, so the Beam DoFn, tests and tools share it.
"""

from dataclasses import dataclass, field
from typing import Any

from receipts.canonical import SAFE_INTEGER, ZERO_HASH, canonical_bytes, sha256_hex
from receipts.credits import ChargeBook, ChargeRecord, credit_refusal, credited
from receipts.events import CREDIT, Event
from receipts.money import format_amount

RECEIPT_VERSION = 2  # every new receipt; v1 receipts stay valid (receipts.contract reads both)
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
V2_EVENT_FIELDS = ("type", "corrects")  # carried under the same names by a v2 body


def event_of(body: dict[str, Any]) -> dict[str, Any]:
    """The event a receipt body was made from, as a producer message would carry it:
    `event_sha256` is the SHA-256 of its RFC 8785 form, and it parses back to the same event.
    A v1 body has no `type` or `corrects`: its event is a charge."""
    fields = {name: body.get(source) for name, source in EVENT_FIELDS_IN_BODY.items()}
    fields.update({name: body[name] for name in V2_EVENT_FIELDS if name in body})
    return fields


@dataclass(frozen=True)
class ChainedReceipt:
    """An unsigned receipt: its body, the canonical bytes that get signed, and the
    absolute state after it (what the store writes in the same commit)."""

    body: dict[str, Any]
    canonical: bytes
    receipt_hash: str
    entitlement_used_minor: int | None
    entitlement_id: str | None = None  # whose usage that is: the event's, or for a credit its charge's
    credited: tuple[str, int] | None = None  # an accepted credit: (the charge's receipt id, its credits now)

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

    def entitlement_of(self, event: Event, charges: ChargeBook | None = None) -> str | None:
        """The entitlement `event` uses or gives back: its own, or a credit's charge's."""
        if event.kind != CREDIT:
            return event.entitlement_id
        charge = charges.get(event.corrects) if charges is not None and event.corrects else None
        return charge.entitlement_id if charge is not None and credit_refusal(event, charge) is None else None

    def append(
        self,
        event: Event,
        entitlement: Entitlement | None,
        kid: str,
        processed_at: str,
        charges: ChargeBook | None = None,
    ) -> ChainedReceipt:
        """Build the next receipt for `event` and advance the state past it. `entitlement` is
        the configured one of `entitlement_of(event, charges)`; `charges` answers what a credit
        corrects (without it, no credit is accepted), and learns each accepted receipt."""
        if event.customer_id != self.customer_id:
            raise ValueError(f"event for {event.customer_id} appended to chain of {self.customer_id}")
        if event.kind == CREDIT:
            return self._credit(event, entitlement, kid, processed_at, charges or ChargeBook())
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
            if charges is not None:
                amount, currency = event.amount_minor, event.currency
                charges.put(ChargeRecord(event.receipt_id, event.kind, amount, currency, event.entitlement_id))
        quota_remaining = format_amount(entitlement.limit_minor - used, entitlement.currency) if entitlement else None
        return self._receipt(event, (status, reason), balance, quota_remaining, kid, processed_at, used)

    def _credit(
        self, event: Event, entitlement: Entitlement | None, kid: str, processed_at: str, charges: ChargeBook
    ) -> ChainedReceipt:
        """A credit: refused (credits.credit_refusal) or accepted, moving the balance down by its
        amount and giving back the quota its charge used."""
        charge = charges.get(event.corrects)
        reason = credit_refusal(event, charge)
        balance = self.balances.get(event.currency, 0)
        entitlement_id = charge.entitlement_id if charge is not None and reason is None else None
        used = self.usage.get(entitlement_id, 0) if entitlement_id else None
        after = None
        if reason is None:
            balance -= event.amount_minor
            self.balances[event.currency] = balance
            if used is not None:
                used -= event.amount_minor
                self.usage[entitlement_id] = used
            now = credited(charge, event.amount_minor)
            charges.put(now)
            charges.put(ChargeRecord(event.receipt_id, CREDIT, event.amount_minor, event.currency, None))
            after = (now.receipt_id, now.credited_minor)
        if entitlement is not None and entitlement.entitlement_id != entitlement_id:
            entitlement = None  # only the charge's entitlement is reported on
        quota_remaining = None
        if entitlement is not None:
            quota_remaining = format_amount(entitlement.limit_minor - (used or 0), entitlement.currency)
        outcome = (ACCEPTED, None) if reason is None else (REJECTED, reason)
        return self._receipt(event, outcome, balance, quota_remaining, kid, processed_at, used, entitlement_id, after)

    def _receipt(
        self,
        event: Event,
        outcome: tuple[str, str | None],
        balance: int,
        quota_remaining: str | None,
        kid: str,
        processed_at: str,
        used: int | None,
        entitlement_id: str | None = None,
        credited_after: tuple[str, int] | None = None,
    ) -> ChainedReceipt:
        """The signed body of the next receipt, and the chain advanced past it."""
        status, reason = outcome
        if event.kind != CREDIT:
            entitlement_id = event.entitlement_id
        body = {
            "v": RECEIPT_VERSION,
            "type": event.kind,
            "corrects": event.corrects,
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
        return ChainedReceipt(body, canonical, digest, used, entitlement_id, credited_after)
