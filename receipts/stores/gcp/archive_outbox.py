"""The archive's outbox in Spanner: per customer a "planned up to" mark (ArchiveMarks), and
the batches planned and not yet written (ArchiveBatches, ArchiveSpans); see spanner.sql.
A batch's receipts are read from the IdempotencyKeys rows (which hold the signed body),
or from the Firestore ledger once the rows are past their TTL. A part of
`SpannerFirestoreStore` (receipts.stores.gcp.store)."""

from collections.abc import Sequence
from datetime import datetime

from google.cloud import firestore, spanner
from google.cloud.spanner_v1 import param_types

from receipts.records import spliced_export_line
from receipts.rows import ArchiveBatch, ArchiveSpan
from receipts.stores.archive_plans import BATCH_RECEIPTS, PLAN_CUSTOMERS, archived_through, plan_batches
from receipts.stores.gcp.ledger import RECEIPTS
from receipts.stores.retry import with_backoff

BEHIND = (
    "SELECT h.CustomerId, IFNULL(m.PlannedSequence, 0), h.Sequence "
    "FROM ChainHeads h LEFT JOIN ArchiveMarks m ON m.CustomerId = h.CustomerId "
    "WHERE h.Sequence > IFNULL(m.PlannedSequence, 0) {only} ORDER BY h.CustomerId LIMIT @limit"
)
SPAN_ROWS = (
    "SELECT Sequence, ReceiptHash, Body, Signature FROM IdempotencyKeys@{FORCE_INDEX=IdempotencyKeysBySequence} "
    "WHERE CustomerId = @c AND Sequence BETWEEN @first AND @last ORDER BY Sequence"
)


class SpannerArchiveOutbox:
    def plan_archive(
        self, customers: Sequence[str] | None = None, max_receipts: int = BATCH_RECEIPTS
    ) -> list[ArchiveBatch]:
        if customers is not None and not customers:
            return []
        params: dict = {"limit": PLAN_CUSTOMERS}
        types: dict = {"limit": param_types.INT64}
        only = ""
        if customers is not None:
            only = "AND h.CustomerId IN UNNEST(@customers)"
            params["customers"], types["customers"] = list(customers), param_types.Array(param_types.STRING)

        def plan(transaction) -> list[ArchiveBatch]:
            behind = [tuple(row) for row in transaction.execute_sql(BEHIND.format(only=only), params, types)]
            batches = plan_batches(behind, max_receipts)
            for batch in batches:
                transaction.insert(
                    "ArchiveBatches", ["BatchId", "PlannedAt"], [[batch.batch_id, _moment(batch.planned_at)]]
                )
                transaction.insert(
                    "ArchiveSpans",
                    ["BatchId", "CustomerId", "FirstSequence", "LastSequence"],
                    [[batch.batch_id, span.customer_id, span.first, span.last] for span in batch.spans],
                )
            if behind:
                transaction.insert_or_update(
                    "ArchiveMarks", ["CustomerId", "PlannedSequence"], [[c, head] for c, _, head in behind]
                )
            return batches

        return with_backoff("Spanner plan archive", lambda: self._database.run_in_transaction(plan))

    def pending_archive_batches(self) -> list[ArchiveBatch]:
        rows = self._query(
            "SELECT b.BatchId, b.PlannedAt, s.CustomerId, s.FirstSequence, s.LastSequence "
            "FROM ArchiveBatches b JOIN ArchiveSpans s ON s.BatchId = b.BatchId ORDER BY b.BatchId, s.CustomerId"
        )
        batches: dict[str, tuple[str, list[ArchiveSpan]]] = {}
        for batch_id, planned_at, customer_id, first, last in rows:
            at = planned_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            batches.setdefault(batch_id, (at, []))[1].append(ArchiveSpan(customer_id, first, last))
        return [ArchiveBatch(batch_id, at, tuple(spans)) for batch_id, (at, spans) in batches.items()]

    def archive_lines(self, batch: ArchiveBatch) -> list[bytes]:
        lines: list[bytes] = []
        for span in batch.spans:
            rows = {
                sequence: (body, digest, signature)
                for sequence, digest, body, signature in self._query(
                    SPAN_ROWS,
                    {"c": span.customer_id, "first": span.first, "last": span.last},
                    {"c": param_types.STRING, "first": param_types.INT64, "last": param_types.INT64},
                )
            }
            if len(rows) < span.count:  # rows past the idempotency TTL: the ledger has them
                rows.update(self._ledger_span(span, rows.keys()))
            if len(rows) != span.count:
                raise RuntimeError(
                    f"archive batch {batch.batch_id}: customer {span.customer_id!r} has {len(rows)} of its "
                    f"receipts {span.first}..{span.last} in the store; the batch was not written"
                )
            lines += [
                spliced_export_line(body.encode("utf-8"), digest, signature)
                for _, (body, digest, signature) in sorted(rows.items())
            ]
        return lines

    def _ledger_span(self, span: ArchiveSpan, have) -> dict[int, tuple[str, str, str]]:
        query = (
            self._firestore.collection(RECEIPTS)
            .where(filter=firestore.FieldFilter("customer_id", "==", span.customer_id))
            .where(filter=firestore.FieldFilter("sequence", ">=", span.first))
            .where(filter=firestore.FieldFilter("sequence", "<=", span.last))
            .order_by("sequence")
        )
        found = {}
        for snapshot in with_backoff("Firestore query", lambda: list(query.stream())):
            document = snapshot.to_dict()
            if document.get("sequence") not in have:
                found[document["sequence"]] = (document["body"], document["receipt_hash"], document["signature"])
        return found

    def finish_archive_batch(self, batch_id: str) -> None:
        def finish(transaction) -> None:
            transaction.delete("ArchiveBatches", spanner.KeySet(keys=[[batch_id]]))  # its spans: ON DELETE CASCADE

        with_backoff("Spanner finish archive batch", lambda: self._database.run_in_transaction(finish))

    def archived_through(self, customer_id: str) -> int:
        params, types = {"c": customer_id}, {"c": param_types.STRING}
        mark = self._query("SELECT PlannedSequence FROM ArchiveMarks WHERE CustomerId = @c", params, types)
        firsts = self._query("SELECT FirstSequence FROM ArchiveSpans WHERE CustomerId = @c", params, types)
        return archived_through(mark[0][0] if mark else 0, (row[0] for row in firsts))

    def unarchived_count(self) -> int:
        behind = self._query(
            "SELECT IFNULL(SUM(h.Sequence - IFNULL(m.PlannedSequence, 0)), 0) FROM ChainHeads h "
            "LEFT JOIN ArchiveMarks m ON m.CustomerId = h.CustomerId WHERE h.Sequence > IFNULL(m.PlannedSequence, 0)"
        )[0][0]
        pending = self._query("SELECT IFNULL(SUM(LastSequence - FirstSequence + 1), 0) FROM ArchiveSpans")[0][0]
        return int(behind) + int(pending)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
