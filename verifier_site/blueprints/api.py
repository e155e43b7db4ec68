"""The customer API: a receipt, a chain segment, an evidence bundle; one customer per
customer key, any customer for an operator key (receipts.api_keys.may_read)."""

import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from receipts.canonical import RECEIPT_ID_PATTERN
from receipts.events import CREDIT
from receipts.ledger import MAX_SEQUENCE
from verifier_site import evidence
from verifier_site.auth import api_key_required, owned_receipt, owned_receipt_and_neighbour_ids, readable_customer
from verifier_site.checks import neighbours, report
from verifier_site.credit_notes import credit_notes
from verifier_site.errors import SiteError
from verifier_site.key_source import site_keys, trusted_jwks
from verifier_site.storage import get_store

blueprint = Blueprint("api", __name__, url_prefix="/v1")
DIGITS = re.compile(r"[0-9]{1,16}", re.ASCII)


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    """A bounded integer query parameter: plain digits only, else 400 naming the bounds."""
    text = request.args.get(name)
    if text is None:
        return default
    value = int(text) if DIGITS.fullmatch(text) else None
    if value is None or not minimum <= value <= maximum:
        raise SiteError(400, f"{name} must be an integer from {minimum} to {maximum}", code="invalid_parameter")
    return value


def _links(corrects: str | None = None, **targets: str | None) -> str:
    """A Link header; `corrects` (a receipt id) links the charge a credit corrects."""
    if corrects:
        targets["corrects"] = url_for("api.receipt", receipt_id=corrects)
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in targets.items() if url)


@blueprint.get("/receipts/<receipt_id>")
@api_key_required
def receipt(receipt_id: str) -> Response:
    """The receipt in the export format (what `receipts verify` and POST /v1/verify take);
    `?credits=true` adds `credit_notes`: a credit's charge, or a charge's credits and what
    is still creditable (verifier_site/credit_notes.py)."""
    credits = request.args.get("credits", "false")
    if credits not in ("true", "false"):
        raise SiteError(400, "credits must be true or false", code="invalid_parameter")
    record, previous, following = owned_receipt_and_neighbour_ids(receipt_id)
    extra = {"credit_notes": credit_notes(record)} if credits == "true" else None
    return receipt_response(record, extra, (previous, following))


def receipt_response(
    record: dict[str, Any],
    extra: dict[str, Any] | None = None,
    neighbour_ids: tuple[str | None, str | None] | None = None,
) -> Response:
    """A receipt as GET /v1/receipts/<id> answers it (POST /v1/events?wait answers the same),
    with its neighbours (their ids, when the caller read them with the receipt) and, for a
    credit, the charge it corrects as links."""
    if neighbour_ids is None:
        before, after = neighbours(get_store(), record)
        neighbour_ids = (before and before["receipt_id"], after and after["receipt_id"])
    previous, following = neighbour_ids
    response = jsonify({**record, **(extra or {})})
    corrects = record.get("corrects") if record.get("type") == CREDIT else None
    links = _links(
        prev=previous and url_for("api.receipt", receipt_id=previous),
        next=following and url_for("api.receipt", receipt_id=following),
        corrects=corrects if isinstance(corrects, str) and RECEIPT_ID_PATTERN.fullmatch(corrects) else None,
    )
    if links:
        response.headers["Link"] = links
    return response


@blueprint.get("/customers/<customer_id>/receipts")
@api_key_required
def customer_receipts(customer_id: str) -> Response:
    """A chain segment: receipts with sequence > `after`, at most `limit`, in order."""
    readable_customer(customer_id)
    config = current_app.config
    after = int_arg("after", 0, 0, MAX_SEQUENCE)
    limit = int_arg("limit", config["PAGE_LIMIT_DEFAULT"], 1, config["PAGE_LIMIT_MAX"])
    page = get_store().receipts_page(customer_id, after, limit + 1)
    next_after = page[limit - 1]["sequence"] if len(page) > limit else None
    response = jsonify(
        {"customer_id": customer_id, "after": after, "limit": limit, "receipts": page[:limit], "next_after": next_after}
    )
    if next_after is not None:
        url = url_for("api.customer_receipts", customer_id=customer_id, after=next_after, limit=limit)
        response.headers["Link"] = _links(next=url)
    return response


@blueprint.get("/receipts/<receipt_id>/evidence")
@api_key_required
def receipt_evidence(receipt_id: str) -> Response:
    """The dispute evidence bundle: a zip (default), one JSON document, or a printable page."""
    kind = request.args.get("format", "zip")
    if kind not in evidence.FORMATS:
        raise SiteError(400, f"format must be one of {', '.join(evidence.FORMATS)}", code="invalid_parameter")
    record = owned_receipt(receipt_id)
    bundle = evidence.build(report(get_store(), record, trusted_jwks(), "evidence"), site_keys())
    return evidence.respond(bundle, kind)
