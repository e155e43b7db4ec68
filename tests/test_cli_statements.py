"""`receipts statements close|list|export` and `receipts verify` of statements, end to end
on the embedded store: the real charging job, then the real statements job."""

import json
from pathlib import Path

import pytest

from tests.conftest import event_bytes
from tests.test_cli import invoke, write_events

pytestmark = pytest.mark.beam


def lines_of(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout_bytes.split(b"\n") if line]


@pytest.fixture
def charged(home: Path, tmp_path: Path) -> Path:
    events = write_events(
        tmp_path / "events.jsonl",
        [
            event_bytes(idempotent_key="oct-1", amount="10.00", timestamp="2026-10-03T10:00:00Z"),
            event_bytes(idempotent_key="nov-1", amount="2.50", timestamp="2026-11-03T10:00:00Z"),
            event_bytes(idempotent_key="nov-2", amount="1.25", timestamp="2026-11-30T23:59:59.9Z"),
            event_bytes(
                idempotent_key="jp",
                customer_id="cust_jp",
                amount="500",
                currency="JPY",
                timestamp="2026-11-10T00:00:00+09:00",
            ),
        ],
    )
    result = invoke(home, "run", "--input", str(events))
    assert result.exit_code == 0, result.output
    return home


def test_close_periods_in_order_export_and_verify(charged: Path, tmp_path: Path) -> None:
    home = charged
    early = invoke(home, "statements", "close", "--period", "2026-12")
    assert early.exit_code == 1 and "can close from 2027-01-01T01:00:00Z" in early.output
    result = invoke(home, "statements", "close", "--period", "2026-10")
    assert result.exit_code == 0, result.output
    assert "2 statement(s) issued" in " ".join(result.output.split())
    refused = invoke(home, "statements", "close", "--period", "2026-09")
    assert refused.exit_code == 1 and "2026-10 is closed already" in refused.output
    skipped = invoke(home, "statements", "close", "--period", "2026-12", "--grace", "0s")
    assert skipped.exit_code == 1 and "close 2026-11 first" in skipped.output
    from receipts.canonical import receipt_id

    late = write_events(
        tmp_path / "late.jsonl",
        [
            event_bytes(idempotent_key="oct-late", amount="4.00", timestamp="2026-10-31T23:00:00Z"),
            # A November credit of October's charge: on November's statement, credited there.
            event_bytes(
                idempotent_key="refund",
                amount="1.50",
                timestamp="2026-11-20T00:00:00Z",
                type="credit",
                corrects=receipt_id("cust_1", "oct-1"),
            ),
        ],
    )
    assert invoke(home, "run", "--input", str(late)).exit_code == 0  # after October closed: late on November
    assert invoke(home, "statements", "close", "--period", "2026-11").exit_code == 0
    first = invoke(home, "statements", "export").stdout_bytes
    again = invoke(home, "statements", "close", "--period", "2026-11")
    assert again.exit_code == 0 and "2 issued before" in " ".join(again.output.split())
    assert invoke(home, "statements", "export").stdout_bytes == first  # byte for byte

    statements = lines_of(invoke(home, "statements", "export", "--customer", "cust_1"))
    october, november = statements
    assert (october["period"], october["line_count"], october["totals"]["USD"]["net"]) == ("2026-10", 1, "10.00")
    assert (november["line_count"], november["totals"]["USD"]["charged"]) == (4, "7.75")
    assert (november["totals"]["USD"]["credited"], november["totals"]["USD"]["net"]) == ("1.50", "6.25")
    assert (november["totals"]["USD"]["late_lines"], november["totals"]["USD"]["late_net"]) == (1, "4.00")
    assert november["previous_statement_hash"] == october["statement_hash"]
    japan = lines_of(invoke(home, "statements", "export", "--customer", "cust_jp", "--period", "2026-10"))
    assert japan[0]["line_count"] == 0 and japan[0]["totals"] == {}  # the JPY event is November's (UTC)

    # Every statement is a leaf of the log, after the receipts it closes over.
    from receipts.stores import open_store

    store = open_store(f"sqlite:///{home / 'receipts.db'}")
    indexes = [store.log_leaf_index(statement["statement_id"]) for statement in (october, november)]
    assert None not in indexes and indexes[0] < indexes[1]
    assert store.log_entries(indexes[1], indexes[1] + 1) == [bytes.fromhex(november["statement_hash"])]
    assert store.unlogged_count() == 0
    store.close()

    listed = invoke(home, "statements", "list", "--customer", "cust_1")
    assert listed.exit_code == 0 and "6.25 USD" in listed.output

    held = invoke(home, "statements", "export", "--with-receipts").stdout_bytes
    path = tmp_path / "held.jsonl"
    path.write_bytes(held)
    verified = invoke(home, "verify", str(path))
    assert verified.exit_code == 0, verified.output
    assert "4 statement(s) verified" in " ".join(verified.output.split())

    # A forged total, re-signed with the home's own key: only the recomputation catches it.
    from receipts.canonical import canonical_bytes, sha256_hex
    from receipts.jws import STATEMENT_TYP, sign_payloads
    from receipts.stores.keyring import KeyRing
    from receipts.stores.signers import LocalKeySigner

    ring = KeyRing(home / "keys")
    signer = LocalKeySigner(ring.private_pem(ring.current_kid))
    body = {k: v for k, v in november.items() if k not in ("statement_hash", "signature")}
    body["totals"] = {"USD": {**body["totals"]["USD"], "net": "0.75", "charged": "0.75"}}
    payload = canonical_bytes(body)
    [jws] = sign_payloads(signer, [payload], STATEMENT_TYP)
    forged = {**body, "statement_hash": sha256_hex(payload), "signature": jws}
    kept = [
        line for line in held.split(b"\n") if line and json.loads(line).get("statement_id") != november["statement_id"]
    ]
    path.write_bytes(b"\n".join([*kept, json.dumps(forged).encode()]) + b"\n")
    caught = invoke(home, "verify", str(path))
    assert caught.exit_code == 1
    assert "totals.USD.charged is '0.75'; the lines add up to '7.75'" in " ".join(caught.output.split())


def _resigned(home: Path, statement: dict, **changes) -> dict:
    from receipts.canonical import canonical_bytes, sha256_hex
    from receipts.jws import STATEMENT_TYP, sign_payloads
    from receipts.stores.keyring import KeyRing
    from receipts.stores.signers import LocalKeySigner

    ring = KeyRing(home / "keys")
    signer = LocalKeySigner(ring.private_pem(ring.current_kid))
    body = {k: v for k, v in statement.items() if k not in ("statement_hash", "signature")} | changes
    payload = canonical_bytes(body)
    [jws] = sign_payloads(signer, [payload], STATEMENT_TYP)
    return {**body, "statement_hash": sha256_hex(payload), "signature": jws}


def test_reconcile_checks_every_statement_and_that_each_receipt_is_on_one(charged: Path) -> None:
    import sqlite3

    from tests.test_cli_reconcile import reconcile

    home = charged
    assert invoke(home, "statements", "close", "--period", "2026-10").exit_code == 0
    assert invoke(home, "statements", "close", "--period", "2026-11").exit_code == 0
    status, report, output = reconcile(home)
    assert status == 0, output
    assert report["checks"]["statements"]["receipts"] == report["receipts"] == 4

    november = lines_of(invoke(home, "statements", "export", "--customer", "cust_1", "--period", "2026-11"))[0]
    # The stored statement replaced by one that leaves out a line (re-signed with our own key).
    forged = _resigned(home, november, line_count=1, totals={"USD": {**november["totals"]["USD"], "accepted": 1}})
    db = sqlite3.connect(home / "receipts.db")
    from receipts.canonical import canonical_bytes

    body = {k: v for k, v in forged.items() if k not in ("statement_hash", "signature")}
    db.execute(
        "UPDATE statements SET body = ?, statement_hash = ?, signature = ? WHERE statement_id = ?",
        (canonical_bytes(body).decode(), forged["statement_hash"], forged["signature"], november["statement_id"]),
    )
    db.commit()
    status, report, output = reconcile(home)
    assert status == 1
    rules = {(d["check"], d["rule"]) for d in report["discrepancies"]}
    assert {("statements", "lines"), ("statements", "one_statement"), ("log", "entry")} <= rules, rules

    # A statement gone: the period closed with the customer's chain begun, and no statement.
    db.execute("DELETE FROM statements WHERE statement_id = ?", (november["statement_id"],))
    db.commit()
    db.close()
    status, report, output = reconcile(home)
    assert status == 1
    assert ("statements", "missing_statement") in {(d["check"], d["rule"]) for d in report["discrepancies"]}


def test_period_previous_is_the_month_just_ended_less_the_grace() -> None:
    """The monthly schedule launches with --period previous: fixed at launch, never a month
    whose end plus the grace is still ahead (that one's close would be refused)."""
    from datetime import UTC, datetime

    from pipelines.statements import StatementSettings

    def at(text: str):
        return lambda: datetime.fromisoformat(text).replace(tzinfo=UTC)

    def period(when: str, grace: str = "1h") -> str:
        return StatementSettings.of("sqlite:///x.db", "previous", "file:///k.pem", grace, at(when)).period

    assert period("2026-12-01T02:00:00") == "2026-11"
    assert period("2026-12-01T00:30:00") == "2026-10"  # November's grace is not over: the month before
    assert period("2026-12-20T00:00:00") == period("2026-12-01T01:00:00") == "2026-11"  # a retried launch
    assert period("2027-01-03T00:00:00", "3d") == "2026-11"
    assert StatementSettings.of("sqlite:///x.db", "2026-07", "file:///k.pem").period == "2026-07"
    with pytest.raises(ValueError):
        StatementSettings.of("sqlite:///x.db", "last", "file:///k.pem")
