"""The customer API: a receipt, a chain segment, an evidence bundle; one customer per
customer key, any customer for an operator key (receipts.api_keys.may_read)."""

import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from receipts.ledger import MAX_SEQUENCE
from verifier_site import evidence
from verifier_site.auth import api_key_required, owned_receipt, readable_customer
from verifier_site.checks import neighbours, report
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


def _links(**targets: str | None) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in targets.items() if url)


@blueprint.get("/receipts/<receipt_id>")
@api_key_required
def receipt(receipt_id: str) -> Response:
    """The receipt in the export format (what `receipts verify` and POST /v1/verify take)."""
    return receipt_response(owned_receipt(receipt_id))


def receipt_response(record: dict[str, Any]) -> Response:
    """A receipt as GET /v1/receipts/<id> answers it (POST /v1/events?wait answers the same)."""
    previous, following = neighbours(get_store(), record)
    response = jsonify(record)
    links = _links(
        prev=previous and url_for("api.receipt", receipt_id=previous["receipt_id"]),
        next=following and url_for("api.receipt", receipt_id=following["receipt_id"]),
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
