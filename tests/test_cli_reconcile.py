"""`receipts reconcile` on the embedded store: a ledger made by the real batch pipeline (with
a key rotation half way), then tampered with the way it would happen: SQLite rows and
archive files edited directly. Each tamper must fail the run (exit 1) and name the receipt
and the field at fault; the untouched ledger must pass with zero discrepancies."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.canonical import canonical_bytes
from receipts.cli import main
from receipts.demo import sample_events
from receipts.keys import KeyRing
from receipts.signers import LocalKeySigner, sign_payloads
from tests.reconcile_helpers import resign

pytestmark = pytest.mark.beam
CUSTOMER = "cust_globex"
TARGET = 3  # the tampered receipt's sequence, in the middle of the customer's chain


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose ledger the batch pipeline wrote, signed with two keys (one now retired)."""
    home = tmp_path_factory.mktemp("reconcile") / "home"
    cap = ["--customer", "cust_acme", "--entitlement", "ent_api_calls", "--limit", "40.00", "--currency", "USD"]
    assert invoke(home, "entitlements", "set", *cap).exit_code == 0  # so some receipts are quota rejections
    lines = sample_events(10)
    for part, chunk in enumerate((lines[: len(lines) // 2], lines[len(lines) // 2 :])):
        events = home.parent / f"events-{part}.jsonl"
        events.write_bytes(b"\n".join(chunk) + b"\n")
        assert invoke(home, "run", "--input", str(events)).exit_code == 0
        if part == 0:
            assert invoke(home, "keys", "rotate").exit_code == 0
    return home


@pytest.fixture
def home(made: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(made, copy)
    return copy


def rows(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "receipts.db", isolation_level=None)


def target(home: Path, sequence: int = TARGET) -> dict:
    body, receipt_hash, signature = (
        rows(home)
        .execute(
            "SELECT body, receipt_hash, signature FROM receipts WHERE customer_id = ? AND sequence = ?",
            (CUSTOMER, sequence),
        )
        .fetchone()
    )
    return {**json.loads(body), "receipt_hash": receipt_hash, "signature": signature}


def store_receipt(home: Path, receipt: dict) -> None:
    body = {k: v for k, v in receipt.items() if k not in ("receipt_hash", "signature")}
    rows(home).execute(
        "UPDATE receipts SET body = ?, receipt_hash = ?, signature = ? WHERE receipt_id = ?",
        (canonical_bytes(body).decode(), receipt["receipt_hash"], receipt["signature"], receipt["receipt_id"]),
    )


def reconcile(home: Path, *args: str) -> tuple[int, dict, str]:
    report = home.parent / "report.json"
    result = invoke(home, "reconcile", "--report", str(report), *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(report.read_text()), result.output


def assert_names(home: Path, check: str, receipt_id: str, field: str, *args: str) -> dict:
    """The run fails, and its report and output name the receipt and field at fault."""
    status, report, output = reconcile(home, *args)
    assert status == 1 and report["ok"] is False
    named = {(d["check"], d["customer_id"], d["receipt_id"], d["field"]) for d in report["discrepancies"]}
    assert (check, CUSTOMER, receipt_id, field) in named, sorted(named)
    assert f"FAIL {check}: {CUSTOMER} {receipt_id}" in output and f"{field}:" in output
    return report


def test_the_clean_ledger_passes_with_zero_discrepancies(home: Path) -> None:
    kids = {r["kid"] for r in map(json.loads, invoke(home, "export").stdout_bytes.splitlines())}
    assert len(kids) == 2  # one of them retired: the JWKS still verifies its receipts
    status, report, output = reconcile(home)
    assert status == 0 and report["ok"] is True and report["discrepancies_found"] == 0
    receipts = sum(1 for _ in invoke(home, "export").stdout_bytes.splitlines())
    assert report["customers"] == 5 and report["receipts"] == receipts
    assert all(counts["receipts"] == receipts for counts in report["checks"].values())
    assert f"OK every check holds: {receipts} receipt(s) of 5 customer(s)" in output
    for name in ("chain", "signatures", "money", "idempotency", "stores"):
        assert name in output


def test_an_amount_edited_in_the_ledger(home: Path) -> None:
    receipt = target(home)
    store_receipt(home, {**receipt, "amount": "0.01"})
    report = assert_names(home, "signatures", receipt["receipt_id"], "amount")
    assert any(d["check"] == "stores" and d["field"] == "amount" for d in report["discrepancies"])


def test_a_receipt_deleted_from_the_ledger(home: Path) -> None:
    deleted, after = target(home), target(home, TARGET + 1)
    rows(home).execute("DELETE FROM receipts WHERE receipt_id = ?", (deleted["receipt_id"],))
    report = assert_names(home, "stores", deleted["receipt_id"], "ledger")
    assert ("chain", after["receipt_id"], "previous_receipt_hash") in {
        (d["check"], d["receipt_id"], d["field"]) for d in report["discrepancies"]
    }


def test_two_receipts_swapped_in_the_ledger(home: Path) -> None:
    first, second = target(home), target(home, TARGET + 1)
    db = rows(home)
    db.execute("UPDATE receipts SET sequence = -1 WHERE receipt_id = ?", (first["receipt_id"],))
    db.execute("UPDATE receipts SET sequence = ? WHERE receipt_id = ?", (TARGET, second["receipt_id"]))
    db.execute("UPDATE receipts SET sequence = ? WHERE receipt_id = ?", (TARGET + 1, first["receipt_id"]))
    assert_names(home, "signatures", first["receipt_id"], "sequence")
    assert_names(home, "signatures", second["receipt_id"], "sequence")
    assert_names(home, "chain", second["receipt_id"], "sequence")  # the first one out of place


def test_a_signature_replaced_by_one_from_a_foreign_key(home: Path, tmp_path: Path) -> None:
    foreign = KeyRing(tmp_path / "foreign")
    signer = LocalKeySigner(foreign.private_pem(foreign.current_kid))
    receipt = target(home)
    body = {k: v for k, v in receipt.items() if k not in ("receipt_hash", "signature")}
    [token] = sign_payloads(signer, [canonical_bytes(body)])
    store_receipt(home, {**receipt, "signature": token})
    report = assert_names(home, "signatures", receipt["receipt_id"], "signature")
    assert any(foreign.current_kid in d["reason"] and "not in the JWKS" in d["reason"] for d in report["discrepancies"])


def test_a_balance_row_drifted_by_one_cent(home: Path) -> None:
    db = rows(home)
    balance, as_of = db.execute(
        "SELECT balance, as_of_sequence FROM balances WHERE customer_id = ?", (CUSTOMER,)
    ).fetchone()
    drifted = f"{int(balance.replace('.', '')) + 1:03d}"
    db.execute("UPDATE balances SET balance = ? WHERE customer_id = ?", (f"{drifted[:-2]}.{drifted[-2:]}", CUSTOMER))
    report = assert_names(home, "money", target(home, as_of)["receipt_id"], "balances[EUR]")
    assert report["discrepancies_found"] == 1
    assert balance in report["discrepancies"][0]["reason"]


def test_an_archive_line_removed(home: Path) -> None:
    receipt = target(home)
    [path] = [p for p in (home / "archive").glob("*.jsonl") if receipt["receipt_id"].encode() in p.read_bytes()]
    kept = [line for line in path.read_bytes().split(b"\n") if receipt["receipt_id"].encode() not in line]
    path.write_bytes(b"\n".join(kept))
    report = assert_names(home, "stores", receipt["receipt_id"], "archive")
    assert report["discrepancies_found"] == 1
    status, _, _ = reconcile(home, "--source", "store")  # the ledger alone is whole
    assert status == 0


def test_a_receipt_resigned_after_an_edit_with_our_key_but_the_link_left_stale(home: Path) -> None:
    receipt, after = target(home), target(home, TARGET + 1)
    ring = KeyRing(home / "keys")
    signer = LocalKeySigner(ring.private_pem(ring.current_kid))
    forged = resign(signer, receipt, amount="0.01", kid=signer.kid)
    store_receipt(home, forged)
    report = assert_names(home, "chain", after["receipt_id"], "previous_receipt_hash")
    named = {(d["check"], d["receipt_id"], d["field"]) for d in report["discrepancies"]}
    assert ("money", receipt["receipt_id"], "balance_after") in named
    assert ("stores", receipt["receipt_id"], "amount") in named  # the archive still has the original
    assert not any(d["check"] == "signatures" for d in report["discrepancies"])  # validly signed


def test_the_archive_alone_and_another_jwks(home: Path, tmp_path: Path) -> None:
    receipt = target(home)
    status, report, _ = reconcile(home, "--source", "archive")
    assert status == 0 and report["source"] == "archive" and report["receipts"] > 0
    rows(home).execute("DELETE FROM receipts WHERE receipt_id = ?", (receipt["receipt_id"],))
    status, report, _ = reconcile(home, "--source", "archive")
    assert status == 0  # the archive and the state store still agree; the ledger was not read

    other = tmp_path / "other.json"
    other.write_text(invoke(tmp_path / "other-home", "keys", "jwks").output)
    status, report, _ = reconcile(home, "--source", "archive", "--jwks", str(other))
    assert status == 1 and report["checks"]["signatures"]["discrepancies"] == report["receipts"]


def test_usage_errors_and_runs_that_cannot_finish(home: Path, tmp_path: Path) -> None:
    result = invoke(home, "reconcile", "--alert-topic", "alerts")
    assert result.exit_code == 2 and "projects/PROJECT/topics/TOPIC" in result.output
    result = invoke(tmp_path / "empty", "reconcile")
    assert result.exit_code == 2 and "no signing keys" in result.output and not (tmp_path / "empty").exists()
    result = invoke(home, "reconcile", "--jwks", str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and "cannot read the JWKS" in result.output
    result = invoke(home, "reconcile", "--as-of", "yesterday")
    assert result.exit_code == 2 and "RFC 3339" in result.output
    (home / "run.lock").write_text("")
    import fcntl

    with open(home / "run.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = invoke(home, "reconcile")
    assert result.exit_code == 2 and "already running the pipeline" in result.output
