"""Streaming charges each customer in micro-batches (transforms.charge.PerCustomerBatches):
one store transaction per batch, not per event; a batch is flushed when it is full or its
buffer time has passed, and the chain stays gap-free across batches."""

from collections import Counter
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream

from pipelines.local_runner import RUNNER, prepare_direct_runner
from receipts.records import Message
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from receipts_cli.console import pipeline_counts
from tests.conftest import make_event
from transforms.charge import ChargeEvents

pytestmark = pytest.mark.beam


def items(customer: str, keys: range, prefix: str = "k"):
    return [
        (Message(f"{customer}-{prefix}{n}", b"", n), make_event(customer_id=customer, idempotent_key=f"{prefix}{n}"))
        for n in keys
    ]


def virtual_now() -> float:
    """Processing time as TestStream's runner keeps it: starts at 0, moves when the stream says."""
    return 0.0


def run_stream(store_url: str, signer_url: str, kid: str, stream: TestStream, size: int, buffer: float) -> Counter:
    prepare_direct_runner()
    options = PipelineOptions(runner=RUNNER)
    options.view_as(StandardOptions).streaming = True
    pipeline = TestPipeline(options=options)
    _ = (
        pipeline
        | stream
        | ChargeEvents(
            store_url,
            signer_url,
            kid,
            streaming=True,
            batch_size=size,
            batch_buffer_seconds=buffer,
            batch_clock=virtual_now,
        )
    )
    result = pipeline.run()
    result.wait_until_finish()
    return pipeline_counts(result)


def stored(store_url: str, customer: str) -> list[dict]:
    store = SqliteStore(store_url)
    try:
        return list(store.receipts(customer))
    finally:
        store.close()


def test_a_busy_customer_is_written_once_per_full_batch(tmp_path: Path, signer_url, keyring, jwks) -> None:
    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    stream = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements(items("cust_busy", range(20)) + items("cust_quiet", range(3)))
        .advance_watermark_to_infinity()
    )
    counts = run_stream(store_url, signer_url, keyring.current_kid, stream, size=8, buffer=3600)
    assert counts["receipts_written"] == 23
    assert counts["store_write_transactions"] == 3 + 1  # 8 + 8 + 4 for the busy one, 3 for the quiet one
    busy = stored(store_url, "cust_busy")
    assert [r["sequence"] for r in busy] == list(range(1, 21))
    assert all(result.ok for result in verify_chain(busy, jwks))


def test_a_batch_is_flushed_when_its_buffer_time_has_passed(tmp_path: Path, signer_url, keyring, jwks) -> None:
    """Three events, then more processing time than the buffer: they are charged as one batch
    before the next three arrive (which make a second), though eight would fit in one."""
    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    stream = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements(items("cust_1", range(3)))
        .advance_processing_time(5)
        .add_elements(items("cust_1", range(3, 6)))
        .advance_processing_time(5)
        .advance_watermark_to_infinity()
    )
    counts = run_stream(store_url, signer_url, keyring.current_kid, stream, size=8, buffer=1)
    assert counts["receipts_written"] == 6
    assert counts["store_write_transactions"] == 2
    receipts = stored(store_url, "cust_1")
    assert [r["idempotent_key"] for r in receipts] == [f"k{n}" for n in range(6)]
    assert all(result.ok for result in verify_chain(receipts, jwks))
