"""The customer's account page reads in the Google Cloud store: balances from Spanner, receipts
from the Firestore ledger. The ledger is queried only by (customer_id, sequence), the one
composite index it has (event_timestamp is exempt from indexing: a write hotspot), so
filters and daily totals are worked out here over a bounded scan in sequence order, and say
where they stopped (a charge's credits are the ledger's indexed query: ledger.credits_of).
Reads only. A part of `SpannerFirestoreStore` (receipts.stores.gcp.store), which supplies
`_query` and `receipts_page`."""

from collections.abc import Iterator
from typing import Any

from google.cloud.spanner_v1 import param_types

from receipts.money import format_amount, minor_from_decimal
from receipts.rows import Balance
from receipts.statements.activity import SCAN_LIMIT, DayTotal, ReceiptFilter, ReceiptPage, daily_totals
from receipts.statements.periods import Period

SCAN_CHUNK = 500  # ledger documents per Firestore query


class GcpAccount:
    def customer_balances(self, customer_id: str) -> list[Balance]:
        rows = self._query(
            "SELECT CustomerId, Currency, Balance, AsOfSequence FROM Balances WHERE CustomerId = @c ORDER BY Currency",
            {"c": customer_id},
            {"c": param_types.STRING},
        )
        return [
            Balance(customer, currency, format_amount(minor_from_decimal(amount, currency), currency), as_of)
            for customer, currency, amount, as_of in rows
        ]

    def account_receipts(self, customer_id: str, chosen: ReceiptFilter, after_sequence: int, limit: int) -> ReceiptPage:
        """Up to `limit` receipts with sequence > `after_sequence` that `chosen` keeps; after
        SCAN_LIMIT documents without a full page, the page ends there and `next_after` goes on."""
        found: list[dict[str, Any]] = []
        last = after_sequence
        for receipt in self._scan(customer_id, after_sequence):
            last = receipt["sequence"]
            if chosen.keeps(receipt):
                found.append(receipt)
                if len(found) == limit:
                    break
            if last - after_sequence >= SCAN_LIMIT:
                break
        else:
            return ReceiptPage(found, None)
        more = self.receipts_page(customer_id, last, 1)
        return ReceiptPage(found, last if more else None)

    def daily_totals(self, customer_id: str, period: Period) -> list[DayTotal]:
        """Over the customer's first SCAN_LIMIT * 4 receipts (docs/SITE.md says so)."""
        return daily_totals(self._scan(customer_id, 0, SCAN_LIMIT * 4), period)

    def latest_receipt(self, customer_id: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT ReceiptId FROM ChainHeads WHERE CustomerId = @c", {"c": customer_id}, {"c": param_types.STRING}
        )
        return self.receipt(rows[0][0]) if rows else None

    def _scan(self, customer_id: str, after_sequence: int, most: int | None = None) -> Iterator[dict[str, Any]]:
        seen = 0
        while most is None or seen < most:
            chunk = self.receipts_page(customer_id, after_sequence, SCAN_CHUNK)
            yield from chunk
            seen += len(chunk)
            if len(chunk) < SCAN_CHUNK:
                return
            after_sequence = chunk[-1]["sequence"]
