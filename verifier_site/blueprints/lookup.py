"""Pages for people: look a receipt up with an API key, see it checked, get its evidence."""

from flask import Blueprint, Response, redirect, render_template, request, url_for

from receipts.canonical import RECEIPT_ID_PATTERN
from verifier_site import evidence
from verifier_site.auth import owned_receipt, session_required, sign_in, sign_out, signed_in_key
from verifier_site.checks import report
from verifier_site.credit_notes import credit_notes
from verifier_site.errors import SiteError
from verifier_site.key_source import site_keys, trusted_jwks
from verifier_site.log_proofs import log_status
from verifier_site.storage import get_store
from verifier_site.submissions import submission_view

blueprint = Blueprint("lookup", __name__)


@blueprint.get("/")
def index() -> str:
    return render_template("index.html", signed_in=signed_in_key(), text="")


@blueprint.post("/lookup")
def lookup() -> Response:
    """Sign in with the key typed in (or keep the session's) and go to the receipt's page."""
    receipt_id = request.form.get("receipt_id", "").strip()
    if not RECEIPT_ID_PATTERN.fullmatch(receipt_id):
        raise SiteError(400, "a receipt id is r_ followed by 26 characters a-z and 2-7", code="invalid_receipt_id")
    key = request.form.get("api_key", "")
    if key.strip():
        sign_in(key)
    elif signed_in_key() is None:
        raise SiteError(401, "enter your API key to see this receipt", code="sign_in_required")
    return redirect(url_for("lookup.receipt", receipt_id=receipt_id), code=303)


@blueprint.post("/sign-out")
def leave() -> Response:
    sign_out()
    return redirect(url_for("lookup.index"), code=303)


@blueprint.get("/receipts/<receipt_id>")
@session_required
def receipt(receipt_id: str) -> str:
    record = owned_receipt(receipt_id)
    built = report(get_store(), record, trusted_jwks(), "page")
    return render_template(
        "receipt.html",
        report=built,
        log=log_status(record),
        submission=submission_view(record),
        credits=credit_notes(record),
    )


@blueprint.get("/receipts/<receipt_id>/evidence")
@session_required
def printable_evidence(receipt_id: str) -> Response:
    built = report(get_store(), owned_receipt(receipt_id), trusted_jwks(), "evidence")
    return evidence.respond(evidence.build(built, site_keys()), "html")


@blueprint.get("/receipts/<receipt_id>/evidence.zip")
@session_required
def evidence_zip(receipt_id: str) -> Response:
    built = report(get_store(), owned_receipt(receipt_id), trusted_jwks(), "evidence")
    return evidence.respond(evidence.build(built, site_keys()), "zip")
