"""The Google Cloud store's look-ups by key (idempotency keys, entitlements, a charge and its
credits) and the entitlements' and balances' listings, with the one entitlement write. A
part of `SpannerFirestoreStore` (receipts.stores.gcp.store), which supplies `_read`, `_query`,
`_database`, the ledger's `_get_ledger`/`_get_ledgers` and `load_chain`."""

import json
from collections.abc import Iterable

from google.cloud import spanner

from receipts import canonical
from receipts.credits import ChargeRecord, stored_charge
from receipts.ledger import Entitlement
from receipts.money import format_amount, minor_from_decimal, to_decimal
from receipts.rows import Balance, IdempotencyRecord
from receipts.stores.retry import with_backoff


class SpannerKeyedReads:
    def lookup_idempotency(self, customer_id: str, idempotent_key: str) -> IdempotencyRecord | None:
        return self.lookup_idempotency_many(customer_id, [idempotent_key]).get(idempotent_key)

    def lookup_idempotency_many(self, customer_id: str, keys: Iterable[str]) -> dict[str, IdempotencyRecord]:
        """One Spanner read of all `keys`; the keys it no longer holds (older than its TTL) in
        one Firestore get_all of the ledger documents under their deterministic ids."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        rows = self._read(
            "IdempotencyKeys",
            ["IdempotentKey", "ReceiptId", "EventSha256"],
            spanner.KeySet(keys=[[customer_id, key] for key in wanted]),
        )
        found = {key: IdempotencyRecord(customer_id, key, receipt_id, sha) for key, receipt_id, sha in rows}
        older = {canonical.receipt_id(customer_id, key): key for key in wanted if key not in found}
        for receipt_id, document in self._get_ledgers(list(older)).items():
            body = json.loads(document["body"])
            key = older[receipt_id]
            if body.get("idempotent_key") == key and body.get("customer_id") == customer_id:
                found[key] = IdempotencyRecord(customer_id, key, body["receipt_id"], body["event_sha256"])
        return found

    def entitlement(self, customer_id: str, entitlement_id: str) -> Entitlement | None:
        rows = self._read(
            "Entitlements", ["LimitAmount", "Currency"], spanner.KeySet(keys=[[customer_id, entitlement_id]])
        )
        if not rows:
            return None
        limit, currency = rows[0]
        return Entitlement(customer_id, entitlement_id, minor_from_decimal(limit, currency), currency)

    def charge(self, customer_id: str, receipt_id: str) -> ChargeRecord | None:
        """The ledger's receipt (immutable) and the charge's ChargeCredits row (Spanner). A
        receipt Spanner committed that the ledger lacks yet (a process died between the two)
        is copied from the outbox by load_chain first, so a credit never misses its charge."""
        document = self._get_ledger(receipt_id)
        if document is None:
            self.load_chain(customer_id)
            document = self._get_ledger(receipt_id)
        if document is None:
            return None
        rows = self._read("ChargeCredits", ["CreditedMinor"], spanner.KeySet(keys=[[customer_id, receipt_id]]))
        return stored_charge(json.loads(document["body"]), customer_id, rows[0][0] if rows else 0)

    def entitlements(self) -> list[Entitlement]:
        rows = self._query(
            "SELECT CustomerId, EntitlementId, LimitAmount, Currency FROM Entitlements "
            "ORDER BY CustomerId, EntitlementId"
        )
        return [Entitlement(c, e, minor_from_decimal(limit, cur), cur) for c, e, limit, cur in rows]

    def balances(self) -> list[Balance]:
        rows = self._query(
            "SELECT CustomerId, Currency, Balance, AsOfSequence FROM Balances ORDER BY CustomerId, Currency"
        )
        return [
            Balance(customer, currency, format_amount(minor_from_decimal(amount, currency), currency), as_of)
            for customer, currency, amount, as_of in rows
        ]

    def set_entitlement(self, entitlement: Entitlement) -> None:
        def work(transaction) -> None:
            transaction.insert_or_update(
                "Entitlements",
                ["CustomerId", "EntitlementId", "LimitAmount", "Currency"],
                [
                    [
                        entitlement.customer_id,
                        entitlement.entitlement_id,
                        to_decimal(entitlement.limit_minor, entitlement.currency),
                        entitlement.currency,
                    ]
                ],
            )

        with_backoff("Spanner set entitlement", lambda: self._database.run_in_transaction(work))
