"""Archiving from the store's outbox (receipts.stores.archiving): these steps decide when,
the store decides what. Stored receipts only say that something is waiting; every catch-up
writes what the store holds and has not archived, so a receipt a killed job stored is
archived by the next job, and a batch whose write failed is written by the next catch-up.

- `ArchiveWhenDone` (batch): one catch-up of every customer once all writes are done.
- `ArchiveWindows` (streaming): one catch-up when the job starts, then, per processing-time
  window, catch-ups of the customers stored in it. A window closes when the watermark
  passes its end (a drained job closes them all); a late pane only triggers another
  catch-up, which finds nothing left or the newest receipts.

A window's catch-ups follow its traffic: its receipts are counted per customer (one small
combine per window), and its customers, in id order, are cut into shards of at most
`shard_receipts` receipts (a customer with more is a shard alone; a customer is never
split, its receipts are planned in one transaction). Each shard is one catch-up, spread
over the workers. A quiet window is one catch-up writing one object; at 10,000 receipts/s
a 300 s window is 150 catch-ups of about four 5,000-receipt objects each. A fixed shard
space would make tiny objects at low traffic (every shard plans its own batches) and too
few catch-ups at high traffic.
"""

import logging
from collections.abc import Iterable, Iterator, Mapping

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration

from receipts.records import SignedReceipt
from receipts.stores.archiving import catch_up, open_writer
from receipts.stores.worker_stores import acquire_store, release_store
from transforms.sign import processed_at
from transforms.tally import TalliedCounter

log = logging.getLogger("receipts.archive")
STRANDED_AFTER_SECONDS = 120  # a pending batch this old is written by a window's first catch-up
SHARD_RECEIPTS = 20_000  # receipts per catch-up of a window: four full batch objects


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
    """Stored receipts -> a catch-up at start, then the windows' catch-ups (CatchUpWindows)."""

    def __init__(
        self, store_url: str, archive_url: str, window_seconds: int = 300, shard_receipts: int = SHARD_RECEIPTS
    ) -> None:
        super().__init__()
        self.store_url, self.archive_url = store_url, archive_url
        self.window_seconds, self.shard_receipts = window_seconds, shard_receipts

    def expand(self, receipts):
        _ = (
            receipts.pipeline
            | "AtStart" >> beam.Impulse()
            | "CatchUpAtStart" >> beam.ParDo(CatchUpArchive(self.store_url, self.archive_url))
        )
        return receipts | "CatchUpWindows" >> CatchUpWindows(
            self.store_url, self.archive_url, self.window_seconds, self.shard_receipts
        )


class CatchUpWindows(beam.PTransform):
    """Stored receipts -> per processing-time window, one catch-up per shard of its
    customers, shards carrying at most `shard_receipts` receipts."""

    def __init__(self, store_url: str, archive_url: str, window_seconds: int, shard_receipts: int) -> None:
        super().__init__()
        self.store_url, self.archive_url = store_url, archive_url
        self.window_seconds, self.shard_receipts = window_seconds, shard_receipts

    def expand(self, receipts):
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
            | "CustomerOf" >> beam.Map(lambda receipt: receipt.chained.customer_id)
            | "CountPerCustomer" >> beam.CombineGlobally(CountPerCustomer()).without_defaults()
            | "PackIntoShards" >> beam.FlatMap(numbered_shards, self.shard_receipts)
            | "SpreadShards" >> beam.Reshuffle()
            | "CatchUpCustomers" >> beam.ParDo(CatchUpArchive(self.store_url, self.archive_url, per_customer=True))
        )


class CountPerCustomer(beam.CombineFn):
    """Customer ids -> {customer id: receipts} for a window: one accumulator per window, not
    state per customer (lifted, so each bundle sends its partial counts)."""

    def create_accumulator(self) -> dict[str, int]:
        return {}

    def add_input(self, counts: dict[str, int], customer_id: str) -> dict[str, int]:
        counts[customer_id] = counts.get(customer_id, 0) + 1
        return counts

    def merge_accumulators(self, accumulators: Iterable[dict[str, int]]) -> dict[str, int]:
        merged: dict[str, int] = {}
        for counts in accumulators:
            for customer_id, count in counts.items():
                merged[customer_id] = merged.get(customer_id, 0) + count
        return merged

    def extract_output(self, counts: dict[str, int]) -> dict[str, int]:
        return counts


def numbered_shards(counts: Mapping[str, int], shard_receipts: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(0, first shard's customers), (1, …): the first shard also writes stranded batches."""
    return enumerate(pack_shards(counts, shard_receipts))


def pack_shards(counts: Mapping[str, int], shard_receipts: int) -> list[tuple[str, ...]]:
    """Customers in id order, cut into consecutive shards of at most `shard_receipts`
    receipts; a customer with more is a shard alone. Id order is the order a plan packs
    batches in, so a shard's batches come out full."""
    shards: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0
    for customer_id in sorted(counts):
        if current and size + counts[customer_id] > shard_receipts:
            shards.append(tuple(current))
            current, size = [], 0
        current.append(customer_id)
        size += counts[customer_id]
    return [*shards, tuple(current)] if current else shards


class TimestampByProcessedAt(beam.DoFn):
    """Event time for the archive is when the receipt was made (ChargePerCustomer stamps that
    already; this keeps the transform right on any PCollection of receipts)."""

    def process(self, receipt: SignedReceipt):
        yield window.TimestampedValue(receipt, processed_at(receipt.chained))


class CatchUpArchive(beam.DoFn):
    """Any element -> a catch-up; with `per_customer`, a (shard, customers) element -> a
    catch-up of those customers, where only a window's first shard also writes the batches
    stranded for over STRANDED_AFTER_SECONDS (one writer each, not one per shard). A failed
    write is logged and counted, never raised: the receipts are stored, the batch stays
    pending, and the next catch-up (or `receipts archive catch-up`) writes it."""

    def __init__(self, store_url: str, archive_url: str, per_customer: bool = False) -> None:
        self.store_url, self.archive_url, self.per_customer = store_url, archive_url, per_customer
        self.catch_ups = Metrics.counter("receipts", "archive_catch_ups")
        self.archived = TalliedCounter("receipts_archived")
        self.batches = Metrics.counter("receipts", "archive_batches_written")
        self.failures = Metrics.counter("receipts", "archive_failures")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)
        self.writer = open_writer(self.archive_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, element):
        if self.per_customer:
            shard, customers = element
            done = catch_up(
                self.store,
                self.writer,
                sorted(set(customers)),
                stranded_after_seconds=STRANDED_AFTER_SECONDS,
                write_pending=shard == 0,
            )
        else:
            done = catch_up(self.store, self.writer)
        self.catch_ups.inc()
        self.archived.inc(done.new)
        self.batches.inc(done.batches)
        if not done.ok:
            self.failures.inc(len(done.failed))
            log.error("archive catch-up stopped: %s; `receipts archive catch-up` finishes it", done.failed[0])
        return ()
