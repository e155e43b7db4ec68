"""Intake's state in Spanner: the `Intake` table's one row (Id 1) saying whether intake is
frozen, why, since when and by whom. A part of `SpannerFirestoreStore`
(receipts.stores.gcp.store), which supplies `_database` and `_read`."""

from datetime import UTC, datetime

from google.cloud import spanner

from receipts.rows import IntakeState
from receipts.stores.retry import with_backoff

INTAKE_COLUMNS = ["Id", "Frozen", "Reason", "ChangedAt", "ChangedBy"]


class SpannerIntake:
    """Freeze and resume. Uses the store's `_database` and `_read` (a read with backoff)."""

    def intake(self) -> IntakeState:
        rows = self._read("Intake", INTAKE_COLUMNS[1:], spanner.KeySet(keys=[[1]]))
        if not rows:  # never frozen
            return IntakeState.open()
        frozen, reason, changed_at, changed_by = rows[0]
        return IntakeState(bool(frozen), reason, _rfc3339(changed_at), changed_by)

    def set_intake(self, state: IntakeState) -> None:
        """One blind write (insert_or_update of row 1): retrying it, or setting the same
        state twice, leaves the same row."""
        changed_at = _timestamp(state.changed_at) if state.changed_at else None
        row = [1, state.frozen, state.reason, changed_at, state.changed_by]

        def write() -> None:
            with self._database.batch() as batch:
                batch.insert_or_update("Intake", INTAKE_COLUMNS, [row])

        with_backoff("Spanner set intake", write)


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rfc3339(moment: datetime | None) -> str | None:
    """Seconds precision, as `receipts intake` writes it."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
