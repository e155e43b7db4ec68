"""Restore for the Google Cloud store: make one customer's Firestore documents and Spanner rows
say what its verified chain says, touching only what is missing or wrong. A part of
`SpannerFirestoreStore` (receipts.stores.gcp.store), which supplies `_firestore`,
`_database`, `_query` and `_read`.

A replaced ledger document is an update of a create-only document: the server SDK bypasses
the security rules, and IAM decides. Restore runs as the restorer identity (Firestore write,
Spanner write on the state tables), never as the pipeline's signer, so no one identity both
signs receipts and rewrites the ledger (docs/RUNBOOK.md, "The ledger is damaged").
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore, spanner
from google.cloud.spanner_v1 import param_types

from receipts.canonical import canonical_bytes
from receipts.contract import signed_body
from receipts.restoration import state_rows
from receipts.rows import RestoreOutcome
from receipts.stores.gcp.ledger import RECEIPTS, document_of
from receipts.stores.gcp.schema import KEY_COLUMNS
from receipts.stores.retry import with_backoff

WRITE_TIMES = ("ledger_written_at", "restored_at")  # when a document was written: not part of what it says
CHUNK = 400  # documents per Firestore batch (at most 500 writes) and rows per Spanner commit


class SpannerRestore:
    """`restore_chain` for SpannerFirestoreStore: the ledger documents, the idempotency rows
    (the outbox) in commits of CHUNK rows, then the chain head, balances, usage and the
    archive mark in one commit. Each step only writes what differs, so a rerun after a
    kill finishes the job and a second restore writes nothing."""

    idempotency_ttl_seconds: int | None

    def restore_chain(
        self, customer_id: str, receipts: Sequence[dict[str, Any]], archived_through: int | None = None
    ) -> RestoreOutcome:
        last = len(receipts)
        head = self._read("ChainHeads", ["Sequence"], spanner.KeySet(keys=[[customer_id]]))
        if head and head[0][0] > last:
            refused = f"the chain head is sequence {head[0][0]}, past the chain given (sequence {last})"
            return RestoreOutcome(customer_id, head[0][0], refused=refused)
        written, replaced = 0, 0
        for start in range(0, last, CHUNK):
            created, updated = self._restore_documents(receipts[start : start + CHUNK])
            written, replaced = written + created, replaced + updated
        keys = [0, 0, 0]
        for start in range(0, last, CHUNK):
            chunk = receipts[start : start + CHUNK]
            counts = with_backoff(
                "Spanner restore idempotency rows",
                lambda chunk=chunk: self._database.run_in_transaction(self._restore_keys, customer_id, chunk),
            )
            keys = [total + count for total, count in zip(keys, counts, strict=True)]
        mark = last if archived_through is None else archived_through
        state, refused = with_backoff(
            "Spanner restore state",
            lambda: self._database.run_in_transaction(self._restore_state, customer_id, receipts, mark),
        )
        if refused:
            return RestoreOutcome(customer_id, last, written, replaced, *keys, refused=refused)
        return RestoreOutcome(customer_id, last, written, replaced, *keys, state)

    # -- Firestore -------------------------------------------------------------------
    def _restore_documents(self, receipts: Sequence[dict[str, Any]]) -> tuple[int, int]:
        collection = self._firestore.collection(RECEIPTS)
        references = [collection.document(receipt["receipt_id"]) for receipt in receipts]
        stored = {
            snapshot.id: snapshot.to_dict()
            for snapshot in with_backoff("Firestore get_all", lambda: list(self._firestore.get_all(references)))
            if snapshot.exists
        }
        batch, created, updated = self._firestore.batch(), 0, 0
        for reference, receipt in zip(references, receipts, strict=True):
            body = signed_body(receipt)
            document = document_of(
                canonical_bytes(body).decode("utf-8"), body, receipt["receipt_hash"], receipt["signature"]
            )
            existing = stored.get(reference.id)
            if existing is not None and _same_document(existing, document):
                continue
            if existing is None:
                batch.create(reference, document)
                created += 1
            else:  # an edited document: the verified archived receipt replaces it (privileged)
                batch.set(reference, {**document, "restored_at": firestore.SERVER_TIMESTAMP})
                updated += 1
        if created or updated:
            try:
                with_backoff("Firestore restore batch", batch.commit)
            except api_exceptions.Conflict:  # created meanwhile (a second restore): read again
                return self._restore_documents(receipts)
        return created, updated

    # -- Spanner ---------------------------------------------------------------------
    def _restore_keys(self, transaction, customer_id: str, receipts: Sequence[dict[str, Any]]) -> tuple[int, int, int]:
        """Idempotency rows (also the outbox: body and signature) of `receipts`, CreatedAt the
        receipt's processed_at so the 30-day TTL keeps counting from the charge; rows already
        past the TTL are not written. A row holding one of these sequences under another key
        is removed (the sequence index is unique)."""
        sequences = [receipt["sequence"] for receipt in receipts]
        rows = transaction.execute_sql(
            f"SELECT {', '.join(KEY_COLUMNS)} FROM IdempotencyKeys "
            "WHERE CustomerId = @c AND (IdempotentKey IN UNNEST(@keys) OR Sequence IN UNNEST(@sequences))",
            params={"c": customer_id, "keys": [r["idempotent_key"] for r in receipts], "sequences": sequences},
            param_types={
                "c": param_types.STRING,
                "keys": param_types.Array(param_types.STRING),
                "sequences": param_types.Array(param_types.INT64),
            },
        )
        by_key = {tuple(row)[1]: tuple(row) for row in rows}
        expired_before = datetime.now(UTC) - timedelta(seconds=self.idempotency_ttl_seconds or 0)
        written = replaced = expired = 0
        for receipt in receipts:
            created_at = datetime.fromisoformat(receipt["processed_at"].replace("Z", "+00:00"))
            if self.idempotency_ttl_seconds and created_at <= expired_before:
                expired += 1
                continue
            row = (
                customer_id,
                receipt["idempotent_key"],
                receipt["receipt_id"],
                receipt["event_sha256"],
                receipt["sequence"],
                receipt["receipt_hash"],
                canonical_bytes(signed_body(receipt)).decode("utf-8"),
                receipt["signature"],
            )
            if by_key.get(row[1]) == row:
                continue
            for key, other in by_key.items():
                if other[4] == row[4] and key != row[1]:
                    transaction.delete("IdempotencyKeys", spanner.KeySet(keys=[[customer_id, key]]))
            replaced += row[1] in by_key
            written += row[1] not in by_key
            transaction.insert_or_update("IdempotencyKeys", [*KEY_COLUMNS, "CreatedAt"], [[*row, created_at]])
        return written, replaced, expired

    def _restore_state(
        self, transaction, customer_id: str, receipts: Sequence[dict[str, Any]], mark: int
    ) -> tuple[int, str | None]:
        """Chain head, balances, usage and charge credits recomputed from the chain (rows it does not account
        for removed) and the archive mark raised to `mark`, in one commit."""
        one = spanner.KeySet(keys=[[customer_id]])
        prefix = spanner.KeySet(ranges=[spanner.KeyRange(start_closed=[customer_id], end_closed=[customer_id])])
        head = list(transaction.read("ChainHeads", ["Sequence", "ReceiptHash", "ReceiptId"], one))
        last = receipts[-1]
        if head and head[0][0] > last["sequence"]:
            return 0, f"the chain head moved to sequence {head[0][0]} during the restore"
        changed = 0
        if not head or tuple(head[0]) != (last["sequence"], last["receipt_hash"], last["receipt_id"]):
            transaction.insert_or_update(
                "ChainHeads",
                ["CustomerId", "Sequence", "ReceiptHash", "ReceiptId", "UpdatedAt"],
                [[customer_id, last["sequence"], last["receipt_hash"], last["receipt_id"], spanner.COMMIT_TIMESTAMP]],
            )
            changed += 1
        balances, usage, credits = state_rows(receipts)
        wanted = {
            ("Balances", "Currency", "Balance"): {c: (Decimal(text), seq) for c, (text, seq) in balances.items()},
            ("EntitlementUsage", "EntitlementId", "UsedMinor"): usage,
            ("ChargeCredits", "ReceiptId", "CreditedMinor"): credits,
        }
        for (table, key, value), rows in wanted.items():
            stored = {
                name: (amount, as_of)
                for name, amount, as_of in transaction.read(table, [key, value, "AsOfSequence"], prefix)
            }
            for name in stored.keys() - rows.keys():
                transaction.delete(table, spanner.KeySet(keys=[[customer_id, name]]))
                changed += 1
            for name, row in rows.items():
                if stored.get(name) != row:
                    transaction.insert_or_update(
                        table, ["CustomerId", key, value, "AsOfSequence"], [[customer_id, name, *row]]
                    )
                    changed += 1
        marks = list(transaction.read("ArchiveMarks", ["PlannedSequence"], one))
        if not marks or marks[0][0] < mark:
            transaction.insert_or_update("ArchiveMarks", ["CustomerId", "PlannedSequence"], [[customer_id, mark]])
        return changed, None


def _same_document(stored: dict[str, Any], document: dict[str, Any]) -> bool:
    def said(values: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in values.items() if name not in WRITE_TIMES}

    return said(stored) == said(document)
