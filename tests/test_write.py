"""WriteReceipts: one customer's receipts reach the store in chain order, batch or stream."""

import random
from pathlib import Path
from typing import ClassVar

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to

from receipts.events import Event, parse_event
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.rows import WriteOutcome
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.conftest import PROCESSED_AT, make_event
from transforms.sinks import DEAD, RECEIPT_CONFLICT, WriteReceipts, not_written

pytestmark = pytest.mark.beam
BATCH = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'receipts.db'}"


def signed(signer, customer: str, count: int) -> list[SignedReceipt]:
    state = ChainState(customer)
    out = []
    for index in range(count):
        event = make_event(customer_id=customer, idempotent_key=f"{customer}-{index}", amount="1.25")
        chained = state.append(event, None, signer.kid, PROCESSED_AT)
        out.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return out


def test_batch_writes_each_customer_in_sequence_order(store_url: str, signer, jwks) -> None:
    one, two = signed(signer, "cust_1", 7), signed(signer, "cust_2", 3)
    shuffled = [*one, *two]
    random.Random(3).shuffle(shuffled)
    by_customer = [("cust_1", [r for r in shuffled if r in one]), ("cust_2", [r for r in shuffled if r in two])]
    with TestPipeline(runner=BATCH) as pipeline:
        written = (
            pipeline
            | beam.Create(by_customer)
            | beam.ParDo(WriteReceipts(store_url, hold_out_of_order=False, transaction_size=2)).with_outputs(
                DEAD, main="stored"
            )
        )
        assert_that(written.stored | beam.Map(lambda r: r.receipt_id), equal_to([r.receipt_id for r in one + two]))
        assert_that(written[DEAD], equal_to([]), label="no dead letters")
    stored = list(SqliteStore(store_url).receipts())
    assert [(r["customer_id"], r["sequence"]) for r in stored] == [("cust_1", n) for n in range(1, 8)] + [
        ("cust_2", n) for n in range(1, 4)
    ]
    assert all(result.ok for result in verify_chain(stored, jwks))


def test_batch_with_a_missing_predecessor_fails_instead_of_leaving_a_gap(store_url: str, signer) -> None:
    receipts = signed(signer, "cust_1", 3)
    with pytest.raises(Exception, match="sequence 2 is missing"), TestPipeline(runner=BATCH) as pipeline:
        _ = (
            pipeline
            | beam.Create([("cust_1", [receipts[0], receipts[2]])])
            | beam.ParDo(WriteReceipts(store_url, hold_out_of_order=False)).with_outputs(DEAD, main="stored")
        )
    assert list(SqliteStore(store_url).receipts()) == []


class Recorder(beam.DoFn):
    """Collects outputs in a class list: assert_that is unreliable with streaming state."""

    seen: ClassVar[list[tuple[str, int]]] = []

    def process(self, receipt: SignedReceipt):
        Recorder.seen.append((receipt.chained.customer_id, receipt.chained.sequence))


def test_stream_holds_a_receipt_until_its_predecessor_is_written(store_url: str, signer, jwks) -> None:
    Recorder.seen = []
    receipts = signed(signer, "cust_1", 4)
    arrivals = [receipts[2], receipts[0], receipts[3], receipts[1]]  # 3 and 4 overtake 2
    stream = TestStream().advance_watermark_to(0)
    for receipt in arrivals:
        stream = stream.add_elements([("cust_1", [receipt])]).advance_processing_time(1)
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as pipeline:
        written = (
            pipeline
            | stream
            | beam.ParDo(WriteReceipts(store_url, hold_out_of_order=True)).with_outputs(DEAD, main="stored")
        )
        written.stored | "Record" >> beam.ParDo(Recorder())
    assert Recorder.seen == [("cust_1", 1), ("cust_1", 2), ("cust_1", 3), ("cust_1", 4)]
    stored = list(SqliteStore(store_url).receipts())
    assert [r["sequence"] for r in stored] == [1, 2, 3, 4]
    assert all(result.ok for result in verify_chain(stored, jwks))


def test_a_refused_receipt_becomes_a_replayable_dead_letter(store_url: str, signer) -> None:
    [receipt] = signed(signer, "cust_1", 1)
    letter = not_written(receipt, WriteOutcome.NOT_NEXT)
    assert letter.reason == RECEIPT_CONFLICT
    assert (letter.customer_id, letter.idempotent_key) == ("cust_1", "cust_1-0")
    assert "does not extend the stored chain head" in letter.detail
    event = parse_event(letter.raw)  # the event it was made from: replaying it charges it once
    assert isinstance(event, Event)
    assert event.event_sha256 == receipt.chained.body["event_sha256"]
