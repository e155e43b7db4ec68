"""`SpannerFirestoreStore`: the production store, `gcp://PROJECT[?instance=&database=&bucket=]`.

- Spanner holds the state: idempotency keys (TTL), chain heads, balances, entitlements
  and their usage. A receipt's rows are one commit, taken only when the receipt extends
  its customer's chain head, so a balance never moves without its receipt and the chain
  never has a gap. The idempotency row also carries the signed receipt (an outbox).
- Firestore holds the ledger: `receipts/{receipt_id}`, created after the Spanner commit,
  create-only. The same receipt again is a no-op; a different one under the same id is
  logged and counted, never written. If a process died between the two, the next
  `load_chain` of that customer copies the missing tail from the outbox.
- Dead letters: `dead_letters/{dead_letter_id}` in Firestore, create-only.

Every call that a briefly unavailable service can fail is retried with backoff.
"""

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore, spanner
from google.cloud.spanner_v1 import param_types

from receipts import canonical
from receipts.canonical import ZERO_HASH
from receipts.ledger import ChainState, Entitlement
from receipts.money import format_amount, minor_from_decimal, to_decimal
from receipts.records import DeadLetter, SignedReceipt
from receipts.rows import (
    AmountRow,
    ApiKeyRecord,
    Balance,
    CustomerState,
    IdempotencyRecord,
    IdempotencyRow,
    LedgerEntry,
    WriteOutcome,
)
from receipts.sessions import SessionRecord
from receipts.stores.gcp.location import GcpLocation, client_options
from receipts.stores.retry import with_backoff

log = logging.getLogger("receipts.gcp")
RECEIPTS = "receipts"
DEAD_LETTERS = "dead_letters"
OUTBOX_SCAN = 1000  # receipts a crash can leave out of the ledger: at most one write batch
IDEMPOTENCY_TTL_SECONDS = 30 * 24 * 3600  # spanner.sql: ROW DELETION POLICY (OLDER_THAN(CreatedAt, INTERVAL 30 DAY))
STATE_TABLES = ("ChainHeads", "Balances", "EntitlementUsage", "IdempotencyKeys")


class SpannerFirestoreStore:
    idempotency_ttl_seconds = IDEMPOTENCY_TTL_SECONDS

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = GcpLocation.parse(url)
        options = client_options()
        self._spanner = spanner.Client(project=self.location.project, **options)
        self._database = self._spanner.instance(self.location.instance).database(
            self.location.database, database_role=self.location.role
        )
        self._firestore = firestore.Client(project=self.location.project, **options)
        self.ledger_conflicts = 0  # different receipts found under a stored id: logged, never written

    def close(self) -> None:
        self._firestore.close()
        if hasattr(self._spanner, "close"):
            self._spanner.close()

    # -- Spanner reads -------------------------------------------------------------
    def _query(self, sql: str, params: dict[str, Any] | None = None, types: dict[str, Any] | None = None) -> list:
        def run() -> list:
            with self._database.snapshot() as snapshot:
                return list(snapshot.execute_sql(sql, params=params, param_types=types))

        return with_backoff("Spanner query", run)

    def _read(self, table: str, columns: list[str], keys: spanner.KeySet) -> list:
        """Rows by key: a Spanner read is about twice as fast as the same SELECT."""

        def run() -> list:
            with self._database.snapshot() as snapshot:
                return list(snapshot.read(table, columns, keys))

        return with_backoff(f"Spanner read {table}", run)

    def lookup_idempotency(self, customer_id: str, idempotent_key: str) -> IdempotencyRecord | None:
        rows = self._read(
            "IdempotencyKeys", ["ReceiptId", "EventSha256"], spanner.KeySet(keys=[[customer_id, idempotent_key]])
        )
        if rows:
            return IdempotencyRecord(customer_id, idempotent_key, rows[0][0], rows[0][1])
        # Older than the Spanner TTL: the ledger document under the deterministic id answers.
        document = self._get_ledger(canonical.receipt_id(customer_id, idempotent_key))
        if document is None:
            return None
        body = json.loads(document["body"])
        if body.get("idempotent_key") != idempotent_key or body.get("customer_id") != customer_id:
            return None
        return IdempotencyRecord(customer_id, idempotent_key, body["receipt_id"], body["event_sha256"])

    def load_chain(self, customer_id: str) -> ChainState:
        one = spanner.KeySet(keys=[[customer_id]])
        prefix = spanner.KeySet(ranges=[spanner.KeyRange(start_closed=[customer_id], end_closed=[customer_id])])

        def run() -> tuple[list, list, list]:
            with self._database.snapshot(multi_use=True) as snapshot:
                return (
                    list(snapshot.read("ChainHeads", ["Sequence", "ReceiptHash", "ReceiptId"], one)),
                    list(snapshot.read("Balances", ["Currency", "Balance"], prefix)),
                    list(snapshot.read("EntitlementUsage", ["EntitlementId", "UsedMinor"], prefix)),
                )

        head, balance_rows, usage_rows = with_backoff("Spanner read chain", run)
        sequence, head_hash, head_id = head[0] if head else (0, ZERO_HASH, None)
        balances = {currency: minor_from_decimal(amount, currency) for currency, amount in balance_rows}
        if head_id is not None and self._get_ledger(head_id) is None:
            self._sync_ledger_tail(customer_id, sequence)
        return ChainState(customer_id, sequence, head_hash, balances, dict(usage_rows))

    def entitlement(self, customer_id: str, entitlement_id: str) -> Entitlement | None:
        rows = self._read(
            "Entitlements", ["LimitAmount", "Currency"], spanner.KeySet(keys=[[customer_id, entitlement_id]])
        )
        if not rows:
            return None
        limit, currency = rows[0]
        return Entitlement(customer_id, entitlement_id, minor_from_decimal(limit, currency), currency)

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

    # -- Spanner writes ------------------------------------------------------------
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

    def write_receipts(self, receipts: Sequence[SignedReceipt]) -> list[WriteOutcome]:
        """One Spanner commit for the batch (state + outbox), then the ledger documents."""
        if not receipts:
            return []
        outcomes = with_backoff(
            "Spanner receipt commit", lambda: self._database.run_in_transaction(self._commit_receipts, receipts)
        )
        stored = [
            r
            for r, o in zip(receipts, outcomes, strict=True)
            if o in (WriteOutcome.WRITTEN, WriteOutcome.ALREADY_PRESENT)
        ]
        self._create_ledger_documents([(r.receipt_id, _ledger_document(r)) for r in stored])
        return outcomes

    def _commit_receipts(self, transaction, receipts: Sequence[SignedReceipt]) -> list[WriteOutcome]:
        keys = [[r.chained.customer_id, r.chained.body["idempotent_key"]] for r in receipts]
        stored_hashes = {
            (customer, key): receipt_hash
            for customer, key, receipt_hash in transaction.read(
                "IdempotencyKeys",
                ["CustomerId", "IdempotentKey", "ReceiptHash"],
                spanner.KeySet(keys=keys),
            )
        }
        customers = sorted({r.chained.customer_id for r in receipts})
        heads = {
            customer: (sequence, receipt_hash)
            for customer, sequence, receipt_hash in transaction.read(
                "ChainHeads", ["CustomerId", "Sequence", "ReceiptHash"], spanner.KeySet(keys=[[c] for c in customers])
            )
        }
        outcomes = []
        for receipt in receipts:
            chained, body = receipt.chained, receipt.chained.body
            customer, sequence = chained.customer_id, chained.sequence
            stored = stored_hashes.get((customer, body["idempotent_key"]))
            if stored is not None:
                outcomes.append(
                    WriteOutcome.ALREADY_PRESENT if stored == chained.receipt_hash else WriteOutcome.CONFLICT
                )
                continue
            head_sequence, head_hash = heads.get(customer, (0, ZERO_HASH))
            if (sequence, body["previous_receipt_hash"]) != (head_sequence + 1, head_hash):
                outcomes.append(WriteOutcome.NOT_NEXT)
                continue
            currency = body["currency"]
            transaction.insert(
                "IdempotencyKeys",
                [
                    "CustomerId",
                    "IdempotentKey",
                    "ReceiptId",
                    "EventSha256",
                    "Sequence",
                    "ReceiptHash",
                    "Body",
                    "Signature",
                    "CreatedAt",
                ],
                [
                    [
                        customer,
                        body["idempotent_key"],
                        chained.receipt_id,
                        body["event_sha256"],
                        sequence,
                        chained.receipt_hash,
                        chained.canonical.decode("utf-8"),
                        receipt.signature,
                        spanner.COMMIT_TIMESTAMP,
                    ]
                ],
            )
            transaction.insert_or_update(
                "ChainHeads",
                ["CustomerId", "Sequence", "ReceiptHash", "ReceiptId", "UpdatedAt"],
                [[customer, sequence, chained.receipt_hash, chained.receipt_id, spanner.COMMIT_TIMESTAMP]],
            )
            transaction.insert_or_update(
                "Balances",
                ["CustomerId", "Currency", "Balance", "AsOfSequence"],
                [[customer, currency, Decimal(body["balance_after"]), sequence]],
            )
            if chained.entitlement_used_minor is not None:
                transaction.insert_or_update(
                    "EntitlementUsage",
                    ["CustomerId", "EntitlementId", "UsedMinor", "AsOfSequence"],
                    [[customer, body["entitlement_id"], chained.entitlement_used_minor, sequence]],
                )
            heads[customer] = (sequence, chained.receipt_hash)
            stored_hashes[(customer, body["idempotent_key"])] = chained.receipt_hash
            outcomes.append(WriteOutcome.WRITTEN)
        return outcomes

    # -- Firestore: the ledger -----------------------------------------------------
    def _get_ledger(self, receipt_id: str) -> dict[str, Any] | None:
        snapshot = with_backoff(
            "Firestore get", lambda: self._firestore.collection(RECEIPTS).document(receipt_id).get()
        )
        return snapshot.to_dict() if snapshot.exists else None

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

    def _sync_ledger_tail(self, customer_id: str, head_sequence: int) -> int:
        """Copy receipts that Spanner committed but the ledger lacks (a process died between
        the two writes; load_chain found the head missing). They can only be the newest
        ones; return how many were copied."""
        rows = self._query(
            "SELECT ReceiptId, Sequence, ReceiptHash, Body, Signature "
            "FROM IdempotencyKeys@{FORCE_INDEX=IdempotencyKeysBySequence} "
            "WHERE CustomerId = @c AND Sequence > @from ORDER BY Sequence DESC",
            {"c": customer_id, "from": max(0, head_sequence - OUTBOX_SCAN)},
            {"c": param_types.STRING, "from": param_types.INT64},
        )
        if not rows:
            return 0
        references = [self._firestore.collection(RECEIPTS).document(row[0]) for row in rows]
        present = {
            snapshot.id
            for snapshot in with_backoff("Firestore get_all", lambda: list(self._firestore.get_all(references)))
            if snapshot.exists
        }
        missing = [row for row in reversed(rows) if row[0] not in present]
        self._create_ledger_documents(
            [
                (receipt_id, _document(body, json.loads(body), receipt_hash, signature))
                for receipt_id, _, receipt_hash, body, signature in missing
            ]
        )
        if missing:
            log.warning("copied %d receipt(s) of %s from the Spanner outbox into the ledger", len(missing), customer_id)
        return len(missing)

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

    # -- reads for the reconciliation: rows as stored, never repaired --------------------
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
        )

    # -- Spanner: API keys of the verifier site -------------------------------------
    def add_api_key(self, record: ApiKeyRecord) -> None:
        def work(transaction) -> None:
            transaction.insert(
                "ApiKeys",
                ["KeyId", "CustomerId", "KeyHash", "CreatedAt", "RevokedAt"],
                [[record.key_id, record.customer_id, record.key_hash, record.created_at, record.revoked_at]],
            )

        try:
            with_backoff("Spanner add API key", lambda: self._database.run_in_transaction(work))
        except api_exceptions.AlreadyExists as error:
            raise ValueError(f"API key id {record.key_id} is taken") from error

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = self._query(
            "SELECT KeyId, CustomerId, KeyHash, CreatedAt, RevokedAt FROM ApiKeys WHERE KeyId = @k",
            {"k": key_id},
            {"k": param_types.STRING},
        )
        return ApiKeyRecord(*rows[0]) if rows else None

    def api_keys(self, customer_id: str | None = None) -> list[ApiKeyRecord]:
        sql = "SELECT KeyId, CustomerId, KeyHash, CreatedAt, RevokedAt FROM ApiKeys"
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

    # -- Spanner: sessions of the verifier site --------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        columns = ["SessionHash", "KeyId", "CreatedAt", "ExpiresAt"]
        row = [record.session_hash, record.key_id, record.created_at, record.expires_at]
        insert = lambda: self._database.run_in_transaction(_insert, "Sessions", columns, row)  # noqa: E731
        with_backoff("Spanner add session", insert)

    def session(self, session_hash: str) -> SessionRecord | None:
        rows = self._read(
            "Sessions", ["SessionHash", "KeyId", "CreatedAt", "ExpiresAt"], spanner.KeySet(keys=[[session_hash]])
        )
        if not rows:
            return None
        hashed, key_id, created_at, expires_at = rows[0]
        return SessionRecord(hashed, key_id, _utc(created_at), _utc(expires_at))

    def end_session(self, session_hash: str) -> None:
        keys = spanner.KeySet(keys=[[session_hash]])
        with_backoff("Spanner end session", lambda: self._database.run_in_transaction(_delete, "Sessions", keys))

    # -- Firestore: dead letters ---------------------------------------------------
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
        query = self._firestore.collection(DEAD_LETTERS).order_by("recorded_at")
        for snapshot in with_backoff("Firestore query", lambda: list(query.stream())):
            record = snapshot.to_dict()
            record.pop("recorded_at", None)
            yield record


INDEXED_FIELDS = ("receipt_id", "customer_id", "sequence", "status", "currency", "event_timestamp", "processed_at")
STATE_QUERIES = {  # one customer's state rows (@c), read in one snapshot
    "head": "SELECT Sequence, ReceiptHash FROM ChainHeads WHERE CustomerId = @c",
    "balances": "SELECT Currency, Balance, AsOfSequence FROM Balances WHERE CustomerId = @c",
    "usage": "SELECT EntitlementId, UsedMinor, AsOfSequence FROM EntitlementUsage WHERE CustomerId = @c",
    "entitlements": "SELECT EntitlementId, LimitAmount, Currency FROM Entitlements WHERE CustomerId = @c",
    "idempotency": "SELECT IdempotentKey, ReceiptId, EventSha256, Sequence, ReceiptHash, CreatedAt "
    "FROM IdempotencyKeys WHERE CustomerId = @c ORDER BY IdempotentKey",
}


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rfc3339(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment is not None else None


def _ledger_document(receipt: SignedReceipt) -> dict[str, Any]:
    chained = receipt.chained
    return _document(chained.canonical.decode("utf-8"), chained.body, chained.receipt_hash, receipt.signature)


def _document(body_text: str, body: dict[str, Any], receipt_hash: str, signature: str) -> dict[str, Any]:
    """A ledger document: the signed canonical body as text (the bytes that were hashed),
    its hash and JWS, and the fields people query by (from `body`, that text parsed)."""
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
        "ledger_written_at": firestore.SERVER_TIMESTAMP,  # when the ledger got it: latency, audits
    }


def _export(document: dict[str, Any]) -> dict[str, Any]:
    return {
        **json.loads(document["body"]),
        "receipt_hash": document["receipt_hash"],
        "signature": document["signature"],
    }


def _insert(transaction, table: str, columns: list[str], row: list[Any]) -> None:
    transaction.insert(table, columns, [row])


def _delete(transaction, table: str, keys: spanner.KeySet) -> None:
    transaction.delete(table, keys)


def _utc(moment: datetime) -> datetime:
    """Spanner's TIMESTAMP as a plain UTC datetime (the client returns its own subclass)."""
    moment = moment.astimezone(UTC)
    return datetime(*moment.timetuple()[:6], moment.microsecond, tzinfo=UTC)
