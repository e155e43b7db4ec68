"""A receipt's credit notes as its page and `GET /v1/receipts/<id>?credits=true` show them:
a credit links the charge it corrects; a charge lists its credits (accepted and rejected)
and what is still creditable (receipts.credits.credit_standing, from the signed receipts).

Only for a viewer who may read the receipt's customer (the routes check that first, with
verifier_site.auth.owned_receipt); a credit and its charge are always one customer's, and a
`corrects` naming another customer's receipt is shown as not found, as the chain refused it.
"""

from typing import Any

from flask import url_for

from receipts.canonical import RECEIPT_ID_PATTERN
from receipts.credits import credit_standing
from receipts.events import CREDIT
from receipts.money import format_amount
from verifier_site.auth import may_see
from verifier_site.storage import get_store


def credit_notes(record: dict[str, Any]) -> dict[str, Any]:
    """For a credit `{"type": "credit", "corrects": {...}}`; for a charge `{"type": "charge",
    "credits": [...], "credited": ..., "remaining": ..., "currency": ...}`."""
    if record.get("type") == CREDIT:
        return {"type": CREDIT, "corrects": _corrected(record)}
    credits = get_store().credits_of(record["customer_id"], [record["receipt_id"]]).get(record["receipt_id"], [])
    standing = credit_standing(record, credits)
    summary: dict[str, Any] = {"type": "charge", "credits": [_link(credit) for credit in credits]}
    if standing is not None:
        summary |= {
            "currency": standing.currency,
            "credited": format_amount(standing.credited_minor, standing.currency),
            "remaining": format_amount(standing.remaining_minor, standing.currency),
        }
    return summary


def _corrected(credit: dict[str, Any]) -> dict[str, Any]:
    named = credit.get("corrects")
    if not isinstance(named, str) or not RECEIPT_ID_PATTERN.fullmatch(named):
        return {"receipt_id": None, "found": False}
    charge = get_store().receipt(named)
    if charge is None or charge.get("customer_id") != credit.get("customer_id") or not may_see(charge["customer_id"]):
        return {"receipt_id": named, "found": False}
    return {**_link(charge), "found": True}


def _link(receipt: dict[str, Any]) -> dict[str, Any]:
    rid = receipt["receipt_id"]
    return {
        "receipt_id": rid,
        "sequence": receipt.get("sequence"),
        "amount": receipt.get("amount"),
        "currency": receipt.get("currency"),
        "status": receipt.get("status"),
        "reason": receipt.get("reason"),
        "url": url_for("api.receipt", receipt_id=rid),
        "page": url_for("lookup.receipt", receipt_id=rid),
    }
