"""Planning archive batches, the same for every store: which receipts of which customers go
into which batch. A store reads the heads and marks and writes the plan in one transaction
(receipts.stores.sqlite_archive_outbox, receipts.stores.gcp.archive_outbox)."""

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from receipts.rows import ArchiveBatch, ArchiveSpan

PLAN_CUSTOMERS = 1000  # customers planned per transaction: a Spanner commit stays far below its mutation limit
# Receipts per batch, so per bucket object: about 10 MB at a typical 1.9 KB a receipt, and
# under 100 MB even if every receipt has every field at its event limit (19 KB; pinned by
# tests/test_archive_outbox.py). A bound by bytes would need the receipts' sizes at plan
# time, and a plan reads only heads and marks.
BATCH_RECEIPTS = 5000


def plan_batches(
    behind: Iterable[tuple[str, int, int]], max_receipts: int, now: datetime | None = None
) -> list[ArchiveBatch]:
    """Batches for (customer, planned mark, chain head) triples, in customer order: each
    customer's unplanned receipts split in chunks of at most `max_receipts`, chunks packed
    into batches of at most `max_receipts` receipts, a customer at most once per batch."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    batches: list[list[ArchiveSpan]] = []
    size = 0
    for customer_id, planned, head in behind:
        for first in range(planned + 1, head + 1, max_receipts):
            span = ArchiveSpan(customer_id, first, min(head, first + max_receipts - 1))
            current = batches[-1] if batches else None
            if current is None or size + span.count > max_receipts or current[-1].customer_id == customer_id:
                batches.append([span])
                size = span.count
            else:
                current.append(span)
                size += span.count
    planned_at = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    return [ArchiveBatch(f"{stamp}-{secrets.token_hex(6)}", planned_at, tuple(spans)) for spans in batches]


def archived_through(planned: int, pending_firsts: Iterable[int]) -> int:
    """Every receipt up to the planned mark is archived, except from the first receipt of a
    pending batch on."""
    return min([planned, *(first - 1 for first in pending_firsts)])
