"""Who sent an event through the site's API: for each event POST /v1/events accepts, the API
key id that submitted it, from which client address and when (the seed's dispute step
"check the customer's API key and IP logs").

A submission record is kept apart from the receipt (it is not signed and says nothing the
receipt says), keyed by the receipt id the event will get. The first accepted submission
of a (customer, idempotent key) is the one kept: it is the one that could have charged,
since a later post of the same event charges nothing, and recording each re-post would
let a retrying client grow personal data without bound. A client address is personal
data: it is kept until `address_until` (the site's retention, 90 days by default), then
dropped, while the key id, the time and the event's hash stay for as long as the receipt.
"""

import ipaddress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

DEFAULT_RETENTION_DAYS = 90
UNKNOWN_ADDRESS = "unknown"  # the server saw no IP address (a Unix socket, a malformed forwarded header)
MAX_ADDRESS = 64  # an IPv6 address with a zone: what the stores' column holds


@dataclass(frozen=True)
class SubmissionRecord:
    """One accepted API submission. `client_address` is None once dropped."""

    receipt_id: str
    customer_id: str
    key_id: str
    event_sha256: str
    submitted_at: datetime  # UTC
    client_address: str | None
    address_until: datetime | None  # UTC: when the address goes (None once it has)

    def as_of(self, now: datetime) -> "SubmissionRecord":
        """The record as it may be shown at `now`: an address past its retention is gone even
        where the store has not dropped it yet (Spanner's TTL runs within days, not at once)."""
        if self.address_until is not None and self.address_until <= now:
            return replace(self, client_address=None, address_until=None)
        return self


def client_address(remote: str | None) -> str:
    """The address as recorded: a valid IP address in its normal form (so one client is one
    text), else UNKNOWN_ADDRESS, never the raw text a header carried."""
    try:
        text = ipaddress.ip_address((remote or "").strip()).compressed
    except ValueError:
        return UNKNOWN_ADDRESS
    return text if len(text) <= MAX_ADDRESS else UNKNOWN_ADDRESS


def new_submission(
    receipt_id: str,
    customer_id: str,
    key_id: str,
    event_sha256: str,
    remote: str | None,
    now: datetime,
    retention: timedelta,
) -> SubmissionRecord:
    """The record of an event accepted at `now` from `remote`, its address kept for `retention`."""
    now = now.astimezone(UTC)
    return SubmissionRecord(receipt_id, customer_id, key_id, event_sha256, now, client_address(remote), now + retention)


def retention(days: float) -> timedelta:
    """The address retention a setting gives: at least a day (disputes take that long), at most ten years."""
    if not 1 <= days <= 3650:
        raise ValueError(f"the address retention must be 1 to 3650 days, not {days!r}")
    return timedelta(days=days)
