"""The streaming archive's catch-ups follow a window's traffic: its customers are packed
into shards of at most `shard_receipts` receipts, one catch-up each, and every receipt is
archived exactly once (TestStream on the BundleBasedDirectRunner, as the job runs)."""

from pathlib import Path
from unittest.mock import patch

import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue

from receipts.stores.archiving import FolderWriter
from receipts.stores.folder_archive import read_archive
from receipts.stores.sqlite import SqliteStore
from tests.test_archive_outbox import chain
from transforms.archive import CatchUpArchive, CatchUpWindows, pack_shards
from transforms.sign import processed_at


def test_customers_are_packed_in_id_order_into_shards_of_at_most_n_receipts() -> None:
    counts = {"d": 2, "a": 4, "c": 25, "b": 5, "e": 10}
    assert pack_shards(counts, 10) == [("a", "b"), ("c",), ("d",), ("e",)]  # c is over 10: alone
    assert pack_shards({f"c{n:03}": 1 for n in range(40)}, 10) == [
        tuple(f"c{n:03}" for n in range(first, first + 10)) for first in range(0, 40, 10)
    ]
    assert pack_shards({"a": 3, "b": 2}, 20_000) == [("a", "b")]  # a quiet window: one catch-up
    assert pack_shards({}, 10) == []


def counter(result, name: str, step: str) -> int:
    [found] = result.metrics().query(MetricsFilter().with_name(name).with_step(step))["counters"]
    return found.committed


@pytest.mark.beam
def test_many_customers_in_one_window_are_archived_by_many_catch_ups_each_receipt_once(tmp_path: Path, signer) -> None:
    store_url, folder = f"sqlite:///{tmp_path / 'receipts.db'}", tmp_path / "archive"
    store = SqliteStore(store_url)
    receipts = [receipt for n in range(40) for receipt in chain(signer, f"cust_{n:02}", 3)]  # 120, one window
    store.write_receipts(receipts)
    stream = TestStream().advance_watermark_to(0)
    for first in range(0, len(receipts), 16):  # in bundles, as Pub/Sub delivers them
        group = receipts[first : first + 16]
        stream = stream.add_elements([TimestampedValue(r, processed_at(r.chained)) for r in group])
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    pipeline = TestPipeline(options=options)
    _ = pipeline | stream | "Archive" >> CatchUpWindows(store_url, str(folder), window_seconds=300, shard_receipts=9)
    result = pipeline.run()
    result.wait_until_finish()

    assert counter(result, "archive_catch_ups", "CatchUpCustomers") == 14  # 3 customers (9 receipts) a shard
    assert counter(result, "receipts_archived", "CatchUpCustomers") == 120
    assert counter(result, "archive_batches_written", "CatchUpCustomers") == 14  # one full object each
    archived = [record["receipt_id"] for record in read_archive(folder)]
    assert sorted(archived) == sorted(receipt.receipt_id for receipt in receipts)  # each once
    assert store.unarchived_count() == 0 and store.pending_archive_batches() == []
    store.close()


def test_only_a_windows_first_catch_up_writes_the_stranded_batches(tmp_path: Path, signer) -> None:
    """Every catch-up of a window reading and writing the same stranded batch would be a
    herd of up to one per shard; the first shard has that duty."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    store.write_receipts(chain(signer, "a", 2))
    store.write_receipts(chain(signer, "b", 2))
    [stranded] = store.plan_archive(["a"])  # its planner died before writing it
    other_shard = CatchUpArchive(store.url, str(tmp_path / "archive"), per_customer=True)
    other_shard.store, other_shard.writer = store, FolderWriter(tmp_path / "archive")
    with patch("transforms.archive.STRANDED_AFTER_SECONDS", 0):
        other_shard.process((3, ["b"]))
        assert [batch.batch_id for batch in store.pending_archive_batches()] == [stranded.batch_id]
        other_shard.process((0, ["b"]))
    assert store.pending_archive_batches() == [] and store.unarchived_count() == 0
    store.close()
