"""The producers' API: POST /v1/events and /v1/events:batch.

An event is validated by `receipts.events.parse_event` (the pipeline's own rules), must be
one the API key may post (receipts.api_keys.may_post: a customer key its own customer's
charges, an operator key any customer's charges and credits), and is published to Pub/Sub as the exact bytes received,
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

from receipts.api_keys import may_post
from receipts.batches import UnreadableBatch, split_batch
from receipts.events import CREDIT, Event, parse_event
from receipts.rows import ApiKeyRecord
from verifier_site.auth import bearer_key
from verifier_site.blueprints.api import receipt_response
from verifier_site.bodies import body_limit
from verifier_site.errors import SiteError
from verifier_site.ingest import Refusal, count_event, get_publisher, request_place
from verifier_site.ingest_wait import count_wait, poll_receipt, stored_receipt, wait_seconds, waiting_place
from verifier_site.intake import refuse_while_frozen
from verifier_site.metrics import count_rate_limited
from verifier_site.ratelimit import bounded_elsewhere, charge_client_ip
from verifier_site.submissions import record_submissions

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
def create_event() -> Response | tuple[Response, int, dict[str, str]]:
    """One event; 202 with its receipt_id once Pub/Sub has it. With ?wait=S, 200 with the
    receipt itself when it is stored within S seconds (verifier_site/ingest_wait.py)."""
    wait = wait_seconds()
    key = _authenticated_key()
    with request_place(_place(key)):
        if wait is None:
            [outcome] = ingest([request.get_data(cache=False)], key)
        else:
            with waiting_place(_place(key)):
                outcome = ingest_and_wait(request.get_data(cache=False), key, wait)
    if outcome.status == 200:
        return receipt_response(outcome.body)
    if outcome.status != 202:
        error = outcome.body["error"]
        extra = {name: value for name, value in error.items() if name not in ("code", "message")}
        if outcome.receipt_id:
            extra["receipt_id"] = outcome.receipt_id
        raise SiteError(outcome.status, error["message"], error["code"], outcome.headers, extra)
    return jsonify(outcome.body), 202, {"Location": outcome.body["receipt_url"], **outcome.headers}


def ingest_and_wait(raw: bytes, key: ApiKeyRecord, seconds: float) -> Outcome:
    """The receipt (200) if stored for this very event already (a duplicate: nothing is
    published) or within `seconds` of the publish; 409 if another event holds its receipt
    id (it is published all the same, for the pipeline to keep as a dead letter); else
    what a plain post answers."""
    checked = check(raw, key)
    if isinstance(checked, Outcome):
        count_event(checked.body["error"]["code"])
        return checked
    customer = checked.customer_id  # one the key may post for, so may read
    found = stored_receipt(checked.receipt_id, customer)
    if found is not None and found.get("event_sha256") == checked.event_sha256:
        count_wait("duplicate")
        return Outcome(200, found, receipt_id=checked.receipt_id)
    [outcome] = publish([(raw, checked)])
    if outcome.status != 202:
        return outcome
    found = found or poll_receipt(checked.receipt_id, customer, seconds)
    if found is None:
        count_wait("pending")
        return outcome
    if found.get("event_sha256") != checked.event_sha256:
        count_wait("conflict")
        message = (
            f"receipt {checked.receipt_id} was made for another event with this idempotent_key "
            f"(event_sha256 {found.get('event_sha256')}, this one {checked.event_sha256}): this one charges "
            "nothing and is kept as an idempotency_conflict dead letter; send a new idempotent_key for a new charge"
        )
        return _refused(409, "idempotency_conflict", message, receipt_id=checked.receipt_id)
    count_wait("receipt")
    return Outcome(200, found, receipt_id=checked.receipt_id)


@blueprint.post("/events:batch")
@bounded_elsewhere
@body_limit("INGEST_MAX_BATCH_BYTES")
def create_events() -> tuple[Response, int, dict[str, str]]:
    """Up to INGEST_MAX_BATCH events (a JSON array, or JSONL as application/x-ndjson),
    answered per event: 202 when every event was accepted, else 207 with each one's status."""
    if "wait" in request.args:
        raise SiteError(400, "wait is for POST /v1/events, one event at a time", code="invalid_parameter")
    key = _authenticated_key()
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
    with request_place(_place(key)):
        outcomes = ingest(messages, key)
    results = [
        {"index": index, "http_status": o.status, **({"receipt_id": o.receipt_id} if o.receipt_id else {}), **o.body}
        for index, o in enumerate(outcomes)
    ]
    accepted = sum(1 for o in outcomes if o.status == 202)
    retry = [int(o.headers["Retry-After"]) for o in outcomes if "Retry-After" in o.headers]
    headers = {"Retry-After": str(max(retry))} if retry else {}
    body = {"accepted": accepted, "refused": len(outcomes) - accepted, "results": results}
    return jsonify(body), 202 if accepted == len(outcomes) else 207, headers


def _authenticated_key() -> ApiKeyRecord:
    """The request's key. Ingest is bounded by publishes in flight, not by request rate; a
    failed authentication still spends the caller's per-IP budget, as elsewhere. While
    intake is frozen, nothing is read or published: 503 intake_frozen."""
    if get_publisher() is None:
        raise SiteError(503, NOT_CONFIGURED, code="ingest_not_configured")
    try:
        key = bearer_key()
    except SiteError:
        charge_client_ip()
        raise
    refuse_while_frozen()
    return key


def _place(key: ApiKeyRecord) -> str:
    """Whose places in progress a request takes: its customer's, or, for an operator key
    (no customer), the key's own; the per-customer bound on publishes in flight still holds."""
    return key.customer_id or f"operator {key.key_id}"


def ingest(messages: list[bytes], key: ApiKeyRecord) -> list[Outcome]:
    """Validate each message, publish the valid ones the key may post, wait for Pub/Sub."""
    outcomes: list[Outcome | None] = []
    valid: list[tuple[int, tuple[bytes, Event]]] = []
    for index, raw in enumerate(messages):
        checked = check(raw, key)
        if isinstance(checked, Event):
            outcomes.append(None)
            valid.append((index, (raw, checked)))
        else:
            count_event(checked.body["error"]["code"])
            outcomes.append(checked)
    for (index, _), outcome in zip(valid, publish([pair for _, pair in valid]), strict=True):
        outcomes[index] = outcome
    assert None not in outcomes, "every valid event was published"
    return outcomes  # type: ignore[return-value]


def check(raw: bytes, key: ApiKeyRecord) -> Event | Outcome:
    """The event, or the refusal a post of it gets (403 another customer's or a credit with a
    customer key, 400 invalid)."""
    now, max_ahead = datetime.now(UTC), timedelta(seconds=current_app.config["INGEST_MAX_FUTURE_SECONDS"])
    event = parse_event(raw, now, max_ahead)
    named = event.customer_id  # an invalid event names one when that field itself is valid
    refused = may_post(key, named, credit=False) if named is not None else None
    if refused is not None:
        return _refused(403, *refused)
    if not isinstance(event, Event):
        errors = [error.as_dict() for error in event.errors]
        return _refused(400, "invalid_event", f"the event is not valid: {event.detail}", errors=errors)
    refused = may_post(key, event.customer_id, credit=event.kind == CREDIT)
    if refused is not None:  # a customer key's credit: credits come from the operator
        return _refused(403, *refused, receipt_id=event.receipt_id)
    return event


def publish(events: list[tuple[bytes, Event]]) -> list[Outcome]:
    """Publish each event's exact bytes, wait for Pub/Sub, record who submitted the accepted
    ones (verifier_site/submissions.py); one outcome per event, counted."""
    publisher = get_publisher()
    assert publisher is not None
    outcomes: list[Outcome | None] = []
    pending: list[tuple[int, Event, Future]] = []
    for index, (raw, event) in enumerate(events):
        submitted = publisher.submit(event, raw)
        if isinstance(submitted, Refusal):
            outcomes.append(_from_refusal(submitted, event))
        else:
            outcomes.append(None)
            pending.append((index, event, submitted))
    accepted: list[tuple[int, Event]] = []
    for (index, event, _), result in zip(pending, publisher.wait([f for _, _, f in pending]), strict=True):
        if isinstance(result, Refusal):
            outcomes[index] = _from_refusal(result, event)
        else:
            accepted.append((index, event))
    failure = record_submissions([event for _, event in accepted])
    for index, event in accepted:
        outcomes[index] = (
            _accepted(event)
            if failure is None
            else _refused(503, "submission_not_recorded", failure, {"Retry-After": "1"}, event.receipt_id)
        )
    assert None not in outcomes, "every publish was waited for"
    for outcome in outcomes:
        count_event(outcome.body.get("error", {}).get("code", "accepted"))
    return outcomes  # type: ignore[return-value]


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
