"""Verify what the caller holds: a receipt or a chain segment, pasted, uploaded or POSTed.
Public and stateless: nothing is stored. The page verifies in the browser (static/);
the form's server answer and POST /v1/verify use receipts.verify like everything else."""

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from receipts.reading import Unreadable, read_receipts, readable_and_not
from receipts.verify import Verification, verify_chain
from verifier_site.bodies import body_limit
from verifier_site.checks import failed_checks, headlines, result_json, summarize
from verifier_site.errors import SiteError
from verifier_site.key_source import trusted_delegations, trusted_jwks
from verifier_site.metrics import count_verification

blueprint = Blueprint("verify", __name__)


def read_submitted(data: bytes) -> tuple[list[dict[str, Any]], list[Unreadable]]:
    """Read receipts the way `receipts verify` does: JSONL (split on "\\n" only), an array or one object."""
    try:
        items = list(read_receipts(data))
    except UnicodeDecodeError as error:
        raise SiteError(400, f"the receipts are not UTF-8 text: {error}", code="invalid_body") from error
    limit = current_app.config["MAX_VERIFY_RECEIPTS"]
    if not items:
        raise SiteError(400, "no receipts given: paste or send receipt JSON, or JSONL", code="invalid_body")
    if len(items) > limit:
        raise SiteError(413, f"at most {limit} receipts per request", code="too_many_receipts")
    return readable_and_not(items)


def verify_receipts(receipts: list[dict[str, Any]], source: str) -> list[Verification]:
    results = verify_chain(receipts, trusted_jwks(), trusted_delegations())
    for result in results:
        count_verification(source, result.ok)
    return results


@blueprint.get("/verify")
def page() -> str:
    return render_template("verify.html", rows=None, text="")


@blueprint.post("/verify")
@body_limit("MAX_CONTENT_LENGTH")
def form() -> str:
    """The page's form without JavaScript: the server's verdict, same checks as the API.
    A blank or unreadable paste is shown back on the page with what to do."""
    if "receipts" not in request.form:
        raise SiteError(400, "the form has no receipts field", code="invalid_body")
    upload = request.files.get("file")
    data = upload.read() if upload is not None and upload.filename else b""
    if not data:
        data = request.form["receipts"].encode("utf-8")
    text = data.decode("utf-8", errors="replace")
    try:
        receipts, unreadable = read_submitted(data)
    except SiteError as error:
        if error.status != 400:
            raise
        return render_template("verify.html", rows=None, text=text, problem=error.message)
    results = verify_receipts(receipts, "form")
    rows = [(result, headlines(result)) for result in results]
    summary = summarize(results, unreadable)
    return render_template("verify.html", rows=rows, summary=summary, failed_checks=failed_checks, text=text)


@blueprint.post("/v1/verify")
@body_limit("MAX_CONTENT_LENGTH")
def api() -> Response:
    """JSON in (a receipt, an array of receipts) or JSONL; the checks of each receipt out."""
    receipts, unreadable = read_submitted(request.get_data(cache=False))
    if unreadable:
        first = unreadable[0]
        raise SiteError(
            400,
            f"{len(unreadable)} item(s) are not receipt objects; first: line {first.line}: {first.reason}",
            code="invalid_body",
        )
    results = verify_receipts(receipts, "api")
    return jsonify(
        {
            "ok": all(result.ok for result in results),
            "count": len(results),
            "results": [result_json(r) for r in results],
        }
    )
