"""The receipt contract (DESIGN.md, v1): the fields a signed body holds and the rules each
obeys, checked on a body whose signature and canonical form are verified already."""

import re
from collections.abc import Mapping
from typing import Any

from receipts.canonical import ZERO_HASH
from receipts.events import Event, validate_event
from receipts.ledger import ACCEPTED, RECEIPT_VERSION, REJECTED, event_of
from receipts.money import parse_balance

BODY_FIELDS = frozenset(
    {
        "v",
        "receipt_id",
        "customer_id",
        "sequence",
        "previous_receipt_hash",
        "idempotent_key",
        "event_sha256",
        "entitlement_id",
        "amount",
        "currency",
        "usage_description",
        "event_timestamp",
        "processed_at",
        "status",
        "reason",
        "balance_after",
        "quota_remaining",
        "kid",
    }
)
EXPORT_EXTRA_FIELDS = ("receipt_hash", "signature")  # an exported receipt: the body fields and these
HEX64 = re.compile(r"[0-9a-f]{64}")
UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z", re.ASCII)
DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def contract_problem(body: Mapping[str, Any], header_kid: str | None) -> str | None:
    """First way the signed body breaks the v1 receipt contract (DESIGN.md), or None."""
    missing = sorted(BODY_FIELDS - set(body))
    extra = sorted(set(body) - BODY_FIELDS)
    if missing or extra:
        return f"body fields: missing {missing}, unexpected {extra}"
    if body["v"] != RECEIPT_VERSION or not is_int(body["v"]):
        return f"v must be {RECEIPT_VERSION}"
    fields = event_of(body)
    if not isinstance(fields["amount"], str):  # a receipt's amount is text, never a JSON number
        fields["amount"] = None
    event = validate_event(fields)
    if not isinstance(event, Event):
        return f"event fields: {event.detail}"
    if event.amount != body["amount"]:
        return f"amount {body['amount']!r} must have exactly {body['currency']}'s minor digits ({event.amount!r})"
    if event.timestamp != body["event_timestamp"]:
        return f"event_timestamp must be normalized to UTC ({event.timestamp!r})"
    if event.receipt_id != body["receipt_id"]:
        return f"receipt_id is not derived from customer_id and idempotent_key (expected {event.receipt_id})"
    if event.event_sha256 != body["event_sha256"]:
        return "event_sha256 does not match the event fields in the body"
    sequence, previous = body["sequence"], body["previous_receipt_hash"]
    if not is_int(sequence) or sequence < 1:
        return "sequence must be an integer >= 1"
    if not isinstance(previous, str) or not HEX64.fullmatch(previous):
        return "previous_receipt_hash must be 64 lowercase hex digits"
    if (sequence == 1) != (previous == ZERO_HASH):
        return "previous_receipt_hash must be 64 zeros exactly when sequence is 1"
    if body["status"] not in (ACCEPTED, REJECTED):
        return f"status must be {ACCEPTED!r} or {REJECTED!r}"
    if (body["status"] == ACCEPTED) != (body["reason"] is None):
        return "reason must be null for an accepted receipt and a string for a rejected one"
    if body["reason"] is not None and not isinstance(body["reason"], str):
        return "reason must be a string"
    if parse_balance(body["balance_after"], body["currency"]) is None:
        return f"balance_after must be a non-negative amount with {body['currency']}'s minor digits"
    remaining = body["quota_remaining"]
    if remaining is not None and not (isinstance(remaining, str) and DECIMAL_TEXT.fullmatch(remaining)):
        return "quota_remaining must be null or a decimal string"
    if not isinstance(body["processed_at"], str) or not UTC_TIMESTAMP.fullmatch(body["processed_at"]):
        return "processed_at must be an RFC 3339 UTC timestamp"
    if body["kid"] != header_kid:
        return f"body kid {body['kid']!r} is not the JWS header kid {header_kid!r}"
    return None


def is_int(value: Any) -> bool:
    """A JSON integer: an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def signed_body(receipt: Mapping[str, Any]) -> dict[str, Any]:
    """The body fields of an exported receipt: everything but EXPORT_EXTRA_FIELDS."""
    return {name: value for name, value in receipt.items() if name not in EXPORT_EXTRA_FIELDS}
