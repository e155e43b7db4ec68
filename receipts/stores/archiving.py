"""The archive, derived from what is durably stored: the store's outbox plans batches of
stored receipts (receipts.rows.ArchiveBatch), an `ArchiveWriter` writes each batch, and only
then is the batch finished. So every stored receipt reaches the archive exactly once
whatever the kill point: killed before the write, the batch is still pending and is written
by the next catch-up; killed after the write and before the finish, it is written again,
the same bytes under the same name (a folder merges by receipt id; a bucket object of the
same bytes is "already archived").

Who calls `catch_up`: the batch job when its writes are done, the streaming job when an
archive window closes (for the customers in it) and when it starts, `receipts stream`
when it stops, and `receipts archive catch-up`.
"""

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from receipts.rows import ArchiveBatch
from receipts.stores.archive_plans import BATCH_RECEIPTS
from receipts.stores.folder_archive import merge_into, window_name

log = logging.getLogger("receipts.archive")


class ArchiveWriter(Protocol):
    def write_batch(self, batch: ArchiveBatch, lines: Sequence[bytes]) -> int:
        """Write one batch's export lines; return how many were not in the archive yet."""
        ...

    def where(self, batch: ArchiveBatch) -> str:
        """Where the batch goes (a folder, a gs:// object), for messages."""
        ...


class FolderWriter:
    """A local folder: the lines merged into one file per hour of event time (by receipt id,
    so writing a batch again adds nothing)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def write_batch(self, batch: ArchiveBatch, lines: Sequence[bytes]) -> int:
        by_file: dict[str, list[bytes]] = {}
        for line in lines:
            by_file.setdefault(window_name(json.loads(line)["event_timestamp"]), []).append(line)
        return sum(merge_into(self.folder, name, group) for name, group in sorted(by_file.items()))

    def where(self, batch: ArchiveBatch) -> str:
        return str(self.folder)


def open_writer(url: str) -> ArchiveWriter:
    """The writer of the archive at `url`: gs://bucket/prefix (receipts.stores.gcp), else a folder."""
    if url.startswith("gs://"):
        from receipts.stores.gcp.bucket_archive import BucketWriter

        return BucketWriter(url)
    return FolderWriter(url)


@dataclass
class CatchUp:
    """What one catch-up did: batches and receipts written, and the first failure, if any
    (the batch it failed on stays pending for the next one)."""

    batches: int = 0
    receipts: int = 0  # receipts in the batches written
    new: int = 0  # of those, not in the archive before (a rewritten batch adds none)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def catch_up(
    store,
    writer: ArchiveWriter,
    customers: Sequence[str] | None = None,
    stranded_after_seconds: float | None = None,
    on_batch: Callable[[ArchiveBatch], None] = lambda batch: None,
    max_receipts: int = BATCH_RECEIPTS,
    write_pending: bool = True,
) -> CatchUp:
    """Write the pending batches (only those planned over `stranded_after_seconds` ago, if
    given: a younger one is probably being written by its planner; none without
    `write_pending`, when another catch-up has that duty), then plan and write batches for
    `customers` (None: every customer) until nothing stored is unplanned. A failed write
    stops the catch-up and is named in the result; nothing is lost, the batch stays
    pending."""
    done = CatchUp()
    pending = store.pending_archive_batches() if write_pending else []
    if stranded_after_seconds is not None:
        cutoff = datetime.now(UTC) - timedelta(seconds=stranded_after_seconds)
        pending = [batch for batch in pending if _planned(batch) < cutoff]
    for batch in pending:
        if not _write(store, writer, batch, done, on_batch):
            return done
    while True:
        batches = store.plan_archive(customers, max_receipts)
        if not batches:
            return done
        for batch in batches:
            if not _write(store, writer, batch, done, on_batch):
                return done


def _write(store, writer: ArchiveWriter, batch: ArchiveBatch, done: CatchUp, on_batch) -> bool:
    try:
        done.new += writer.write_batch(batch, store.archive_lines(batch))
    except Exception as error:  # an outage or a refusal: the batch stays pending, retried later
        log.exception(
            "archive batch %s (%d receipts) not written to %s", batch.batch_id, batch.count, writer.where(batch)
        )
        done.failed.append(f"batch {batch.batch_id} ({batch.count} receipts) to {writer.where(batch)}: {error}")
        return False
    store.finish_archive_batch(batch.batch_id)
    done.batches += 1
    done.receipts += batch.count
    on_batch(batch)
    return True


def _planned(batch: ArchiveBatch) -> datetime:
    return datetime.fromisoformat(batch.planned_at.replace("Z", "+00:00"))
