"""What the reconciliation reads from the Google Cloud store: every customer, and one
customer's state rows from one Spanner snapshot, as stored (never repaired). A part of
`SpannerFirestoreStore` (receipts.stores.gcp.store)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from google.cloud.spanner_v1 import param_types

from receipts.ledger import Entitlement
from receipts.money import minor_from_decimal
from receipts.rows import AmountRow, CustomerState, IdempotencyRow
from receipts.stores.archive_plans import archived_through
from receipts.stores.retry import with_backoff

STATE_TABLES = ("ChainHeads", "Balances", "EntitlementUsage", "IdempotencyKeys")
STATE_QUERIES = {  # one customer's state rows (@c), read in one snapshot
    "head": "SELECT Sequence, ReceiptHash FROM ChainHeads WHERE CustomerId = @c",
    "balances": "SELECT Currency, Balance, AsOfSequence FROM Balances WHERE CustomerId = @c",
    "usage": "SELECT EntitlementId, UsedMinor, AsOfSequence FROM EntitlementUsage WHERE CustomerId = @c",
    "entitlements": "SELECT EntitlementId, LimitAmount, Currency FROM Entitlements WHERE CustomerId = @c",
    "idempotency": "SELECT IdempotentKey, ReceiptId, EventSha256, Sequence, ReceiptHash, CreatedAt "
    "FROM IdempotencyKeys WHERE CustomerId = @c ORDER BY IdempotentKey",
    "archive_mark": "SELECT PlannedSequence FROM ArchiveMarks WHERE CustomerId = @c",
    "archive_pending": "SELECT FirstSequence FROM ArchiveSpans WHERE CustomerId = @c",
    "credits": "SELECT ReceiptId, CreditedMinor, AsOfSequence FROM ChargeCredits WHERE CustomerId = @c",
}


class SpannerStateReads:
    """Customers and their state rows, for the reconciliation. Uses the store's `_database`,
    `_query` (Spanner) and `_ledger_customers` (Firestore)."""

    def customers(self, first: str = "", before: str | None = None) -> Iterator[str]:
        """Customers with state rows in Spanner, merged with those in the ledger. Firestore has
        no DISTINCT: each next customer is one indexed query (customer_id > the last one)."""
        union = " UNION DISTINCT ".join(f"SELECT CustomerId FROM {table}" for table in STATE_TABLES)
        sql = f"SELECT CustomerId FROM ({union}) WHERE CustomerId >= @first"
        params, types = {"first": first}, {"first": param_types.STRING}
        if before is not None:
            sql += " AND CustomerId < @before"
            params["before"], types["before"] = before, param_types.STRING
        found = {row[0] for row in self._query(sql + " ORDER BY CustomerId", params, types)}
        found.update(self._ledger_customers(first, before))
        yield from sorted(found)

    def customer_state(self, customer_id: str, as_of: str | None = None) -> CustomerState:
        """Every state row of the customer from one snapshot: at `as_of` (a read timestamp
        within the database's version retention, 1 hour by default) or now."""
        params, kinds = {"c": customer_id}, {"c": param_types.STRING}
        snapshot_options: dict[str, Any] = {"multi_use": True}
        if as_of is not None:
            snapshot_options["read_timestamp"] = _timestamp(as_of)

        def read() -> dict[str, list]:
            with self._database.snapshot(**snapshot_options) as snapshot:
                return {
                    name: list(snapshot.execute_sql(sql, params=params, param_types=kinds))
                    for name, sql in STATE_QUERIES.items()
                }

        rows = with_backoff("Spanner state read", read)
        head = rows["head"][0] if rows["head"] else (None, None)
        return CustomerState(
            customer_id,
            head[0],
            head[1],
            {currency: AmountRow(str(amount), as_of_sequence) for currency, amount, as_of_sequence in rows["balances"]},
            {entitlement: AmountRow(str(used), as_of_sequence) for entitlement, used, as_of_sequence in rows["usage"]},
            {
                entitlement: Entitlement(customer_id, entitlement, minor_from_decimal(limit, currency), currency)
                for entitlement, limit, currency in rows["entitlements"]
            },
            tuple(
                IdempotencyRow(key, receipt_id, event_sha256, sequence, receipt_hash, _rfc3339(created_at))
                for key, receipt_id, event_sha256, sequence, receipt_hash, created_at in rows["idempotency"]
            ),
            self.idempotency_ttl_seconds,
            archived_through(
                rows["archive_mark"][0][0] if rows["archive_mark"] else 0, (row[0] for row in rows["archive_pending"])
            ),
            {receipt_id: AmountRow(str(credited), as_of) for receipt_id, credited, as_of in rows["credits"]},
        )


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rfc3339(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment is not None else None
