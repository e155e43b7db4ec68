"""SqliteStore: one commit per receipt with its state rows; idempotent, append-only writes."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receipts.events import parse_event
from receipts.jws import sign_payloads
from receipts.ledger import ChainState, Entitlement
from receipts.records import DeadLetter, Message, SignedReceipt
from receipts.rows import WriteOutcome
from receipts.sessions import new_session, session_hash
from receipts.stores import open_store
from receipts.stores.folder_archive import merge_into, read_archive, window_name
from receipts.stores.sqlite import SqliteStore
from tests.conftest import PROCESSED_AT, make_event


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")


def signed_chain(signer, count: int, entitlement: Entitlement | None = None) -> list[SignedReceipt]:
    state = ChainState("cust_1")
    out = []
    for index in range(count):
        event = make_event(idempotent_key=f"k{index}", amount="2.50", entitlement_id="ent" if entitlement else None)
        chained = state.append(event, entitlement, signer.kid, PROCESSED_AT)
        out.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return out


def test_open_store_rejects_unknown_urls() -> None:
    with pytest.raises(ValueError, match="unsupported store URL"):
        open_store("postgres://nope")


def test_write_commits_receipt_idempotency_head_balance_and_usage(store, signer) -> None:
    cap = Entitlement("cust_1", "ent", 1000, "USD")
    store.set_entitlement(cap)
    receipts = signed_chain(signer, 3, cap)
    assert store.write_receipts(receipts) == [WriteOutcome.WRITTEN] * 3
    chain = store.load_chain("cust_1")
    assert (chain.sequence, chain.head_hash) == (3, receipts[-1].chained.receipt_hash)
    assert chain.balances == {"USD": 750}
    assert chain.usage == {"ent": 750}
    record = store.lookup_idempotency("cust_1", "k1")
    assert record is not None and record.receipt_id == receipts[1].receipt_id
    assert record.event_sha256 == receipts[1].chained.body["event_sha256"]
    assert [r["sequence"] for r in store.receipts()] == [1, 2, 3]
    assert store.receipt(receipts[0].receipt_id) == receipts[0].export()


def test_replayed_writes_change_nothing(store, signer) -> None:
    receipts = signed_chain(signer, 3)
    store.write_receipts(receipts)
    before = list(store.receipts())
    assert store.write_receipts(receipts) == [WriteOutcome.ALREADY_PRESENT] * 3
    assert list(store.receipts()) == before


def test_a_receipt_that_does_not_extend_the_stored_head_is_refused(store, signer) -> None:
    receipts = signed_chain(signer, 4)
    # 3 before 2: refused, so a crash can never leave 1, 3 stored with 2 missing.
    assert store.write_receipts([receipts[0], receipts[2]]) == [WriteOutcome.WRITTEN, WriteOutcome.NOT_NEXT]
    assert store.load_chain("cust_1").sequence == 1
    assert store.lookup_idempotency("cust_1", "k2") is None
    assert store.write_receipts(receipts[1:]) == [WriteOutcome.WRITTEN] * 3
    assert [r["sequence"] for r in store.receipts()] == [1, 2, 3, 4]
    assert store.load_chain("cust_1").balances == {"USD": 1000}


def test_a_fork_of_the_chain_is_refused(store, signer) -> None:
    receipts = signed_chain(signer, 2)
    store.write_receipts(receipts[:1])
    forked = ChainState("cust_1").append(make_event(idempotent_key="k1", amount="2.50"), None, signer.kid, "x")
    # Sequence 1 again, with 64 zeros as its previous hash: not the successor of the head.
    assert store.write_receipts([SignedReceipt(forked, "sig")]) == [WriteOutcome.NOT_NEXT]
    assert store.write_receipts(receipts[1:]) == [WriteOutcome.WRITTEN]


def test_a_different_receipt_under_a_stored_id_is_a_conflict(store, signer) -> None:
    [original] = signed_chain(signer, 1)
    store.write_receipts([original])
    same_id = ChainState("cust_1", sequence=1, head_hash=original.chained.receipt_hash).append(
        make_event(idempotent_key="k0", amount="1.00"), None, signer.kid, PROCESSED_AT
    )
    assert store.write_receipts([SignedReceipt(same_id, "x")]) == [WriteOutcome.CONFLICT]
    assert [r["receipt_id"] for r in store.receipts()] == [original.receipt_id]
    assert store.load_chain("cust_1").balances == {"USD": 250}


def test_a_failed_transaction_writes_nothing(store, signer) -> None:
    receipts = signed_chain(signer, 2)
    broken = SignedReceipt(receipts[1].chained, None)  # NOT NULL signature violates the schema
    with pytest.raises(Exception):  # noqa: B017 - any database error
        store.write_receipts([receipts[0], broken])
    assert list(store.receipts()) == []
    assert store.lookup_idempotency("cust_1", "k0") is None
    assert store.load_chain("cust_1").sequence == 0


def test_dead_letters_are_kept_once_per_message_and_reason(store) -> None:
    letter = DeadLetter("malformed_json", "bad", b"\xff{", "input.jsonl:3")
    assert store.add_dead_letters([letter, letter]) == 1
    assert store.add_dead_letters([letter]) == 0
    [record] = list(store.dead_letters())
    assert record["reason"] == "malformed_json" and record["raw"] is None
    assert DeadLetter.from_export(record) == letter


def test_a_dead_letter_is_kept_once_per_raw_message_whatever_its_id(store) -> None:
    first = DeadLetter("malformed_json", "bad", b"{broken", "input.jsonl:3")
    moved = DeadLetter("malformed_json", "bad", b"{broken", "input.jsonl:9")  # the same line, shuffled
    assert first.dead_letter_id == moved.dead_letter_id
    assert DeadLetter("invalid_amount", "bad", b"{broken", "input.jsonl:3").dead_letter_id != first.dead_letter_id
    assert store.add_dead_letters([first]) == 1
    assert store.add_dead_letters([moved]) == 0
    [record] = list(store.dead_letters())
    assert record["message_id"] == "input.jsonl:3"  # the first one recorded stays


def test_sessions_are_stored_hashed_and_expired_ones_go(store) -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    token, record = new_session("k1", start, timedelta(hours=12))
    store.add_session(record)
    assert store.session(session_hash(token)) == record
    assert record.live(start) and record.live(start + timedelta(hours=11, minutes=59))
    assert not record.live(start + timedelta(hours=12))
    later_token, later = new_session("k2", start + timedelta(hours=13), timedelta(hours=12))
    store.add_session(later)  # the first one expired meanwhile: it goes
    assert store.session(session_hash(token)) is None
    store.end_session(session_hash(later_token))
    store.end_session(session_hash(later_token))
    assert store.session(session_hash(later_token)) is None


def test_entitlements_are_upserted(store) -> None:
    store.set_entitlement(Entitlement("c", "e", 100, "USD"))
    store.set_entitlement(Entitlement("c", "e", 500, "USD"))
    assert store.entitlements() == [Entitlement("c", "e", 500, "USD")]
    assert store.entitlement("c", "missing") is None


def test_archive_merge_is_idempotent_and_ordered(tmp_path: Path, signer) -> None:
    receipts = signed_chain(signer, 4)
    lines = [r.export_line() for r in receipts]
    name = window_name(receipts[0].chained.body["event_timestamp"])
    assert name == "receipts-2026-01-25T10.jsonl"
    assert merge_into(tmp_path, name, reversed(lines[:3])) == 3
    first = (tmp_path / name).read_bytes()
    written = (tmp_path / name).stat().st_ino
    assert merge_into(tmp_path, name, lines[:3]) == 0
    assert (tmp_path / name).read_bytes() == first == b"".join(lines[:3])
    assert (tmp_path / name).stat().st_ino == written  # a replay rewrites nothing
    assert merge_into(tmp_path, name, lines[2:]) == 1
    assert [r["sequence"] for r in read_archive(tmp_path)] == [1, 2, 3, 4]


def test_archive_lines_keep_u2028_inside_strings(tmp_path: Path, signer) -> None:
    state = ChainState("cust_1")
    event = make_event(usage_description="line\u2028separator\u2029and\x85next")
    chained = state.append(event, None, signer.kid, PROCESSED_AT)
    receipt = SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])
    merge_into(tmp_path, "receipts-x.jsonl", [receipt.export_line()])
    [record] = list(read_archive(tmp_path))
    assert record["usage_description"] == "line\u2028separator\u2029and\x85next"
    assert json.loads(receipt.export_line()) == record


def test_message_dead_letter_export_round_trips() -> None:
    letter = DeadLetter.from_invalid(Message("m", b"[1]"), parse_event(b"[1]"))
    assert letter.export()["raw"] == "[1]"
    assert DeadLetter.from_export(letter.export()) == letter


def test_a_gcp_store_url_may_name_the_spanner_database_role() -> None:
    from receipts.stores.gcp.location import GcpLocation

    assert GcpLocation.parse("gcp://p1").role is None
    assert GcpLocation.parse("gcp://p1?instance=i&role=verifier_site").role == "verifier_site"
    with pytest.raises(ValueError, match="use instance, database, bucket, role"):
        GcpLocation.parse("gcp://p1?rol=x")
