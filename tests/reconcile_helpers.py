"""Building blocks for the reconciliation tests: real signed chains (domain code, no Beam),
and the rows each store would hold for them."""

from collections.abc import Sequence
from typing import Any

from receipts.canonical import canonical_bytes, sha256_hex
from receipts.events import Event, validate_event
from receipts.jws import Signer, sign_payloads
from receipts.ledger import ChainState, Entitlement, event_of
from receipts.reconciliation import ArchivedCopy
from receipts.records import SignedReceipt
from receipts.rows import AmountRow, CustomerState, IdempotencyRow, LedgerEntry
from tests.conftest import PROCESSED_AT, make_event

Receipt = dict[str, Any]


def signed_chain(
    signer: Signer,
    count: int,
    customer: str = "cust_r",
    amounts: Sequence[str] = ("1.50", "2.25", "10.00", "0.01", "3.00"),
    currency: str = "USD",
    entitlement: Entitlement | None = None,
    processed_at: Sequence[str] | None = None,
) -> list[SignedReceipt]:
    state = ChainState(customer)
    out = []
    for index in range(count):
        event = make_event(
            idempotent_key=f"{customer}-{index}",
            customer_id=customer,
            amount=amounts[index % len(amounts)],
            currency=currency,
            timestamp=f"2026-01-25T10:{index % 60:02d}:00Z",
            entitlement_id=entitlement.entitlement_id if entitlement else None,
        )
        at = processed_at[index] if processed_at else PROCESSED_AT
        chained = state.append(event, entitlement, signer.kid, at)
        out.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return out


def exported(receipts: Sequence[SignedReceipt]) -> list[Receipt]:
    return [receipt.export() for receipt in receipts]


def ledger_of(receipts: Sequence[Receipt]) -> list[LedgerEntry]:
    """Ledger rows as SqliteStore keeps them: the export, and its key columns."""
    return [
        LedgerEntry(
            dict(r), {"receipt_id": r["receipt_id"], "customer_id": r["customer_id"], "sequence": r["sequence"]}
        )
        for r in receipts
    ]


def archive_of(receipts: Sequence[Receipt], name: str = "receipts-2026-01-25T10.jsonl") -> list[ArchivedCopy]:
    return [ArchivedCopy(dict(r), f"{name} line {n}") for n, r in enumerate(receipts, start=1)]


def state_of(
    receipts: Sequence[SignedReceipt],
    entitlement: Entitlement | None = None,
    spanner: bool = False,
    ttl: int | None = None,
) -> CustomerState:
    """The state rows the stores write for `receipts` (one customer, one currency); `spanner`:
    idempotency rows with hash, sequence and commit time, as Spanner keeps them."""
    last = receipts[-1].chained
    body = last.body
    usage = {}
    if entitlement is not None:
        usage = {entitlement.entitlement_id: AmountRow(str(last.entitlement_used_minor), body["sequence"])}
    rows = tuple(
        IdempotencyRow(
            r.chained.body["idempotent_key"],
            r.receipt_id,
            r.chained.body["event_sha256"],
            r.chained.sequence if spanner else None,
            r.chained.receipt_hash if spanner else None,
            r.chained.body["processed_at"] if spanner else None,
        )
        for r in receipts
    )
    return CustomerState(
        body["customer_id"],
        body["sequence"],
        last.receipt_hash,
        {body["currency"]: AmountRow(body["balance_after"], body["sequence"])},
        usage,
        {entitlement.entitlement_id: entitlement} if entitlement else {},
        rows,
        ttl,
    )


def resign(signer: Signer, receipt: Receipt, **changes: Any) -> Receipt:
    """What an insider holding a signing key can do: edit a body (event_sha256 recomputed, so
    the contract holds) and sign it properly. Links from the next receipt are left stale."""
    body = {k: v for k, v in receipt.items() if k not in ("receipt_hash", "signature")}
    body.update(changes)
    event = validate_event(event_of(body))
    assert isinstance(event, Event), event
    body["event_sha256"] = event.event_sha256
    [token] = sign_payloads(signer, [canonical_bytes(body)])
    return {**body, "receipt_hash": sha256_hex(canonical_bytes(body)), "signature": token}
