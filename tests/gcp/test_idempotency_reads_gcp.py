"""On the emulators, the batch job's dedup reads each customer batch of keys in one Spanner
read and, for keys past the Spanner TTL, one Firestore get_all (issue 19): a counting
wrapper around the store's reads counts them."""

from collections import Counter
from pathlib import Path

import pytest
from google.cloud import spanner

from pipelines.batch import Settings, run
from receipts.events import IDEMPOTENCY_CONFLICT
from receipts.stores.gcp.store import SpannerFirestoreStore
from receipts_cli.console import pipeline_counts
from tests.test_idempotency_reads import events_file


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """The store's idempotency reads: Spanner reads of IdempotencyKeys with the keys each
    asked for, and Firestore get_alls of ledger documents with their sizes."""
    seen: Counter = Counter()
    spanner_read, get_ledgers = SpannerFirestoreStore._read, SpannerFirestoreStore._get_ledgers

    def counting_read(self, table, columns, keys):
        if table == "IdempotencyKeys":
            seen["spanner_reads"] += 1
            seen["spanner_keys"] += len(keys.keys)
        return spanner_read(self, table, columns, keys)

    def counting_get_all(self, receipt_ids):
        if receipt_ids:
            seen["firestore_get_alls"] += 1
            seen["firestore_documents"] += len(receipt_ids)
        return get_ledgers(self, receipt_ids)

    monkeypatch.setattr(SpannerFirestoreStore, "_read", counting_read)
    monkeypatch.setattr(SpannerFirestoreStore, "_get_ledgers", counting_get_all)
    return seen


def test_the_batch_job_reads_each_customer_batch_once_from_spanner_then_firestore(
    cloud, tmp_path: Path, reads: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("transforms.dedup.LOOKUP_BATCH", 4)
    events = events_file(tmp_path, {"cust_1": 6, "cust_2": 2})  # batches: cust_1 4 + 2, cust_2 2
    settings = Settings(
        str(events), cloud.url, str(cloud.keys.folder), cloud.keys.current_kid, cloud.location.archive_url
    )
    counts = pipeline_counts(run(settings))
    assert counts["receipts_written"] == 8 and counts["duplicates"] == 8 and counts["idempotency_conflicts"] == 2
    assert counts["store_idempotency_reads"] == 3
    # New keys: one Spanner read per batch finds none, so one get_all of those keys' ledger ids each.
    assert reads == {"spanner_reads": 3, "spanner_keys": 8, "firestore_get_alls": 3, "firestore_documents": 8}

    store = cloud.store()
    expired = [["cust_1", f"cust_1-{n}"] for n in range(3)]  # as the TTL policy would delete them
    store._database.run_in_transaction(lambda t: t.delete("IdempotencyKeys", spanner.KeySet(keys=expired)))
    reads.clear()
    again = pipeline_counts(run(settings))
    assert again["receipts_written"] == 0 and again["duplicates"] == 16 and again["idempotency_conflicts"] == 2
    # Spanner holds all but 3 keys; only those are asked of Firestore, in the batch that holds them.
    assert reads == {"spanner_reads": 3, "spanner_keys": 8, "firestore_get_alls": 1, "firestore_documents": 3}
    letters = list(store.dead_letters())
    assert Counter(letter["reason"] for letter in letters) == {IDEMPOTENCY_CONFLICT: 2}  # the same two, kept once
    assert len(list(store.receipts())) == 8


def test_lookup_many_answers_as_one_lookup_per_key_does(cloud, keyring) -> None:
    from tests.gcp.test_gcp_store import chain

    store = cloud.store()
    receipts = chain(keyring, "cust_1", 3)
    store.write_receipts(receipts)
    store._database.run_in_transaction(
        lambda t: t.delete("IdempotencyKeys", spanner.KeySet(keys=[["cust_1", "cust_1-1"]]))
    )
    keys = ["cust_1-0", "cust_1-1", "cust_1-2", "never-seen", "cust_1-0"]
    many = store.lookup_idempotency_many("cust_1", keys)
    assert set(many) == {"cust_1-0", "cust_1-1", "cust_1-2"}
    assert many == {key: store.lookup_idempotency("cust_1", key) for key in many}
    assert [many[f"cust_1-{n}"].receipt_id for n in range(3)] == [r.receipt_id for r in receipts]
    assert store.lookup_idempotency_many("cust_2", keys) == {}
    assert store.lookup_idempotency_many("cust_1", []) == {}
