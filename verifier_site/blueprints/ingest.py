"""The producers' API: POST /v1/events and /v1/events:batch.

An event is validated by `receipts.events.parse_event` (the pipeline's own rules), must
name the API key's customer, and is published to Pub/Sub as the exact bytes received,
with its idempotency attributes. 202 carries the deterministic receipt_id and the URL
where the receipt appears once the pipeline has written it. Requests are bounded by
publishes in flight (verifier_site/ingest.py), not by the per-IP and per-key buckets of
the read API: producers send many events a second from few addresses.
"""

from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from receipts.batches import UnreadableBatch, split_batch
from receipts.events import CREDIT, Event, parse_event
from verifier_site.auth import bearer_key
from verifier_site.bodies import body_limit
from verifier_site.errors import SiteError
from verifier_site.ingest import Refusal, count_event, get_publisher, request_place
from verifier_site.intake import refuse_while_frozen
from verifier_site.metrics import count_rate_limited
from verifier_site.ratelimit import bounded_elsewhere, charge_client_ip

blueprint = Blueprint("ingest", __name__, url_prefix="/v1")
NOT_CONFIGURED = (
    "ingest is not configured on this server: start it with a Pub/Sub topic "
    "(`receipts --store gcp://PROJECT serve`, `receipts serve --topic projects/P/topics/T`, or INGEST_TOPIC)"
)

JSONL_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/x-jsonlines"})
BATCH_FORMATS = "send a JSON array of events, or JSONL (one event per line) as application/x-ndjson"


@dataclass(frozen=True)
class Outcome:
    """One event's answer: what the single route would send for it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    receipt_id: str | None = None  # of a valid event, refused or not: a retry gets the same


@blueprint.post("/events")
@bounded_elsewhere
@body_limit("MAX_EVENT_BYTES")
def create_event() -> tuple[Response, int, dict[str, str]]:
    """One event; 202 with its receipt_id once Pub/Sub has it."""
    customer = _authenticated_customer()
    with request_place(customer):
        [outcome] = ingest([request.get_data(cache=False)], customer)
    if outcome.status != 202:
        error = outcome.body["error"]
        extra = {name: value for name, value in error.items() if name not in ("code", "message")}
        if outcome.receipt_id:
            extra["receipt_id"] = outcome.receipt_id
        raise SiteError(outcome.status, error["message"], error["code"], outcome.headers, extra)
    return jsonify(outcome.body), 202, {"Location": outcome.body["receipt_url"], **outcome.headers}


@blueprint.post("/events:batch")
@bounded_elsewhere
@body_limit("INGEST_MAX_BATCH_BYTES")
def create_events() -> tuple[Response, int, dict[str, str]]:
    """Up to INGEST_MAX_BATCH events (a JSON array, or JSONL as application/x-ndjson),
    answered per event: 202 when every event was accepted, else 207 with each one's status."""
    customer = _authenticated_customer()
    jsonl = request.mimetype in JSONL_TYPES
    try:
        messages = split_batch(request.get_data(cache=False), jsonl)
    except UnreadableBatch as error:
        raise SiteError(400, f"{error}: {BATCH_FORMATS}", code="invalid_body") from error
    limit = current_app.config["INGEST_MAX_BATCH"]
    if not messages:
        raise SiteError(400, f"no events given: {BATCH_FORMATS}", code="invalid_body")
    if len(messages) > limit:
        raise SiteError(413, f"at most {limit} events per batch; split it", code="too_many_events")
    with request_place(customer):
        outcomes = ingest(messages, customer)
    results = [
        {"index": index, "http_status": o.status, **({"receipt_id": o.receipt_id} if o.receipt_id else {}), **o.body}
        for index, o in enumerate(outcomes)
    ]
    accepted = sum(1 for o in outcomes if o.status == 202)
    retry = [int(o.headers["Retry-After"]) for o in outcomes if "Retry-After" in o.headers]
    headers = {"Retry-After": str(max(retry))} if retry else {}
    body = {"accepted": accepted, "refused": len(outcomes) - accepted, "results": results}
    return jsonify(body), 202 if accepted == len(outcomes) else 207, headers


def _authenticated_customer() -> str:
    """The key's customer. Ingest is bounded by publishes in flight, not by request rate; a
    failed authentication still spends the caller's per-IP budget, as elsewhere. While
    intake is frozen, nothing is read or published: 503 intake_frozen."""
    if get_publisher() is None:
        raise SiteError(503, NOT_CONFIGURED, code="ingest_not_configured")
    try:
        customer = bearer_key().customer_id
    except SiteError:
        charge_client_ip()
        raise
    refuse_while_frozen()
    return customer


def ingest(messages: list[bytes], customer: str) -> list[Outcome]:
    """Validate each message, publish the valid ones of this customer, wait for Pub/Sub."""
    publisher = get_publisher()
    assert publisher is not None
    outcomes: list[Outcome | None] = []
    pending: list[tuple[int, Event, Future]] = []
    now, max_ahead = datetime.now(UTC), timedelta(seconds=current_app.config["INGEST_MAX_FUTURE_SECONDS"])
    for index, raw in enumerate(messages):
        event = parse_event(raw, now, max_ahead)
        named = event.customer_id  # an invalid event names one when that field itself is valid
        if named is not None and named != customer:
            outcomes.append(_refused(403, "customer_mismatch", f"this API key is for {customer}, not {named}"))
        elif not isinstance(event, Event):
            errors = [error.as_dict() for error in event.errors]
            outcomes.append(_refused(400, "invalid_event", f"the event is not valid: {event.detail}", errors=errors))
        elif event.kind == CREDIT:  # credits come from trusted producers (Pub/Sub IAM), never a customer's key
            message = "a customer's API key may not post credits: credits are sent by the operator's producers"
            outcomes.append(_refused(403, "forbidden", message, receipt_id=event.receipt_id))
        else:
            submitted = publisher.submit(event, raw)
            if isinstance(submitted, Refusal):
                outcomes.append(_from_refusal(submitted, event))
            else:
                outcomes.append(None)
                pending.append((index, event, submitted))
    for (index, event, _), result in zip(pending, publisher.wait([f for _, _, f in pending]), strict=True):
        outcomes[index] = _from_refusal(result, event) if isinstance(result, Refusal) else _accepted(event)
    assert None not in outcomes, "every publish was waited for"
    for outcome in outcomes:
        count_event(outcome.body.get("error", {}).get("code", "accepted"))
    return outcomes


def _accepted(event: Event) -> Outcome:
    rid = event.receipt_id
    url = url_for("api.receipt", receipt_id=rid, _external=True)
    return Outcome(202, {"receipt_id": rid, "status": "pending", "receipt_url": url}, receipt_id=rid)


def _from_refusal(refusal: Refusal, event: Event) -> Outcome:
    if refusal.status == 429:
        count_rate_limited("in-flight publishes")
    headers = {"Retry-After": str(refusal.retry_after)}
    return _refused(refusal.status, refusal.code, refusal.message, headers, event.receipt_id)


def _refused(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    receipt_id: str | None = None,
    **extra: Any,
) -> Outcome:
    return Outcome(status, {"error": {"code": code, "message": message, **extra}}, headers or {}, receipt_id)
