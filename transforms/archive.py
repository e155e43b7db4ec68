"""The receipt archive: every stored receipt as a JSONL line in the export format.

- `ArchiveToFolder` (embedded, batch): one file per hour of event time, merged, so a
  replay rewrites identical files.
- `ArchiveToBucket` (Cloud Storage, batch or streaming): one object per processing-time
  window and shard, written once; its name depends only on the window and the shard.
"""

import zlib
from collections.abc import Iterable
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration

from receipts.records import SignedReceipt
from receipts.stores.folder_archive import merge_into, window_name
from transforms.sign import processed_at


class ArchiveToFolder(beam.PTransform):
    """SignedReceipt -> hourly JSONL files (by event time) in a local folder."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def expand(self, receipts):
        return (
            receipts
            | "KeyByHourFile" >> beam.Map(lambda r: (window_name(r.chained.body["event_timestamp"]), r.export_line()))
            | "GroupByHourFile" >> beam.GroupByKey()
            | "MergeHourFile" >> beam.ParDo(MergeHourFile(self.folder))
        )


class MergeHourFile(beam.DoFn):
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.archived = Metrics.counter("receipts", "receipts_archived")

    def process(self, element: tuple[str, Iterable[bytes]]):
        name, lines = element
        self.archived.inc(merge_into(Path(self.folder), name, lines))


class ArchiveToBucket(beam.PTransform):
    """SignedReceipt -> write-once JSONL objects under gs://bucket/prefix.

    Receipts are timestamped with when they were processed and grouped in fixed windows
    of that time, `shards` objects per window (by customer). A window is written when the
    watermark passes its end; receipts that arrive later still are written as an extra
    object beside it, never by rewriting one.
    """

    def __init__(self, url: str, window_seconds: int = 300, shards: int = 4) -> None:
        super().__init__()
        self.url, self.window_seconds, self.shards = url, window_seconds, shards

    def expand(self, receipts):
        shards = self.shards
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
            >> beam.Map(
                lambda r: (
                    zlib.crc32(r.chained.customer_id.encode()) % shards,
                    (r.chained.customer_id, r.chained.sequence, r.export_line()),
                )
            )
            | "GroupByWindowShard" >> beam.GroupByKey()
            | "WriteWindowObject" >> beam.ParDo(WriteWindowObject(self.url, shards))
        )


class TimestampByProcessedAt(beam.DoFn):
    """Event time for the archive is when the receipt was made (SignReceipts stamps that
    already; this keeps the transform right on any PCollection of receipts)."""

    def process(self, receipt: SignedReceipt):
        yield window.TimestampedValue(receipt, processed_at(receipt.chained))


class WriteWindowObject(beam.DoFn):
    def __init__(self, url: str, shards: int) -> None:
        self.url, self.shards = url, shards
        self.archived = Metrics.counter("receipts", "receipts_archived")
        self.objects = Metrics.counter("receipts", "archive_objects_written")
        self.aside = Metrics.counter("receipts", "archive_objects_written_aside")

    def setup(self) -> None:
        from receipts.stores.gcp.bucket_archive import BucketArchive

        self.archive = BucketArchive(self.url)

    def process(self, element: tuple[int, Iterable[tuple[str, int, bytes]]], at=beam.DoFn.WindowParam):
        from receipts.stores.gcp.bucket_archive import ArchiveOutcome, window_object_name

        shard, entries = element
        ordered = sorted(entries, key=lambda entry: (entry[0], entry[1]))
        data = b"".join(line for _, _, line in ordered)
        name = window_object_name(self.archive.path.prefix, float(at.start), float(at.end), shard, self.shards)
        outcome, _ = self.archive.write_once(name, data)
        if outcome is not ArchiveOutcome.ALREADY_ARCHIVED:
            self.archived.inc(len(ordered))
            (self.objects if outcome is ArchiveOutcome.WRITTEN else self.aside).inc()
