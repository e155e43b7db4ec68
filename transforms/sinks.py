"""Sinks: receipts (with their state rows) and dead letters into the store; the
windowed JSONL archive into a folder."""

from pathlib import Path

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.archive import merge_into, window_name
from receipts.events import FieldError
from receipts.records import DeadLetter, Message, SignedReceipt
from receipts.store import WriteOutcome, open_store

DEAD = "dead"
RECEIPT_CONFLICT = "receipt_conflict"


class WriteReceipts(beam.DoFn):
    """list[SignedReceipt] -> one store transaction; yields the receipts that are stored.
    A receipt that collides with a different stored one becomes a dead letter."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.written = Metrics.counter("receipts", "receipts_written")
        self.replayed = Metrics.counter("receipts", "receipts_already_present")
        self.conflicts = Metrics.counter("receipts", "receipt_conflicts")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, batch: list[SignedReceipt]):
        for receipt, outcome in zip(batch, self.store.write_receipts(batch), strict=True):
            if outcome is WriteOutcome.CONFLICT:
                self.conflicts.inc()
                error = FieldError(
                    None,
                    RECEIPT_CONFLICT,
                    (
                        f"another receipt is stored as {receipt.receipt_id} or as sequence "
                        f"{receipt.chained.sequence} of customer {receipt.chained.customer_id}; "
                        "this one was not written"
                    ),
                )
                message = Message(f"receipt-{receipt.receipt_id}", receipt.export_line())
                yield beam.pvalue.TaggedOutput(
                    DEAD,
                    DeadLetter.of(message, error, receipt.chained.customer_id, receipt.chained.body["idempotent_key"]),
                )
                continue
            (self.written if outcome is WriteOutcome.WRITTEN else self.replayed).inc()
            yield receipt


class WriteDeadLetters(beam.DoFn):
    """list[DeadLetter] -> the store; the same message and reason are kept once."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.kept = Metrics.counter("receipts", "dead_letters")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, batch: list[DeadLetter]):
        self.store.add_dead_letters(batch)
        self.kept.inc(len(batch))


class ArchiveToFolder(beam.PTransform):
    """SignedReceipt -> hourly JSONL window files (by event time) in a local folder."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def expand(self, receipts):
        return (
            receipts
            | "KeyByHourWindow" >> beam.Map(lambda r: (window_name(r.chained.body["event_timestamp"]), r.export_line()))
            | "GroupByWindow" >> beam.GroupByKey()
            | "MergeWindowFile" >> beam.MapTuple(lambda name, lines: merge_into(Path(self.folder), name, lines))
        )
