"""The report the reconciliation writes, its alert message, where it gets public keys, and
the store reads it relies on (SQLite here; Spanner and Firestore in tests/gcp/)."""

import http.server
import json
import threading
from pathlib import Path

import pytest

from receipts.ledger import Entitlement
from receipts.reconciliation import CustomerResult, Discrepancy, Tally
from receipts.reconciliation.report import Summary, alert_message, freeze_reason, summary_line
from receipts.rows import AmountRow
from receipts.stores.keyring import KeyRing
from receipts.stores.public_keys import JwksUnavailable, load_jwks
from receipts.stores.sqlite import SqliteStore
from tests.reconcile_helpers import signed_chain


def result(customer: str, count: int, receipts: int = 10) -> CustomerResult:
    found = tuple(
        Discrepancy("stores", customer, f"r_{customer}_{n}", n, "archive", "missing", "missing", "archive")
        for n in range(count)
    )
    tally = Tally(customers=1, receipts=receipts)
    tally.examined("stores", receipts)
    tally.found(found)
    return CustomerResult(customer, found, tally)


def test_the_summary_counts_everything_and_lists_a_bounded_sorted_few() -> None:
    left, right = Summary(max_listed=3), Summary(max_listed=3)
    for customer, count in (("c", 4), ("a", 0), ("b", 2)):
        left.add(result(customer, count))
    right.add(result("d", 5))
    report = left.merge(right).report({"store": "sqlite:///x", "as_of": "2026-01-25T13:00:00Z"})
    assert report["ok"] is False and report["customers"] == 4 and report["receipts"] == 40
    assert report["discrepancies_found"] == 11 and report["checks"]["stores"]["discrepancies"] == 11
    assert report["checks"]["stores"]["customers"] == 4 and report["checks"]["chain"]["customers"] == 0
    assert [(d["customer_id"], d["sequence"]) for d in report["discrepancies"]] == [("b", 0), ("b", 1), ("c", 0)]
    assert report["truncated"] is True and report["store"] == "sqlite:///x"
    assert "11 discrepancies" in summary_line(report)
    json.dumps(report)  # plain JSON

    clean = Summary().add(result("a", 0)).report({})
    assert clean["ok"] is True and clean["discrepancies"] == [] and clean["truncated"] is False


def test_the_alert_message_summarizes_and_can_be_filtered_on() -> None:
    report = Summary(max_listed=50).add(result("c", 12)).report({"as_of": "T", "store": "s", "archive": "a"})
    data, attributes = alert_message(report, "gs://b/report.json")
    message = json.loads(data)
    assert attributes == {
        "kind": "receipts.reconciliation",
        "discrepancies": "12",
        "as_of": "T",
        "intake_frozen": "false",
    }
    assert message["discrepancies_found"] == 12 and message["checks"]["stores"] == 12
    assert len(message["first_discrepancies"]) == 10 and message["report"] == "gs://b/report.json"
    assert message["intake_frozen"] is False and "intake" not in message


def test_the_alert_says_when_intake_was_frozen_and_the_reason_names_count_and_report() -> None:
    report = Summary(max_listed=50).add(result("c", 12)).report({"as_of": "T", "store": "s", "archive": "a"})
    assert freeze_reason(report, "gs://b/report.json") == (
        "reconciliation found 12 discrepancies as of T; report gs://b/report.json"
    )
    data, attributes = alert_message({**report, "intake_frozen": True}, "gs://b/report.json")
    message = json.loads(data)
    assert attributes["intake_frozen"] == "true" and message["intake_frozen"] is True
    assert message["intake"].startswith("intake was frozen") and "receipts intake resume" in message["intake"]


@pytest.fixture
def served(tmp_path: Path):
    """A local HTTP server for files in tmp_path (the site's /.well-known/jwks.json stands in)."""
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def test_public_keys_from_a_file_a_url_or_a_key_ring(keyring: KeyRing, tmp_path: Path, served: str) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(keyring.jwks()))
    for location in (str(tmp_path / "jwks.json"), f"{served}/jwks.json"):
        jwks, described = load_jwks(location)
        assert set(jwks.keys) == {keyring.current_kid} and described == location
    jwks, described = load_jwks(None, str(keyring.folder))
    assert set(jwks.keys) == {keyring.current_kid} and described.startswith("key ring")

    with pytest.raises(JwksUnavailable, match="cannot read"):
        load_jwks(f"{served}/missing.json")
    (tmp_path / "not.json").write_text('{"no": "keys"}')
    with pytest.raises(JwksUnavailable, match="not a JWKS"):
        load_jwks(str(tmp_path / "not.json"))
    with pytest.raises(JwksUnavailable, match="no key ring"):
        load_jwks(None, str(tmp_path / "empty-home" / "keys"))
    assert not (tmp_path / "empty-home").exists()  # reading never creates a key


def test_sqlite_reads_rows_as_stored_for_the_reconciliation(tmp_path: Path, signer) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    cap = Entitlement("cust_b", "ent", 100000, "USD")
    store.set_entitlement(cap)
    for customer in ("cust_b", "A-1", "zed"):
        store.write_receipts(
            signed_chain(signer, 3, customer=customer, entitlement=cap if customer == "cust_b" else None)
        )
    store._db.execute("INSERT INTO chain_heads VALUES ('only_state', 1, ?)", ("0" * 64,))
    assert list(store.customers()) == ["A-1", "cust_b", "only_state", "zed"]
    assert list(store.customers("b", "only_state")) == ["cust_b"]
    assert list(store.customers("o")) == ["only_state", "zed"]

    entries = list(store.ledger_entries("cust_b"))
    assert [e.stored for e in entries] == [
        {"receipt_id": e.receipt["receipt_id"], "customer_id": "cust_b", "sequence": n}
        for n, e in enumerate(entries, 1)
    ]
    assert [e.receipt for e in entries] == list(store.receipts("cust_b"))

    state = store.customer_state("cust_b", "2026-01-25T13:00:00Z")
    assert (state.head_sequence, state.head_hash) == (3, entries[-1].receipt["receipt_hash"])
    assert state.balances == {"USD": AmountRow("13.75", 3)} and state.usage == {"ent": AmountRow("1375", 3)}
    assert state.entitlements == {"ent": cap} and state.idempotency_ttl_seconds is None
    assert sorted(row.receipt_id for row in state.idempotency) == sorted(e.receipt["receipt_id"] for e in entries)
    nobody = store.customer_state("nobody")
    assert nobody.head_sequence is None and nobody.balances == {} and nobody.idempotency == ()

    # The index on a credit's `corrects` reads every body written through SQL; the damage this
    # stands for (a bad disk, an edit of the file) bypasses it.
    store._db.execute("DROP INDEX receipts_by_corrects")
    store._db.execute("UPDATE receipts SET body = '{not json' WHERE sequence = 2 AND customer_id = 'zed'")
    edited = list(store.ledger_entries("zed"))[1]
    assert edited.stored["sequence"] == 2 and "receipt_id" not in edited.receipt  # the check names it
