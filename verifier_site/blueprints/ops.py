"""For operators and tools: health, Prometheus metrics, and the OpenAPI description."""

from flask import Blueprint, Response, current_app, jsonify

from verifier_site.intake import intake_state
from verifier_site.key_source import site_keys
from verifier_site.metrics import exposition, set_intake_frozen
from verifier_site.openapi import openapi_document
from verifier_site.storage import get_store

blueprint = Blueprint("ops", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Ready when the store answers a read and at least one public key is published. A frozen
    intake is reported, and is healthy: the site still serves receipts and verifies."""
    checks: dict[str, str] = {}
    intake: dict[str, object] = {"frozen": None}
    try:
        get_store().receipts_page("-healthz-", 0, 1)
        checks["store"] = "ok"
        state = intake_state()
        intake = {"frozen": state.frozen, "reason": state.reason, "since": state.changed_at, "by": state.changed_by}
    except Exception as error:  # a health check reports, never crashes
        current_app.logger.warning("health check: store failed: %s", error)
        checks["store"] = "unavailable"
    try:
        count = len(site_keys().jwks()["keys"])
        checks["keys"] = "ok" if count else "no published keys"
    except Exception as error:
        current_app.logger.warning("health check: keys failed: %s", error)
        checks["keys"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks, "intake": intake}
    return jsonify(body), 200 if healthy else 503


@blueprint.get("/metrics")
def metrics() -> Response:
    try:
        set_intake_frozen(intake_state().frozen)
    except Exception as error:  # the metrics still answer; the gauge keeps its last value
        current_app.logger.warning("metrics: intake state unavailable: %s", error)
    return exposition()


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(current_app.config))
