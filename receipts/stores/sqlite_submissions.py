"""Who submitted each event through the site's API (receipts.submissions) in the SQLite
store: one row per receipt id, the first accepted submission; its client address is set to
NULL once its retention has passed. A part of `SqliteStore` (receipts.stores.sqlite)."""

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from receipts.submissions import SubmissionRecord


class SqliteSubmissions:
    """Submission records. Uses the store's `_db` and `_transaction`."""

    _db: sqlite3.Connection

    def add_submissions(self, records: Sequence[SubmissionRecord]) -> int:
        """Keep each record whose receipt id has none yet (the first submission stays); in the
        same transaction, drop the addresses whose retention ended by the latest submission's
        time, so a site in use scrubs itself. Returns how many records were added."""
        if not records:
            return 0
        now = max(record.submitted_at for record in records)
        added = 0
        with self._transaction():
            self._drop_addresses(_instant(now), None)
            for record in records:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.receipt_id,
                        record.customer_id,
                        record.key_id,
                        record.event_sha256,
                        _instant(record.submitted_at),
                        record.client_address,
                        _instant(record.address_until) if record.address_until else None,
                    ),
                )
                added += cursor.rowcount
        return added

    def submission(self, receipt_id: str) -> SubmissionRecord | None:
        row = self._db.execute(
            "SELECT receipt_id, customer_id, key_id, event_sha256, submitted_at, client_address, address_until "
            "FROM submissions WHERE receipt_id = ?",
            (receipt_id,),
        ).fetchone()
        if row is None:
            return None
        *named, submitted_at, address, until = row
        return SubmissionRecord(*named, _moment(submitted_at), address, _moment(until) if until else None)

    def scrub_submission_addresses(self, now: datetime, submitted_before: datetime | None = None) -> int:
        """Drop every address whose retention ended by `now` and, after a retention was
        shortened, every one submitted before `submitted_before`; key ids stay. Returns the count."""
        with self._transaction():
            return self._drop_addresses(_instant(now), _instant(submitted_before) if submitted_before else None)

    def _drop_addresses(self, now: str, submitted_before: str | None) -> int:
        cursor = self._db.execute(
            "UPDATE submissions SET client_address = NULL, address_until = NULL "
            "WHERE client_address IS NOT NULL AND (address_until <= ? OR submitted_at < ?)",
            (now, submitted_before or ""),
        )
        return cursor.rowcount


def _instant(moment: datetime) -> str:
    """A UTC instant as fixed-width text, so text order is time order in SQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
