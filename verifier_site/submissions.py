"""Who sent an event, as the site records and shows it (receipts.submissions).

Recorded: for each event POST /v1/events accepts (Pub/Sub confirmed it), the API key id,
the client address (request.remote_addr: the peer, or behind TRUSTED_PROXIES the address
ProxyFix takes from X-Forwarded-For, counted from the right, so a client cannot choose it
by sending its own header) and the time; the first accepted submission of a receipt id
stays. Shown: on the receipt's page and in its evidence bundle, to whoever may see the
receipt, beside the signature; an event published to Pub/Sub directly has no record.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, request

from receipts.events import Event
from receipts.submissions import SubmissionRecord, new_submission, retention
from verifier_site.auth import current_key
from verifier_site.storage import get_store

DIRECT = "published directly to Pub/Sub (no API submission record)"
NOT_RECORDED = (
    "the event was published, but who sent it could not be recorded ({error}): send the same event again "
    "(the same idempotent_key is never charged twice)"
)


def now() -> datetime:
    """The site's wall clock for submissions (SUBMISSION_CLOCK in tests)."""
    clock = current_app.config["SUBMISSION_CLOCK"]
    return clock() if clock else datetime.now(UTC)


def record_submissions(events: Sequence[Event]) -> str | None:
    """Record the accepted events' submissions by this request's key, from its client
    address; None when done, else what failed (the events are published: a retry is safe)."""
    if not events:
        return None
    kept = retention(float(current_app.config["SUBMISSION_ADDRESS_DAYS"]))
    key_id, remote, at = current_key().key_id, request.remote_addr, now()
    records = [new_submission(e.receipt_id, e.customer_id, key_id, e.event_sha256, remote, at, kept) for e in events]
    try:
        get_store().add_submissions(records)
    except Exception as error:  # the store is unavailable: say so, the producer retries
        current_app.logger.warning("submissions not recorded: %s", error)
        return NOT_RECORDED.format(error=type(error).__name__)
    return None


def submission_view(receipt: dict[str, Any]) -> dict[str, Any]:
    """What the page and the evidence bundle say about who sent the receipt's event (JSON)."""
    record = get_store().submission(receipt["receipt_id"])
    if record is None or record.customer_id != receipt.get("customer_id"):
        return {"source": "pubsub", "summary": DIRECT}
    return _view(record.as_of(now()), receipt)


def _view(record: SubmissionRecord, receipt: dict[str, Any]) -> dict[str, Any]:
    at = record.submitted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    until = record.address_until.strftime("%Y-%m-%dT%H:%M:%SZ") if record.address_until else None
    where = (
        f"from {record.client_address} (kept until {until})"
        if record.client_address
        else "from an address dropped after its retention"
    )
    summary = f"submitted through POST /v1/events with API key {record.key_id} {where} at {at}"
    same = record.event_sha256 == receipt.get("event_sha256")
    if not same:
        summary += (
            f"; that submission carried another event (event_sha256 {record.event_sha256}) under this "
            "idempotency key: this receipt's event came another way"
        )
    if same and _after(record.submitted_at, receipt.get("processed_at")):
        summary += f", after this receipt was processed ({receipt['processed_at']}): a re-post, which charged nothing"
    return {
        "source": "api",
        "key_id": record.key_id,
        "client_address": record.client_address,
        "address_until": until,
        "submitted_at": at,
        "event_sha256": record.event_sha256,
        "same_event": same,
        "summary": summary,
        "note": "the issuer's record of the API request, not part of the signed receipt",
    }


def _after(moment: datetime, processed_at: Any) -> bool:
    try:
        return isinstance(processed_at, str) and moment > datetime.fromisoformat(processed_at)
    except (TypeError, ValueError):  # a receipt's field is the verifier's to judge, not this line's
        return False


def init_app(app: Flask) -> None:
    retention(float(app.config["SUBMISSION_ADDRESS_DAYS"]))  # a wrong setting stops the app being built
