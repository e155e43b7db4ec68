"""The streaming job's dedup asks the store once per customer micro-batch, not once per event
(issue 19 §2): DeduplicateEvents' state decides repeats within the in-flight window, and the
charge step reads the batch's other keys at once (transforms.dedup.against_store). Duplicates
within a batch, across batches and after the state is gone still give one receipt per key;
the idempotency reads are counted by the job's metric and by a wrapper around the store."""

from collections import Counter
from pathlib import Path
from typing import ClassVar

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream

from receipts.events import IDEMPOTENCY_CONFLICT
from receipts.records import Message
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.conftest import make_event
from tests.test_micro_batches import run_stream, stored
from transforms.chain import ChargeCustomer
from transforms.dedup import DUPLICATE
from transforms.sinks import DEAD

pytestmark = pytest.mark.beam


def item(customer: str, key: str, position: int, amount: str = "1.00"):
    return Message(f"{customer}-{key}-{position}", b"", position), make_event(
        customer_id=customer, idempotent_key=key, amount=amount
    )


@pytest.fixture
def store_reads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """What the charging steps ask the store (the runner is in-process): idempotency reads
    with the keys they carry, and single receipt reads."""
    seen: Counter = Counter()
    lookup, receipt = SqliteStore.lookup_idempotency_many, SqliteStore.receipt

    def counting_lookup(self, customer_id, keys):
        keys = list(keys)
        seen["idempotency_reads"] += 1
        seen["keys"] += len(keys)
        return lookup(self, customer_id, keys)

    def counting_receipt(self, receipt_id):
        seen["receipt_reads"] += 1
        return receipt(self, receipt_id)

    monkeypatch.setattr(SqliteStore, "lookup_idempotency_many", counting_lookup)
    monkeypatch.setattr(SqliteStore, "receipt", counting_receipt)
    return seen


def one_receipt_per_key(store_url: str, customer: str, keys: list[str], jwks) -> None:
    receipts = stored(store_url, customer)
    assert sorted(r["idempotent_key"] for r in receipts) == sorted(keys)
    assert [r["sequence"] for r in receipts] == list(range(1, len(keys) + 1))
    assert all(result.ok for result in verify_chain(receipts, jwks))


def test_duplicates_within_and_across_micro_batches_give_one_receipt_and_one_read_per_batch(
    tmp_path: Path, signer_url, keyring, jwks, store_reads: Counter
) -> None:
    """Two micro-batches for cust_1 (one for cust_2): every event twice in the first, three of
    them again in the second with two new keys and a conflict. Three batches, three reads."""
    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    first = [item("cust_1", f"k{n}", n) for n in range(4)] + [item("cust_2", f"k{n}", n) for n in range(2)]
    second = [item("cust_1", f"k{n}", 10 + n) for n in (0, 1, 4, 5)] + [item("cust_1", "k2", 20, amount="9.00")]
    stream = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements(first + first)
        .advance_processing_time(5)
        .add_elements(second)
        .advance_processing_time(5)
        .advance_watermark_to_infinity()
    )
    counts = run_stream(store_url, signer_url, keyring.current_kid, stream, size=8, buffer=1)
    assert counts["receipts_written"] == 8
    assert counts["duplicates"] == 6 + 2 and counts["idempotency_conflicts"] == 1
    assert counts["store_write_transactions"] == 3
    assert counts["store_idempotency_reads"] == 3  # one per micro-batch, not one per event (8)
    assert store_reads == {"idempotency_reads": 3, "keys": 8}
    one_receipt_per_key(store_url, "cust_1", [f"k{n}" for n in range(6)], jwks)
    one_receipt_per_key(store_url, "cust_2", ["k0", "k1"], jwks)


def test_after_dedup_state_is_gone_one_store_read_per_batch_decides(
    tmp_path: Path, signer_url, keyring, jwks, store_reads: Counter
) -> None:
    """A second job (no state: as after the TTL, a restart or a seek) gets everything again,
    in two batches: the first with a conflict, the second with a new key. The store decides,
    one read per batch; the first batch's duplicates re-emit their receipts (the job cannot
    tell them from its own retried writes), the second's do not (its head is the store's)."""
    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    events = [item("cust_1", f"k{n}", n) for n in range(4)]
    once = TestStream().advance_watermark_to(0).add_elements(events).advance_watermark_to_infinity()
    assert run_stream(store_url, signer_url, keyring.current_kid, once, size=8, buffer=1)["receipts_written"] == 4
    store_reads.clear()

    again = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements([*events[:2], item("cust_1", "k3", 9, amount="7.00")])
        .advance_processing_time(5)
        .add_elements([events[2], item("cust_1", "k4", 10)])
        .advance_processing_time(5)
        .advance_watermark_to_infinity()
    )
    counts = run_stream(store_url, signer_url, keyring.current_kid, again, size=8, buffer=1)
    assert counts["receipts_written"] == 1 and counts["duplicates"] == 3 and counts["idempotency_conflicts"] == 1
    assert counts["store_idempotency_reads"] == 2
    assert store_reads == {"idempotency_reads": 2, "keys": 5, "receipt_reads": 2}  # k0, k1 re-emitted, not k2
    one_receipt_per_key(store_url, "cust_1", [f"k{n}" for n in range(5)], jwks)


class Outputs(beam.DoFn):
    """Collects (tag, idempotent_key) in a class list: assert_that is unreliable with state."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def process(self, element):
        if self.tag == "stored":
            Outputs.seen.append((self.tag, element.chained.body["idempotent_key"]))
        elif self.tag == DEAD:
            Outputs.seen.append((self.tag, f"{element.idempotent_key} {element.reason}"))
        else:
            Outputs.seen.append((self.tag, element[1].idempotent_key))


def test_the_charge_step_decides_a_batch_against_one_store_read(
    tmp_path: Path, signer_url, keyring, jwks, store_reads: Counter
) -> None:
    """Repeats that reach the charge step in one batch (dedup state can let them through when
    their copies are far apart): the first copy in the batch stands, a stored key's same event
    is a duplicate and another payload under it a conflict; one idempotency read in all."""
    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    SqliteStore(store_url).close()
    first = [item("cust_1", "k0", 0)]
    batch = [
        item("cust_1", "k0", 1),  # stored before: a duplicate
        item("cust_1", "k0", 2, amount="5.00"),  # another payload under a stored key
        item("cust_1", "k1", 3),
        item("cust_1", "k1", 4),  # a repeat within the batch
        item("cust_1", "k1", 5, amount="6.00"),  # another payload, first copy in the batch stands
        item("cust_1", "k2", 6),
    ]
    Outputs.seen = []
    for elements in ([("cust_1", first)], [("cust_1", batch)]):
        with TestPipeline(runner="BundleBasedDirectRunner") as pipeline:
            out = (
                pipeline
                | beam.Create(elements)
                | beam.ParDo(ChargeCustomer(store_url, signer_url, keyring.current_kid, check_store=True)).with_outputs(
                    DEAD, DUPLICATE, main="stored"
                )
            )
            for tag in ("stored", DEAD, DUPLICATE):
                _ = out[tag] | f"Record{tag}" >> beam.ParDo(Outputs(tag))
    assert sorted(Outputs.seen) == sorted(
        [
            ("stored", "k0"),  # the first pipeline's receipt
            ("stored", "k0"),  # re-emitted: a fresh step cannot tell a duplicate from its own retry
            (DUPLICATE, "k0"),
            (DEAD, f"k0 {IDEMPOTENCY_CONFLICT}"),
            ("stored", "k1"),
            (DUPLICATE, "k1"),
            (DEAD, f"k1 {IDEMPOTENCY_CONFLICT}"),
            ("stored", "k2"),
        ]
    )
    assert store_reads["idempotency_reads"] == 2  # one per batch
    one_receipt_per_key(store_url, "cust_1", ["k0", "k1", "k2"], jwks)
