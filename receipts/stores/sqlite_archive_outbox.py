"""The archive's outbox in the SQLite store: per customer a "planned up to" mark, and the
batches planned and not yet written (receipts.stores.archiving writes them). A part of
`SqliteStore` (receipts.stores.sqlite), which supplies `_db` and its transactions."""

import sqlite3
from collections.abc import Sequence

from receipts.records import spliced_export_line
from receipts.rows import ArchiveBatch, ArchiveSpan
from receipts.stores.archive_plans import BATCH_RECEIPTS, PLAN_CUSTOMERS, archived_through, plan_batches

BEHIND = """
SELECT h.customer_id, coalesce(m.planned_sequence, 0), h.sequence
FROM chain_heads h LEFT JOIN archive_marks m ON m.customer_id = h.customer_id
WHERE h.sequence > coalesce(m.planned_sequence, 0) {only}
ORDER BY h.customer_id LIMIT ?
"""


class SqliteArchiveOutbox:
    _db: sqlite3.Connection

    def plan_archive(
        self, customers: Sequence[str] | None = None, max_receipts: int = BATCH_RECEIPTS
    ) -> list[ArchiveBatch]:
        only, arguments = "", ()
        if customers is not None:
            if not customers:
                return []
            only = f"AND h.customer_id IN ({', '.join('?' * len(customers))})"
            arguments = tuple(customers)
        with self._transaction():
            behind = self._db.execute(BEHIND.format(only=only), (*arguments, PLAN_CUSTOMERS)).fetchall()
            batches = plan_batches(behind, max_receipts)
            for batch in batches:
                self._db.execute("INSERT INTO archive_batches VALUES (?, ?)", (batch.batch_id, batch.planned_at))
                self._db.executemany(
                    "INSERT INTO archive_spans VALUES (?, ?, ?, ?)",
                    [(batch.batch_id, span.customer_id, span.first, span.last) for span in batch.spans],
                )
            self._db.executemany(
                "INSERT INTO archive_marks VALUES (?, ?) ON CONFLICT (customer_id) "
                "DO UPDATE SET planned_sequence = excluded.planned_sequence",
                [(customer_id, head) for customer_id, _, head in behind],
            )
        return batches

    def pending_archive_batches(self) -> list[ArchiveBatch]:
        rows = self._db.execute(
            "SELECT b.batch_id, b.planned_at, s.customer_id, s.first_sequence, s.last_sequence "
            "FROM archive_batches b JOIN archive_spans s ON s.batch_id = b.batch_id "
            "ORDER BY b.batch_id, s.customer_id"
        ).fetchall()
        batches: dict[str, tuple[str, list[ArchiveSpan]]] = {}
        for batch_id, planned_at, customer_id, first, last in rows:
            batches.setdefault(batch_id, (planned_at, []))[1].append(ArchiveSpan(customer_id, first, last))
        return [ArchiveBatch(batch_id, at, tuple(spans)) for batch_id, (at, spans) in batches.items()]

    def archive_lines(self, batch: ArchiveBatch) -> list[bytes]:
        lines: list[bytes] = []
        for span in batch.spans:
            rows = self._db.execute(
                "SELECT body, receipt_hash, signature FROM receipts "
                "WHERE customer_id = ? AND sequence BETWEEN ? AND ? ORDER BY sequence",
                (span.customer_id, span.first, span.last),
            ).fetchall()
            if len(rows) != span.count:
                raise RuntimeError(
                    f"archive batch {batch.batch_id}: customer {span.customer_id!r} has {len(rows)} of its "
                    f"receipts {span.first}..{span.last} in the store; the batch was not written"
                )
            lines += [spliced_export_line(body.encode("utf-8"), digest, signature) for body, digest, signature in rows]
        return lines

    def finish_archive_batch(self, batch_id: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM archive_spans WHERE batch_id = ?", (batch_id,))
            self._db.execute("DELETE FROM archive_batches WHERE batch_id = ?", (batch_id,))

    def archived_through(self, customer_id: str) -> int:
        row = self._db.execute(
            "SELECT planned_sequence FROM archive_marks WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        firsts = self._db.execute(
            "SELECT first_sequence FROM archive_spans WHERE customer_id = ?", (customer_id,)
        ).fetchall()
        return archived_through(row[0] if row else 0, (first for (first,) in firsts))

    def unarchived_count(self) -> int:
        behind = self._db.execute(
            "SELECT coalesce(sum(h.sequence - coalesce(m.planned_sequence, 0)), 0) FROM chain_heads h "
            "LEFT JOIN archive_marks m ON m.customer_id = h.customer_id "
            "WHERE h.sequence > coalesce(m.planned_sequence, 0)"
        ).fetchone()[0]
        pending = self._db.execute(
            "SELECT coalesce(sum(last_sequence - first_sequence + 1), 0) FROM archive_spans"
        ).fetchone()[0]
        return behind + pending
