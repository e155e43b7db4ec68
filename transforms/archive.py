"""Archiving from the store's outbox (receipts.stores.archiving): these steps decide when,
the store decides what. Stored receipts only say that something is waiting; every catch-up
writes what the store holds and has not archived, so a receipt a killed job stored is
archived by the next job, and a batch whose write failed is written by the next catch-up.

- `ArchiveWhenDone` (batch): one catch-up of every customer once all writes are done.
- `ArchiveWindows` (streaming): one catch-up when the job starts, then, per processing-time
  window and shard, a catch-up of the customers stored in it. A window closes when the
  watermark passes its end (a drained job closes them all); a late pane only triggers
  another catch-up, which finds nothing left or the newest receipts.
"""

import logging
import zlib
from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration

from receipts.records import SignedReceipt
from receipts.stores import open_store
from receipts.stores.archiving import catch_up, open_writer
from transforms.sign import processed_at

log = logging.getLogger("receipts.archive")
STRANDED_AFTER_SECONDS = 120  # a pending batch this old is written by whoever catches up next


class ArchiveWhenDone(beam.PTransform):
    """Stored receipts -> (once they are all written) one catch-up of every customer."""

    def __init__(self, store_url: str, archive_url: str) -> None:
        super().__init__()
        self.store_url, self.archive_url = store_url, archive_url

    def expand(self, receipts):
        return (
            receipts
            | "CountStored" >> beam.combiners.Count.Globally()
            | "CatchUpArchive" >> beam.ParDo(CatchUpArchive(self.store_url, self.archive_url))
        )


class ArchiveWindows(beam.PTransform):
    """Stored receipts -> a catch-up at start, then one per window and shard for its customers."""

    def __init__(self, store_url: str, archive_url: str, window_seconds: int = 300, shards: int = 4) -> None:
        super().__init__()
        self.store_url, self.archive_url = store_url, archive_url
        self.window_seconds, self.shards = window_seconds, shards

    def expand(self, receipts):
        shards = self.shards
        _ = (
            receipts.pipeline
            | "AtStart" >> beam.Impulse()
            | "CatchUpAtStart" >> beam.ParDo(CatchUpArchive(self.store_url, self.archive_url))
        )
        return (
            receipts
            | "TimestampByProcessedAt" >> beam.ParDo(TimestampByProcessedAt())
            | "WindowByProcessedAt"
            >> beam.WindowInto(
                window.FixedWindows(self.window_seconds),
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                allowed_lateness=Duration(seconds=24 * 3600),
                accumulation_mode=trigger.AccumulationMode.DISCARDING,
            )
            | "KeyByShard"
            >> beam.Map(lambda r: (zlib.crc32(r.chained.customer_id.encode()) % shards, r.chained.customer_id))
            | "GroupByWindowShard" >> beam.GroupByKey()
            | "CatchUpCustomers" >> beam.ParDo(CatchUpArchive(self.store_url, self.archive_url, per_customer=True))
        )


class TimestampByProcessedAt(beam.DoFn):
    """Event time for the archive is when the receipt was made (ChargePerCustomer stamps that
    already; this keeps the transform right on any PCollection of receipts)."""

    def process(self, receipt: SignedReceipt):
        yield window.TimestampedValue(receipt, processed_at(receipt.chained))


class CatchUpArchive(beam.DoFn):
    """Any element -> a catch-up (of the customers the element lists, with `per_customer`).
    A failed write is logged and counted, never raised: the receipts are stored, the batch
    stays pending, and the next catch-up (or `receipts archive catch-up`) writes it."""

    def __init__(self, store_url: str, archive_url: str, per_customer: bool = False) -> None:
        self.store_url, self.archive_url, self.per_customer = store_url, archive_url, per_customer
        self.archived = Metrics.counter("receipts", "receipts_archived")
        self.batches = Metrics.counter("receipts", "archive_batches_written")
        self.failures = Metrics.counter("receipts", "archive_failures")

    def setup(self) -> None:
        self.store = open_store(self.store_url)
        self.writer = open_writer(self.archive_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, element):
        customers = sorted(set(_customers(element))) if self.per_customer else None
        done = catch_up(
            self.store,
            self.writer,
            customers,
            stranded_after_seconds=STRANDED_AFTER_SECONDS if self.per_customer else None,
        )
        self.archived.inc(done.new)
        self.batches.inc(done.batches)
        if not done.ok:
            self.failures.inc(len(done.failed))
            log.error("archive catch-up stopped: %s; `receipts archive catch-up` finishes it", done.failed[0])
        return ()


def _customers(element: tuple[int, Iterable[str]]) -> Iterable[str]:
    return element[1]
