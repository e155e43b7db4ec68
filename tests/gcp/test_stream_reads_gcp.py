"""On the emulators, the streaming job's dedup reads Spanner once per customer micro-batch
(and, for its new keys, one Firestore get_all), not once per event (issue 19 §2): the same
events charged in micro-batches and one event per batch, counted by a wrapper around the
store's reads."""

from collections import Counter

from apache_beam.testing.test_stream import TestStream

from receipts.verify import verify_chain
from tests.gcp.test_idempotency_reads_gcp import reads  # noqa: F401  (the counting fixture)
from tests.test_micro_batches import run_stream
from tests.test_stream_dedup import item


def two_batches(customer: str, other: str) -> TestStream:
    """`customer`: six keys, each twice, then two of them again with one new key; `other`:
    two keys. With a buffer of 1 s: three micro-batches (two for `customer`)."""
    first = [item(customer, f"k{n}", n) for n in range(6)] + [item(other, f"k{n}", n) for n in range(2)]
    second = [item(customer, f"k{n}", 10 + n) for n in range(2)] + [item(customer, "k6", 20)]
    return (
        TestStream()
        .advance_watermark_to(0)
        .add_elements(first + first)
        .advance_processing_time(5)
        .add_elements(second)
        .advance_processing_time(5)
        .advance_watermark_to_infinity()
    )


def test_the_streaming_job_reads_spanner_once_per_micro_batch_not_per_event(
    cloud,
    signer_url,
    keyring,
    jwks,
    reads: Counter,  # noqa: F811  (the imported fixture)
) -> None:
    kid = keyring.current_kid
    batched = run_stream(cloud.url, signer_url, kid, two_batches("cust_1", "cust_2"), size=8, buffer=1)
    assert batched["receipts_written"] == 9 and batched["duplicates"] == 10
    assert batched["store_idempotency_reads"] == 3
    # Every key is new: one Spanner read per batch finds none, so one get_all of those keys' ledger ids.
    assert reads == {"spanner_reads": 3, "spanner_keys": 9, "firestore_get_alls": 3, "firestore_documents": 9}

    reads.clear()
    single = run_stream(cloud.url, signer_url, kid, two_batches("cust_3", "cust_4"), size=1, buffer=1)
    assert single["receipts_written"] == 9 and single["duplicates"] == 10
    assert single["store_idempotency_reads"] == 9  # one event per batch: one read per receipt
    assert reads == {"spanner_reads": 9, "spanner_keys": 9, "firestore_get_alls": 9, "firestore_documents": 9}

    store = cloud.store()
    for customer, count in (("cust_1", 7), ("cust_2", 2), ("cust_3", 7), ("cust_4", 2)):
        receipts = list(store.receipts(customer))
        assert sorted(r["idempotent_key"] for r in receipts) == [f"k{n}" for n in range(count)]
        assert all(result.ok for result in verify_chain(receipts, jwks))
