"""Who submitted each event through the site's API (receipts.submissions) in Spanner: the
`Submissions` table (key id, event hash, time: kept) and `SubmissionAddresses` (the client
address, interleaved in it), whose row deletion policy drops each address at its
AddressUntil. Two tables because a TTL deletes whole rows, and the key id must stay when
the address goes. A part of `SpannerFirestoreStore` (receipts.stores.gcp.store), which
supplies `_database` and `_query`."""

from collections.abc import Sequence
from datetime import UTC, datetime

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from receipts.stores.retry import with_backoff
from receipts.submissions import SubmissionRecord

SUBMISSION_COLUMNS = ["ReceiptId", "CustomerId", "KeyId", "EventSha256", "SubmittedAt"]
ADDRESS_COLUMNS = ["ReceiptId", "ClientAddress", "SubmittedAt", "AddressUntil"]
SUBMISSION_QUERY = (
    "SELECT s.ReceiptId, s.CustomerId, s.KeyId, s.EventSha256, s.SubmittedAt, a.ClientAddress, a.AddressUntil "
    "FROM Submissions s LEFT JOIN SubmissionAddresses a ON a.ReceiptId = s.ReceiptId WHERE s.ReceiptId = @r"
)
SCRUB = "DELETE FROM SubmissionAddresses WHERE AddressUntil <= @now OR SubmittedAt < @before"


class SpannerSubmissions:
    """Submission records. Uses the store's `_database` and `_query`."""

    def add_submissions(self, records: Sequence[SubmissionRecord]) -> int:
        """One read-write transaction: read which receipt ids have a record, insert the others
        with their addresses (the first submission stays; a retried commit finds its own rows
        and adds nothing). Insert only: the site's role cannot change a record."""
        fresh = list({record.receipt_id: record for record in reversed(records)}.values())  # the first of each id

        def work(transaction) -> int:
            keys = spanner.KeySet(keys=[[record.receipt_id] for record in fresh])
            held = {row[0] for row in transaction.read("Submissions", ["ReceiptId"], keys)}
            new = [record for record in fresh if record.receipt_id not in held]
            if not new:
                return 0
            transaction.insert(
                "Submissions",
                SUBMISSION_COLUMNS,
                [[r.receipt_id, r.customer_id, r.key_id, r.event_sha256, r.submitted_at] for r in new],
            )
            addresses = [
                [r.receipt_id, r.client_address, r.submitted_at, r.address_until] for r in new if r.client_address
            ]
            if addresses:
                transaction.insert("SubmissionAddresses", ADDRESS_COLUMNS, addresses)
            return len(new)

        if not fresh:
            return 0
        return with_backoff("Spanner add submissions", lambda: self._database.run_in_transaction(work))

    def submission(self, receipt_id: str) -> SubmissionRecord | None:
        rows = self._query(SUBMISSION_QUERY, {"r": receipt_id}, {"r": param_types.STRING})
        if not rows:
            return None
        rid, customer, key_id, event_sha256, submitted_at, address, until = rows[0]
        return SubmissionRecord(
            rid, customer, key_id, event_sha256, _utc(submitted_at), address, _utc(until) if until else None
        )

    def scrub_submission_addresses(self, now: datetime, submitted_before: datetime | None = None) -> int:
        """Partitioned DML (an operator's, `receipts intake scrub`): what the row deletion
        policy would drop in its own time, now; and, after a retention was shortened, the
        addresses older than the new one. Retrying it deletes nothing twice."""
        before = submitted_before or datetime(1970, 1, 1, tzinfo=UTC)
        params = {"now": now.astimezone(UTC), "before": before.astimezone(UTC)}
        types = {"now": param_types.TIMESTAMP, "before": param_types.TIMESTAMP}
        return with_backoff(
            "Spanner scrub submission addresses",
            lambda: self._database.execute_partitioned_dml(SCRUB, params=params, param_types=types),
        )


def _utc(moment: datetime) -> datetime:
    """Spanner's TIMESTAMP as a plain UTC datetime (the client returns its own subclass)."""
    moment = moment.astimezone(UTC)
    return datetime(*moment.timetuple()[:6], moment.microsecond, tzinfo=UTC)
