"""The ledger of the Google Cloud store, in Firestore: `receipts/{receipt_id}`, one create-only
document per receipt (the signed body as text, its hash and JWS, and the fields people
query by), and `dead_letters/{dead_letter_id}`, create-only too. A part of
`SpannerFirestoreStore` (receipts.stores.gcp.store), which supplies `_firestore`."""

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore

from receipts.records import DeadLetter, SignedReceipt
from receipts.rows import LedgerEntry
from receipts.stores.retry import with_backoff

CORRECTS_PER_QUERY = 30  # Firestore's most values for an `in` filter

log = logging.getLogger("receipts.gcp")
RECEIPTS = "receipts"
DEAD_LETTERS = "dead_letters"
INDEXED_FIELDS = (
    "receipt_id",
    "customer_id",
    "sequence",
    "status",
    "currency",
    "event_timestamp",
    "processed_at",
    "corrects",  # a credit's only (None for a charge, as its body says): the reconciliation compares them all
)


class FirestoreLedger:
    """The Firestore half of the store: ledger documents and dead letters. Uses the store's
    `_firestore` client and counts `ledger_conflicts`."""

    _firestore: firestore.Client
    ledger_conflicts: int

    def _get_ledger(self, receipt_id: str) -> dict[str, Any] | None:
        snapshot = with_backoff(
            "Firestore get", lambda: self._firestore.collection(RECEIPTS).document(receipt_id).get()
        )
        return snapshot.to_dict() if snapshot.exists else None

    def _get_ledgers(self, receipt_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The documents of those of `receipt_ids` the ledger holds, in one get_all."""
        if not receipt_ids:
            return {}
        collection = self._firestore.collection(RECEIPTS)
        references = [collection.document(receipt_id) for receipt_id in receipt_ids]
        snapshots = with_backoff("Firestore get_all", lambda: list(self._firestore.get_all(references)))
        return {snapshot.id: snapshot.to_dict() for snapshot in snapshots if snapshot.exists}

    def _create_ledger_documents(self, documents: list[tuple[str, dict[str, Any]]]) -> None:
        """Create-only. A batch is atomic, so the fast path is one batch; if any document
        exists already (a retry), fall back to one create per document."""
        if not documents:
            return
        collection = self._firestore.collection(RECEIPTS)

        def as_batch() -> None:
            batch = self._firestore.batch()
            for receipt_id, document in documents:
                batch.create(collection.document(receipt_id), document)
            batch.commit()

        try:
            with_backoff("Firestore ledger batch", as_batch)
            return
        except api_exceptions.Conflict:  # AlreadyExists: some were written before
            pass
        for receipt_id, document in documents:
            reference = collection.document(receipt_id)
            try:
                with_backoff("Firestore ledger create", lambda ref=reference, doc=document: ref.create(doc))
            except api_exceptions.Conflict:
                existing = self._get_ledger(receipt_id)
                if existing is None or existing.get("receipt_hash") != document["receipt_hash"]:
                    self.ledger_conflicts += 1
                    log.error(
                        "ledger conflict: receipts/%s holds receipt_hash %s, not %s; the stored one stands",
                        receipt_id,
                        (existing or {}).get("receipt_hash"),
                        document["receipt_hash"],
                    )

    def receipts(self, customer_id: str | None = None) -> Iterator[dict[str, Any]]:
        query = self._firestore.collection(RECEIPTS)
        if customer_id is not None:
            query = query.where(filter=firestore.FieldFilter("customer_id", "==", customer_id))
        else:
            query = query.order_by("customer_id")
        query = query.order_by("sequence")
        for snapshot in with_backoff("Firestore query", lambda: list(query.stream())):
            yield _export(snapshot.to_dict())

    def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        document = self._get_ledger(receipt_id)
        return _export(document) if document else None

    def receipts_page(self, customer_id: str, after_sequence: int, limit: int) -> list[dict[str, Any]]:
        query = (
            self._firestore.collection(RECEIPTS)
            .where(filter=firestore.FieldFilter("customer_id", "==", customer_id))
            .where(filter=firestore.FieldFilter("sequence", ">", after_sequence))
            .order_by("sequence")
            .limit(limit)
        )
        return [
            _export(snapshot.to_dict()) for snapshot in with_backoff("Firestore query", lambda: list(query.stream()))
        ]

    def credits_of(self, customer_id: str, charge_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The customer's credits (accepted or rejected) that name each of `charge_ids`, in
        sequence order: one indexed query per CORRECTS_PER_QUERY charges (Firestore's `in` limit)."""
        found: dict[str, list[dict[str, Any]]] = {}
        wanted = sorted(set(charge_ids))
        for first in range(0, len(wanted), CORRECTS_PER_QUERY):
            query = (
                self._firestore.collection(RECEIPTS)
                .where(filter=firestore.FieldFilter("customer_id", "==", customer_id))
                .where(filter=firestore.FieldFilter("corrects", "in", wanted[first : first + CORRECTS_PER_QUERY]))
                .order_by("sequence")
            )
            for snapshot in with_backoff("Firestore query", lambda query=query: list(query.stream())):
                credit = _export(snapshot.to_dict())
                found.setdefault(credit["corrects"], []).append(credit)
        return found

    def _ledger_customers(self, first: str, before: str | None) -> Iterator[str]:
        collection = self._firestore.collection(RECEIPTS)
        query = collection.where(filter=firestore.FieldFilter("customer_id", ">=", first))
        while True:
            page = query.order_by("customer_id").select(["customer_id"]).limit(1)
            found = with_backoff("Firestore query", lambda page=page: list(page.stream()))
            if not found:
                return
            customer = found[0].get("customer_id")
            if before is not None and customer >= before:
                return
            yield customer
            query = collection.where(filter=firestore.FieldFilter("customer_id", ">", customer))

    def ledger_entries(self, customer_id: str) -> Iterator[LedgerEntry]:
        query = (
            self._firestore.collection(RECEIPTS)
            .where(filter=firestore.FieldFilter("customer_id", "==", customer_id))
            .order_by("sequence")
        )
        for snapshot in with_backoff("Firestore query", lambda: list(query.stream())):
            document = snapshot.to_dict()
            stored = {name: document.get(name) for name in INDEXED_FIELDS}
            try:
                exported = _export(document)
            except (KeyError, TypeError, ValueError):  # an edited document may not hold a body at all
                exported = {"receipt_hash": document.get("receipt_hash"), "signature": document.get("signature")}
            yield LedgerEntry(exported, {"document_id": snapshot.id, **stored})

    # -- dead letters --------------------------------------------------------------
    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> int:
        collection = self._firestore.collection(DEAD_LETTERS)
        added = 0
        for letter in letters:
            document = {**letter.export(), "recorded_at": firestore.SERVER_TIMESTAMP}
            reference = collection.document(letter.dead_letter_id)
            try:
                with_backoff("Firestore dead letter", lambda ref=reference, doc=document: ref.create(doc))
                added += 1
            except api_exceptions.Conflict:
                pass  # the same message with the same reason is kept once
        return added

    def dead_letters(self) -> Iterator[dict[str, Any]]:
        """In the order they were recorded. `recorded_at` is a server timestamp, exempt from
        indexing (an indexed one caps the collection at ~500 writes/s, and a frozen intake
        parks every event here), so no query orders by it: all are read, as before, and
        sorted here (ties in document id order, as Firestore's own ordering had them)."""
        collection = self._firestore.collection(DEAD_LETTERS)
        snapshots = with_backoff("Firestore query", lambda: list(collection.stream()))  # in document id order
        records = [snapshot.to_dict() for snapshot in snapshots]
        records.sort(key=lambda record: (record.get("recorded_at") is not None, record.get("recorded_at") or 0))
        for record in records:
            record.pop("recorded_at", None)
            yield record


def ledger_document(receipt: SignedReceipt) -> dict[str, Any]:
    chained = receipt.chained
    return document_of(chained.canonical.decode("utf-8"), chained.body, chained.receipt_hash, receipt.signature)


def document_of(body_text: str, body: dict[str, Any], receipt_hash: str, signature: str) -> dict[str, Any]:
    """A ledger document: the signed canonical body as text (the bytes that were hashed),
    its hash and JWS, and the fields people query by (from `body`, that text parsed): a
    credit (contract v2) also `corrects`, the charge it names, so a charge's credits are one
    query (`credits_of`); a charge's document has no such field."""
    corrects = {"corrects": body["corrects"]} if body.get("corrects") is not None else {}
    return {
        "body": body_text,
        "receipt_hash": receipt_hash,
        "signature": signature,
        "receipt_id": body["receipt_id"],
        "customer_id": body["customer_id"],
        "sequence": body["sequence"],
        "status": body["status"],
        "currency": body["currency"],
        "event_timestamp": body["event_timestamp"],
        "processed_at": body["processed_at"],
        **corrects,
        "ledger_written_at": firestore.SERVER_TIMESTAMP,  # when the ledger got it: latency, audits
    }


def _export(document: dict[str, Any]) -> dict[str, Any]:
    return {
        **json.loads(document["body"]),
        "receipt_hash": document["receipt_hash"],
        "signature": document["signature"],
    }
