"""The receipt contract (DESIGN.md, v1 and v2): the fields a signed body holds and the rules
each obeys, checked on a body whose signature and canonical form are verified already. v2 adds
`type` and `corrects` (credit notes); a v1 body is read as it was signed, a charge."""

import re
from collections.abc import Mapping
from typing import Any

from receipts.canonical import RECEIPT_ID_PATTERN, ZERO_HASH
from receipts.events import CHARGE, CREDIT, Event, validate_event
from receipts.ledger import ACCEPTED, REJECTED, V2_EVENT_FIELDS, event_of
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
)  # contract v1
BODY_FIELDS_V2 = BODY_FIELDS | frozenset(V2_EVENT_FIELDS)
VERSIONS = (1, 2)
EXPORT_EXTRA_FIELDS = ("receipt_hash", "signature")  # an exported receipt: the body fields and these
HEX64 = re.compile(r"[0-9a-f]{64}")
UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z", re.ASCII)
DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def contract_problem(body: Mapping[str, Any], header_kid: str | None) -> str | None:
    """First way the signed body breaks the receipt contract of its version (DESIGN.md), or None."""
    version = body.get("v")
    expected = BODY_FIELDS_V2 if is_int(version) and version == 2 else BODY_FIELDS
    if body.keys() != expected:
        missing, extra = sorted(expected - set(body)), sorted(set(body) - expected)
        return f"body fields: missing {missing}, unexpected {extra}"
    if not is_int(version) or version not in VERSIONS:
        return "v must be 1 or 2"
    if version == 2:
        problem = _correction_problem(body)
        if problem:
            return problem
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


def _correction_problem(body: Mapping[str, Any]) -> str | None:
    """v2's `type` and `corrects`, before the event fields (which hold them too) are checked."""
    kind, corrects = body["type"], body["corrects"]
    if kind not in (CHARGE, CREDIT):
        return f"type must be {CHARGE!r} or {CREDIT!r}"
    if kind == CHARGE and corrects is not None:
        return "corrects must be null for a charge"
    if kind == CREDIT and not (isinstance(corrects, str) and RECEIPT_ID_PATTERN.fullmatch(corrects)):
        return "corrects must be a receipt id (r_ and 26 base32 characters) for a credit"
    return None


def is_int(value: Any) -> bool:
    """A JSON integer: an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def signed_body(receipt: Mapping[str, Any]) -> dict[str, Any]:
    """The body fields of an exported receipt: everything but EXPORT_EXTRA_FIELDS."""
    return {name: value for name, value in receipt.items() if name not in EXPORT_EXTRA_FIELDS}
