"""The batch job's dedup reads the store once per customer batch of keys, not once per key
(issue 19): a counting wrapper around the store's idempotency read counts the SQL queries it
runs, and the job decides exactly what it decided key by key."""

from collections import Counter
from pathlib import Path

import pytest

from receipts.events import IDEMPOTENCY_CONFLICT
from receipts.stores.sqlite import SqliteStore
from tests.conftest import event_bytes

pytestmark = pytest.mark.beam


def events_file(tmp_path: Path, customers: dict[str, int], name: str = "events.jsonl") -> Path:
    """`count` keys per customer, each key's event sent twice (a duplicate), and one
    conflict per customer (its first key again with another amount)."""
    lines = []
    for customer_id, count in customers.items():
        for n in range(count):
            line = event_bytes(customer_id=customer_id, idempotent_key=f"{customer_id}-{n}", amount="1.00")
            lines += [line, line]
        lines.append(event_bytes(customer_id=customer_id, idempotent_key=f"{customer_id}-0", amount="2.00"))
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture
def sql_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Each idempotency read the store serves: (customer, keys asked, SQL queries run)."""
    calls: list[tuple[str, int, int]] = []
    original = SqliteStore.lookup_idempotency_many

    def counting(self, customer_id, keys):
        keys = list(keys)
        statements: list[str] = []
        self._db.set_trace_callback(statements.append)
        try:
            return original(self, customer_id, keys)
        finally:
            self._db.set_trace_callback(None)
            calls.append((customer_id, len(keys), sum("idempotency_keys" in sql for sql in statements)))

    monkeypatch.setattr(SqliteStore, "lookup_idempotency_many", counting)
    return calls


def run_batch(events: Path, home: Path, keyring):
    from pipelines.batch import Settings, run
    from receipts_cli.console import pipeline_counts

    store_url = f"sqlite:///{home / 'receipts.db'}"
    settings = Settings(str(events), store_url, str(keyring.folder), keyring.current_kid, str(home / "archive"))
    return pipeline_counts(run(settings)), SqliteStore(store_url)


def test_the_batch_job_reads_each_customers_keys_in_one_query_per_batch(
    tmp_path: Path, home: Path, keyring, sql_reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("transforms.dedup.LOOKUP_BATCH", 4)  # cust_1's 10 keys: 3 batches
    events = events_file(tmp_path, {"cust_1": 10, "cust_2": 3, "cust_3": 1})
    counts, store = run_batch(events, home, keyring)
    assert sorted(sql_reads) == [
        ("cust_1", 2, 1),
        ("cust_1", 4, 1),
        ("cust_1", 4, 1),
        ("cust_2", 3, 1),
        ("cust_3", 1, 1),
    ]
    assert counts["store_idempotency_reads"] == 5
    assert counts["receipts_written"] == 14 and counts["duplicates"] == 14 and counts["idempotency_conflicts"] == 3
    letters = list(store.dead_letters())
    assert Counter(letter["reason"] for letter in letters) == {IDEMPOTENCY_CONFLICT: 3}
    assert {letter["customer_id"] for letter in letters} == {"cust_1", "cust_2", "cust_3"}

    sql_reads.clear()  # the same file again: every key is the store's, still one query per batch
    again, _ = run_batch(events, home, keyring)
    assert len(sql_reads) == 5 and all(queries == 1 for _, _, queries in sql_reads)
    assert again["receipts_written"] == 0 and again["duplicates"] == 28 and again["idempotency_conflicts"] == 3
    assert len(list(store.receipts())) == 14


def test_one_query_holds_more_keys_than_sqlite_allows_variables_in_chunks(tmp_path: Path, sql_reads) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    held = {f"k{n}": f"{n:064x}" for n in range(0, 2500, 7)}
    for key, sha in held.items():
        store._db.execute("INSERT INTO idempotency_keys VALUES (?, ?, ?, ?)", ("cust_1", key, f"r_{key}", sha))
    store._db.execute("INSERT INTO idempotency_keys VALUES ('cust_2', 'k1', 'r_other', ?)", ("e" * 64,))
    keys = [f"k{n}" for n in range(2500)] + ["k0"]  # a key twice is asked once
    found = store.lookup_idempotency_many("cust_1", keys)
    assert {key: record.event_sha256 for key, record in found.items()} == held
    assert {(record.customer_id, record.receipt_id) for record in found.values()} == {
        ("cust_1", f"r_{key}") for key in held
    }
    [(_, asked, queries)] = sql_reads
    assert asked == 2501 and queries == 3  # IN_CHUNK 900 keys per statement
    assert store.lookup_idempotency("cust_2", "k1").receipt_id == "r_other"
    assert store.lookup_idempotency("cust_2", "k2") is None
