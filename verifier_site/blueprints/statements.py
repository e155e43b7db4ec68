"""Statements on the customer API: a customer's statements, one statement with its lines and
its check (recomputed here from the stored chain with receipts.statements, the function
`receipts verify` and the reconciliation use), and its evidence bundle
(verifier_site/statement_evidence.py). Who may read which customer's is
receipts.api_keys.may_read, as for receipts."""

import re

from flask import Blueprint, Response, jsonify, request, url_for

from receipts.statements import Period, select_lines, verify_statement
from verifier_site import statement_evidence as statement_evidence_bundle
from verifier_site.auth import api_key_required, may_see, readable_customer
from verifier_site.errors import SiteError
from verifier_site.key_source import site_keys, trusted_jwks
from verifier_site.storage import get_store

blueprint = Blueprint("statements", __name__, url_prefix="/v1")
STATEMENT_ID_PATTERN = re.compile(r"s_[a-z2-7]{26}", re.ASCII)


def _kept(store):
    if not hasattr(store, "statements"):
        raise SiteError(404, "this site's store keeps no statements yet", code="not_found")
    return store


@blueprint.get("/customers/<customer_id>/statements")
@api_key_required
def customer_statements(customer_id: str) -> Response:
    """The customer's statements, oldest period first (export format)."""
    readable_customer(customer_id)
    return jsonify({"customer_id": customer_id, "statements": list(_kept(get_store()).statements(customer_id))})


def _readable_statement(statement_id: str) -> dict:
    """The stored statement, if the key may read its customer's (another customer's answers
    like a missing one); 400 for a malformed id."""
    if not STATEMENT_ID_PATTERN.fullmatch(statement_id):
        raise SiteError(400, "a statement id is s_ followed by 26 characters a-z and 2-7", code="invalid_statement_id")
    record = _kept(get_store()).statement(statement_id)
    if record is None or not may_see(record.get("customer_id")):
        raise SiteError(404, f"no statement {statement_id} for this API key's customer")
    return record


@blueprint.get("/statements/<statement_id>")
@api_key_required
def statement(statement_id: str) -> Response:
    """One statement (export format); `?lines=true` adds its lines (sequence, receipt id and
    hash, late), `verification`, its checks recomputed from the stored chain, and
    `evidence_url`. A Link header (rel="evidence") names its evidence bundle either way."""
    lines = request.args.get("lines", "false")
    if lines not in ("true", "false"):
        raise SiteError(400, "lines must be true or false", code="invalid_parameter")
    record = _readable_statement(statement_id)
    store = get_store()
    evidence_url = url_for("statements.statement_evidence", statement_id=statement_id)
    if lines == "false":
        response = jsonify(record)
        response.headers["Link"] = f'<{evidence_url}>; rel="evidence"'
        return response
    customer = record["customer_id"]
    chain = [receipt for receipt in store.receipts(customer) if receipt["sequence"] <= record["closing_sequence"] + 1]
    previous = store.previous_statement(customer, record["period"])
    result = verify_statement(record, trusted_jwks(), chain, previous)
    chosen = select_lines(
        chain, Period.parse(record["period"]), record["closing_sequence"], record["previous_closing_sequence"]
    )
    response = jsonify(
        {
            **record,
            "evidence_url": evidence_url,
            "lines": [
                {
                    "sequence": line.sequence,
                    "receipt_id": line.receipt["receipt_id"],
                    "receipt_hash": line.receipt_hash,
                    "late": line.late,
                }
                for line in chosen
            ],
            "verification": {
                "ok": result.ok,
                "checks": [{"check": c.check, "ok": c.ok, "reason": c.reason} for c in result.checks],
            },
        }
    )
    response.headers["Link"] = f'<{evidence_url}>; rel="evidence"'
    return response


@blueprint.get("/statements/<statement_id>/evidence")
@api_key_required
def statement_evidence(statement_id: str) -> Response:
    """The statement evidence bundle: a zip with verify.sh (default), or one JSON document."""
    kind = request.args.get("format", "zip")
    if kind not in statement_evidence_bundle.FORMATS:
        raise SiteError(
            400, f"format must be one of {', '.join(statement_evidence_bundle.FORMATS)}", code="invalid_parameter"
        )
    record = _readable_statement(statement_id)
    bundle = statement_evidence_bundle.build(get_store(), record, site_keys(), trusted_jwks())
    return statement_evidence_bundle.respond(bundle, kind)
