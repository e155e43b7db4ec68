"""The verifier site's records in Spanner: API keys (only their hashes) and signed-in
sessions. A part of `SpannerFirestoreStore` (receipts.stores.gcp.store), which supplies
`_database`, `_query` and `_read`."""

from contextlib import suppress
from datetime import UTC, datetime

from google.api_core import exceptions as api_exceptions
from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from receipts.rows import ApiKeyRecord
from receipts.sessions import SessionRecord
from receipts.stores.retry import with_backoff

SESSION_COLUMNS = ["SessionHash", "KeyId", "CreatedAt", "ExpiresAt"]


class SpannerSiteRecords:
    """API keys and sessions of the verifier site. Uses the store's `_database`, `_query` and `_read`."""

    def add_api_key(self, record: ApiKeyRecord) -> None:
        def work(transaction) -> None:
            transaction.insert(
                "ApiKeys",
                ["KeyId", "CustomerId", "KeyHash", "CreatedAt", "RevokedAt", "Role"],
                [
                    [
                        record.key_id,
                        record.customer_id,
                        record.key_hash,
                        record.created_at,
                        record.revoked_at,
                        record.role,
                    ]
                ],
            )

        try:
            with_backoff("Spanner add API key", lambda: self._database.run_in_transaction(work))
        except api_exceptions.AlreadyExists as error:
            raise ValueError(f"API key id {record.key_id} is taken") from error

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = self._query(
            "SELECT KeyId, CustomerId, KeyHash, CreatedAt, RevokedAt, Role FROM ApiKeys WHERE KeyId = @k",
            {"k": key_id},
            {"k": param_types.STRING},
        )
        return ApiKeyRecord(*rows[0]) if rows else None

    def api_keys(self, customer_id: str | None = None) -> list[ApiKeyRecord]:
        sql = "SELECT KeyId, CustomerId, KeyHash, CreatedAt, RevokedAt, Role FROM ApiKeys"
        params, types = None, None
        if customer_id is not None:
            sql += " WHERE CustomerId = @c"
            params, types = {"c": customer_id}, {"c": param_types.STRING}
        return [ApiKeyRecord(*row) for row in self._query(sql + " ORDER BY CreatedAt, KeyId", params, types)]

    def revoke_api_key(self, key_id: str, revoked_at: str) -> bool:
        def work(transaction) -> bool:
            rows = list(
                transaction.execute_sql(
                    "SELECT RevokedAt FROM ApiKeys WHERE KeyId = @k", {"k": key_id}, {"k": param_types.STRING}
                )
            )
            if not rows or rows[0][0] is not None:
                return False
            transaction.update("ApiKeys", ["KeyId", "RevokedAt"], [[key_id, revoked_at]])
            return True

        return with_backoff("Spanner revoke API key", lambda: self._database.run_in_transaction(work))

    # -- sessions ------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        """One blind write (a mutation batch: a commit, no transaction to begin)."""
        row = [record.session_hash, record.key_id, record.created_at, record.expires_at]

        def write() -> None:
            with self._database.batch() as batch:
                batch.insert("Sessions", SESSION_COLUMNS, [row])

        # AlreadyExists: a retried commit whose first answer was lost; the token is random, so the row is ours
        with suppress(api_exceptions.AlreadyExists):
            with_backoff("Spanner add session", write)

    def session(self, session_hash: str) -> SessionRecord | None:
        rows = self._read("Sessions", SESSION_COLUMNS, spanner.KeySet(keys=[[session_hash]]))
        if not rows:
            return None
        hashed, key_id, created_at, expires_at = rows[0]
        return SessionRecord(hashed, key_id, _utc(created_at), _utc(expires_at))

    def end_session(self, session_hash: str) -> None:
        def delete() -> None:  # deleting a row that is gone already changes nothing: safe to retry
            with self._database.batch() as batch:
                batch.delete("Sessions", spanner.KeySet(keys=[[session_hash]]))

        with_backoff("Spanner end session", delete)


def _utc(moment: datetime) -> datetime:
    """Spanner's TIMESTAMP as a plain UTC datetime (the client returns its own subclass)."""
    moment = moment.astimezone(UTC)
    return datetime(*moment.timetuple()[:6], moment.microsecond, tzinfo=UTC)
