"""SpannerFirestoreStore on the real emulators: one commit per receipt with its state rows,
append-only chains, a create-only ledger, and repair of a ledger that fell behind."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

from google.cloud import spanner

from receipts.canonical import receipt_id
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.ledger import ChainState, Entitlement
from receipts.records import DeadLetter, SignedReceipt
from receipts.rows import ApiKeyRecord, WriteOutcome
from receipts.sessions import new_session, session_hash
from receipts.stores.gcp.bucket_archive import ArchiveOutcome, BucketArchive
from receipts.stores.gcp.ledger import RECEIPTS
from receipts.stores.gcp.schema import spanner_ddl
from receipts.stores.signers import LocalKeySigner
from receipts.verify import verify_chain
from tests.conftest import PROCESSED_AT, make_event


def chain(keyring, customer: str, count: int, amount: str = "2.50", currency: str = "USD", entitlement=None):
    signer = LocalKeySigner(keyring.private_pem(keyring.current_kid))
    state = ChainState(customer)
    out = []
    for index in range(count):
        event = make_event(
            idempotent_key=f"{customer}-{index}",
            customer_id=customer,
            amount=amount,
            currency=currency,
            entitlement_id=entitlement.entitlement_id if entitlement else None,
        )
        chained = state.append(event, entitlement, signer.kid, PROCESSED_AT)
        out.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return out


def test_the_ddl_file_is_what_init_applied(cloud) -> None:
    statements = spanner_ddl()
    assert any("ROW DELETION POLICY (OLDER_THAN(CreatedAt, INTERVAL 30 DAY))" in s for s in statements)
    database = cloud.store()._database
    database.reload()
    # Spanner folds an applied ALTER TABLE ... ADD COLUMN into its table's CREATE TABLE.
    added = [s for s in statements if s.startswith("ALTER TABLE") and " ADD COLUMN " in s]
    assert len(database.ddl_statements) == len(statements) - len(added)
    [api_keys] = [s for s in database.ddl_statements if s.startswith("CREATE TABLE ApiKeys")]
    assert "Role STRING(16) NOT NULL DEFAULT" in api_keys


def test_a_batch_commits_state_and_ledger_and_replays_change_nothing(cloud, keyring) -> None:
    store = cloud.store()
    cap = Entitlement("cust_1", "ent", 1000, "USD")
    store.set_entitlement(cap)
    receipts = chain(keyring, "cust_1", 3, entitlement=cap)
    assert store.write_receipts(receipts) == [WriteOutcome.WRITTEN] * 3
    state = store.load_chain("cust_1")
    assert (state.sequence, state.head_hash) == (3, receipts[-1].chained.receipt_hash)
    assert state.balances == {"USD": 750} and state.usage == {"ent": 750}
    exported = list(store.receipts("cust_1"))
    assert exported == [r.export() for r in receipts]
    assert all(result.ok for result in verify_chain(exported, Jwks(keyring.jwks())))
    assert store.write_receipts(receipts) == [WriteOutcome.ALREADY_PRESENT] * 3
    assert list(store.receipts("cust_1")) == exported
    record = store.lookup_idempotency("cust_1", "cust_1-1")
    assert record.receipt_id == receipts[1].receipt_id
    assert store.entitlements() == [cap]
    [balance] = store.balances()
    assert (balance.balance, balance.as_of_sequence) == ("7.50", 3)


def test_money_is_exact_in_spanner(cloud, keyring) -> None:
    store = cloud.store()
    receipts = chain(keyring, "cust_bh", 3, amount="0.125", currency="BHD")
    store.write_receipts(receipts)
    assert [(b.currency, b.balance) for b in store.balances()] == [("BHD", "0.375")]
    assert store.load_chain("cust_bh").balances == {"BHD": 375}


def test_out_of_order_and_forked_receipts_are_refused(cloud, keyring) -> None:
    store = cloud.store()
    receipts = chain(keyring, "cust_1", 3)
    assert store.write_receipts([receipts[0], receipts[2]]) == [WriteOutcome.WRITTEN, WriteOutcome.NOT_NEXT]
    assert store.receipt(receipts[2].receipt_id) is None
    assert store.lookup_idempotency("cust_1", "cust_1-2") is None
    other = chain(keyring, "cust_1", 1, amount="9.99")[0]  # same key as receipts[0], another body
    assert store.write_receipts([other]) == [WriteOutcome.CONFLICT]
    assert store.write_receipts(receipts[1:]) == [WriteOutcome.WRITTEN] * 2
    assert [r["sequence"] for r in store.receipts("cust_1")] == [1, 2, 3]
    assert store.load_chain("cust_1").balances == {"USD": 750}


def test_a_different_ledger_document_is_never_overwritten(cloud, keyring) -> None:
    store = cloud.store()
    [receipt] = chain(keyring, "cust_1", 1)
    planted = {"body": "{}", "receipt_hash": "f" * 64, "signature": "x", "customer_id": "cust_1", "sequence": 1}
    store._firestore.collection(RECEIPTS).document(receipt.receipt_id).create(planted)
    assert store.write_receipts([receipt]) == [WriteOutcome.WRITTEN]  # Spanner state moved with its receipt
    assert store.ledger_conflicts == 1
    stored = store._firestore.collection(RECEIPTS).document(receipt.receipt_id).get().to_dict()
    assert stored["receipt_hash"] == "f" * 64


def test_load_chain_copies_receipts_the_ledger_missed_from_the_outbox(cloud, keyring) -> None:
    store = cloud.store()
    receipts = chain(keyring, "cust_1", 4)
    store.write_receipts(receipts)
    for lost in receipts[2:]:  # as if the process died between the Spanner commit and the ledger
        store._firestore.collection(RECEIPTS).document(lost.receipt_id).delete()
    assert len(list(store.receipts("cust_1"))) == 2
    assert store.load_chain("cust_1").sequence == 4
    assert list(store.receipts("cust_1")) == [r.export() for r in receipts]


def test_idempotency_falls_back_to_the_ledger_after_the_spanner_ttl(cloud, keyring) -> None:
    store = cloud.store()
    [receipt] = chain(keyring, "cust_1", 1)
    store.write_receipts([receipt])
    store._database.run_in_transaction(
        lambda t: t.delete("IdempotencyKeys", spanner.KeySet(keys=[["cust_1", "cust_1-0"]]))
    )
    record = store.lookup_idempotency("cust_1", "cust_1-0")
    assert record is not None
    assert (record.receipt_id, record.event_sha256) == (receipt.receipt_id, receipt.chained.body["event_sha256"])
    assert store.lookup_idempotency("cust_1", "never-seen") is None
    assert receipt_id("cust_1", "cust_1-0") == receipt.receipt_id


def test_dead_letters_are_kept_once(cloud) -> None:
    store = cloud.store()
    letter = DeadLetter("malformed_json", "bad", b"\xff{", "m-1")
    assert store.add_dead_letters([letter, letter]) == 1
    [record] = list(store.dead_letters())
    assert DeadLetter.from_export(record) == letter


def test_a_dead_letter_is_kept_once_per_raw_message_whatever_its_id(cloud) -> None:
    store = cloud.store()
    lines = [b"{broken", b'["not an object"]', b"\xff\xfe"]
    first = [DeadLetter("malformed_json", "bad", raw, f"events.jsonl:{n}") for n, raw in enumerate(lines, 1)]
    shuffled = [DeadLetter("malformed_json", "bad", raw, f"events.jsonl:{n}") for n, raw in enumerate(lines[::-1], 1)]
    assert store.add_dead_letters(first) == 3
    assert store.add_dead_letters(shuffled) == 0
    records = list(store.dead_letters())
    assert sorted(r["message_id"] for r in records) == ["events.jsonl:1", "events.jsonl:2", "events.jsonl:3"]
    assert {DeadLetter.from_export(r) for r in records} == set(first)  # the first message ids recorded


def test_api_keys_and_pages(cloud, keyring) -> None:
    store = cloud.store()
    record = ApiKeyRecord("k1", "cust_1", "a" * 64, "2026-01-25T10:00:00Z", None)
    store.add_api_key(record)
    assert store.api_key("k1") == record
    assert store.revoke_api_key("k1", "2026-01-26T10:00:00Z") is True
    assert store.revoke_api_key("k1", "2026-01-27T10:00:00Z") is False
    assert store.api_key("k1").revoked_at == "2026-01-26T10:00:00Z"
    assert [k.key_id for k in store.api_keys("cust_1")] == ["k1"]
    store.write_receipts(chain(keyring, "cust_1", 5))
    page = store.receipts_page("cust_1", 2, 2)
    assert [r["sequence"] for r in page] == [3, 4]


def test_sessions_are_stored_hashed_and_end_when_deleted(cloud) -> None:
    store = cloud.store()
    start = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    token, record = new_session("k1", start, timedelta(hours=12))
    store.add_session(record)
    assert store.session(session_hash(token)) == record
    assert store.session(session_hash("another token")) is None
    store.end_session(session_hash(token))
    store.end_session(session_hash(token))  # ending it again does nothing
    assert store.session(session_hash(token)) is None


def test_init_adds_the_tables_an_older_database_lacks(cloud) -> None:
    """A database made before Sessions existed gets it from `receipts init`, keeping its data."""
    from google.cloud import spanner

    from receipts.stores.gcp.location import client_options
    from receipts_cli.provision import init

    database = spanner.Client(project=cloud.project, **client_options()).instance("receipts").database("receipts")
    database.update_ddl(["DROP TABLE Sessions"]).result(120)
    assert "Sessions" not in {table.table_id for table in database.list_tables()}
    lines: list[str] = []
    init(cloud.location, report=lines.append)
    assert "Sessions" in {table.table_id for table in database.list_tables()}
    assert any("1 new table" in line for line in lines), lines
    init(cloud.location, report=lines.append)  # and again: nothing left to add
    assert sum("new table" in line for line in lines) == 1


def test_archive_writes_once_and_rides_out_a_restarted_emulator(cloud, emulators) -> None:
    archive = BucketArchive(cloud.location.archive_url)
    data = b'{"receipt_id":"r_1"}\n'
    assert archive.write_once("w/1.jsonl", data)[0] is ArchiveOutcome.WRITTEN
    assert archive.write_once("w/1.jsonl", data)[0] is ArchiveOutcome.ALREADY_ARCHIVED
    outcome, aside = archive.write_once("w/1.jsonl", b'{"receipt_id":"r_2"}\n')
    assert outcome is ArchiveOutcome.WRITTEN_ASIDE and aside != "w/1.jsonl"
    assert archive.read("w/1.jsonl") == data

    stopped = emulators.stop("storage")
    results: list = []
    writer = threading.Thread(target=lambda: results.append(archive.write_once("w/2.jsonl", data)))
    writer.start()
    time.sleep(3)  # the write is failing and backing off now
    assert writer.is_alive()
    emulators.start(stopped)
    writer.join(timeout=120)
    assert results and results[0][0] is ArchiveOutcome.WRITTEN
    assert archive.read("w/2.jsonl") == data
    assert archive.read("w/1.jsonl") == data  # kept on disk across the restart
    assert json.loads(archive.read("w/2.jsonl"))["receipt_id"] == "r_1"
