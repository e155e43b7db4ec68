"""ChargeCustomer: one customer's events chained, signed and written in chain order, with
the store's chain head as the truth: a refused receipt is chained again on the store's
head, a retried bundle whose first attempt committed is a replay, another event under
the key is a conflict, and no receipt is signed by a key its body does not name."""

import random
from pathlib import Path
from typing import ClassVar

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to

from receipts.events import IDEMPOTENCY_CONFLICT, Event
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import RECEIPT_CONFLICT, Message, SignedReceipt
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.conftest import PROCESSED_AT, make_event
from transforms.chain import ChargeCustomer
from transforms.sign import KeyMismatch, sign_named
from transforms.sinks import DEAD, refused_for_good

pytestmark = pytest.mark.beam
BATCH = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'receipts.db'}"


def events(customer: str, keys: list[str], amount: str = "1.25") -> list[tuple[Message, Event]]:
    return [(Message(key, b""), make_event(customer_id=customer, idempotent_key=key, amount=amount)) for key in keys]


def charged_elsewhere(store_url: str, signer, customer: str, keys: list[str], amount: str = "2.00") -> None:
    """Another writer (a second job, a backfill) extends the customer's stored chain."""
    store = SqliteStore(store_url)
    state = store.load_chain(customer)
    for key in keys:
        chained = state.append(
            make_event(customer_id=customer, idempotent_key=key, amount=amount), None, signer.kid, PROCESSED_AT
        )
        store.write_receipts([SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])])
    store.close()


def charge(store_url: str, signer_url: str, kid: str, elements, transaction_size: int = 500):
    return beam.ParDo(ChargeCustomer(store_url, signer_url, kid, transaction_size=transaction_size)).with_outputs(
        DEAD, main="stored"
    )


def test_batch_writes_each_customer_in_chain_order(store_url: str, signer_url: str, keyring, jwks) -> None:
    keys = [f"k{n}" for n in range(7)]
    random.Random(3).shuffle(keys)
    by_customer = [("cust_1", events("cust_1", keys)), ("cust_2", events("cust_2", ["a", "b", "c"]))]
    with TestPipeline(runner=BATCH) as pipeline:
        written = pipeline | beam.Create(by_customer) | charge(store_url, signer_url, keyring.current_kid, None, 2)
        assert_that(
            written.stored | beam.Map(lambda r: r.chained.customer_id), equal_to(["cust_1"] * 7 + ["cust_2"] * 3)
        )
        assert_that(written[DEAD], equal_to([]), label="no dead letters")
    stored = list(SqliteStore(store_url).receipts())
    assert [(r["customer_id"], r["sequence"]) for r in stored] == [("cust_1", n) for n in range(1, 8)] + [
        ("cust_2", n) for n in range(1, 4)
    ]
    assert all(result.ok for result in verify_chain(stored, jwks))


def test_a_retried_bundle_whose_first_attempt_committed_is_a_replay(store_url, signer, signer_url, keyring) -> None:
    """The first attempt's receipts are stored (other processed_at, so other bytes); the retry
    finds them and writes nothing, charges nothing twice, dead-letters nothing."""
    charged_elsewhere(store_url, signer, "cust_1", ["k0", "k1"], amount="1.25")
    before = list(SqliteStore(store_url).receipts())
    with TestPipeline(runner=BATCH) as pipeline:
        written = (
            pipeline
            | beam.Create([("cust_1", events("cust_1", ["k0", "k1", "k2"]))])
            | charge(store_url, signer_url, keyring.current_kid, None)
        )
        assert_that(
            written.stored | beam.Map(lambda r: (r.chained.body["idempotent_key"], r.chained.sequence)),
            equal_to([("k0", 1), ("k1", 2), ("k2", 3)]),
        )
        assert_that(written[DEAD], equal_to([]), label="no dead letters")
    after = list(SqliteStore(store_url).receipts())
    assert after[:2] == before and [r["idempotent_key"] for r in after] == ["k0", "k1", "k2"]


def test_another_event_under_a_stored_key_is_an_idempotency_conflict(store_url, signer, signer_url, keyring) -> None:
    charged_elsewhere(store_url, signer, "cust_1", ["k0"], amount="9.99")
    with TestPipeline(runner=BATCH) as pipeline:
        written = (
            pipeline
            | beam.Create([("cust_1", events("cust_1", ["k0", "k1"]))])
            | charge(store_url, signer_url, keyring.current_kid, None)
        )
        assert_that(
            written[DEAD] | beam.Map(lambda d: (d.reason, d.idempotent_key)), equal_to([(IDEMPOTENCY_CONFLICT, "k0")])
        )
    stored = list(SqliteStore(store_url).receipts())
    assert [(r["idempotent_key"], r["amount"], r["sequence"]) for r in stored] == [("k0", "9.99", 1), ("k1", "1.25", 2)]


class Recorder(beam.DoFn):
    """Collects outputs in a class list: assert_that is unreliable with streaming state."""

    seen: ClassVar[list[tuple[str, int]]] = []
    dead: ClassVar[list[str]] = []

    def process(self, receipt: SignedReceipt):
        Recorder.seen.append((receipt.chained.body["idempotent_key"], receipt.chained.sequence))


class Backfill(beam.DoFn):
    """Before the element holding `trigger` reaches the charge step, another writer extends
    the stored chain: the step's state is then one behind the store."""

    def __init__(self, store_url: str, signer_url: str, trigger: str, keys: list[str]) -> None:
        self.store_url, self.signer_url, self.trigger, self.keys = store_url, signer_url, trigger, keys

    def setup(self) -> None:
        from receipts.stores.signers import signer_from_url

        self.signer = signer_from_url(self.signer_url)

    def process(self, element):
        if any(event.idempotent_key == self.trigger for _, event in element[1]):
            charged_elsewhere(self.store_url, self.signer, element[0], self.keys)
        yield element


def test_a_refused_receipt_is_chained_again_on_the_stores_head(store_url, signer, signer_url, keyring, jwks) -> None:
    """Two writers on one customer (a second job, a backfill): the step's state says sequence 2
    is next, the store already has 2 and 3; its receipt is refused, chained again as 4 and
    written, and so is every later event: nothing strands, nothing is dead-lettered."""
    Recorder.seen = []
    stream = TestStream().advance_watermark_to(0)
    for key in ("a", "b", "c"):
        stream = stream.add_elements([("cust_1", events("cust_1", [key]))]).advance_processing_time(1)
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as pipeline:
        written = (
            pipeline
            | stream
            | beam.ParDo(Backfill(store_url, signer_url, "b", ["x1", "x2"]))
            | charge(store_url, signer_url, keyring.current_kid, None)
        )
        written.stored | "Record" >> beam.ParDo(Recorder())
        written[DEAD] | "RecordDead" >> beam.Map(lambda letter: Recorder.dead.append(letter.reason))
    assert Recorder.seen == [("a", 1), ("b", 4), ("c", 5)]
    assert Recorder.dead == []
    stored = list(SqliteStore(store_url).receipts())
    assert [r["idempotent_key"] for r in stored] == ["a", "x1", "x2", "b", "c"]
    assert all(result.ok for result in verify_chain(stored, jwks))


def test_no_receipt_is_signed_by_a_key_its_body_does_not_name(signer) -> None:
    chained = ChainState("cust_1").append(make_event(), None, "an-old-kid", PROCESSED_AT)
    with pytest.raises(KeyMismatch, match="name another key"):
        sign_named(signer, [chained])
    [ok] = sign_named(signer, [ChainState("cust_1").append(make_event(), None, signer.kid, PROCESSED_AT)])
    assert ok.signature.count(".") == 2


def test_an_event_refused_every_time_is_a_replayable_dead_letter() -> None:
    message, event = events("cust_1", ["k0"])[0]
    letter = refused_for_good(message, event, 5)
    assert letter.reason == RECEIPT_CONFLICT and (letter.customer_id, letter.idempotent_key) == ("cust_1", "k0")
    assert "refused its receipt 5 times" in letter.detail
