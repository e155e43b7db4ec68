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
from receipts.jws import sign_payloads
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts_cli.main import main
from receipts_cli.sample import sample_events
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


def failing(home: Path, *args: str) -> tuple[dict, str]:
    """A run that must fail (exit 1): its report and output."""
    status, report, output = reconcile(home, *args)
    assert status == 1 and report["ok"] is False, output
    return report, output


def assert_names(run: tuple[dict, str], check: str, receipt_id: str, field: str) -> None:
    """The report and the output name the receipt and the field at fault."""
    report, output = run
    named = {(d["check"], d["customer_id"], d["receipt_id"], d["field"]) for d in report["discrepancies"]}
    assert (check, CUSTOMER, receipt_id, field) in named, sorted(named)
    assert f"FAIL {check}: {CUSTOMER} {receipt_id}" in output and f"{field}:" in output


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
    run = failing(home)
    assert_names(run, "signatures", receipt["receipt_id"], "amount")
    assert_names(run, "stores", receipt["receipt_id"], "amount")  # the archived copy differs


def test_a_receipt_deleted_from_the_ledger(home: Path) -> None:
    deleted, after = target(home), target(home, TARGET + 1)
    rows(home).execute("DELETE FROM receipts WHERE receipt_id = ?", (deleted["receipt_id"],))
    run = failing(home)
    assert_names(run, "stores", deleted["receipt_id"], "ledger")
    assert_names(run, "chain", after["receipt_id"], "previous_receipt_hash")
    status, report, _ = reconcile(home, "--source", "archive")  # the archive and the state store still agree
    assert status == 0 and report["receipts"] == run[0]["receipts"] + 1


def test_two_receipts_swapped_in_the_ledger(home: Path) -> None:
    first, second = target(home), target(home, TARGET + 1)
    db = rows(home)
    db.execute("UPDATE receipts SET sequence = -1 WHERE receipt_id = ?", (first["receipt_id"],))
    db.execute("UPDATE receipts SET sequence = ? WHERE receipt_id = ?", (TARGET, second["receipt_id"]))
    db.execute("UPDATE receipts SET sequence = ? WHERE receipt_id = ?", (TARGET + 1, first["receipt_id"]))
    run = failing(home)
    assert_names(run, "signatures", first["receipt_id"], "sequence")
    assert_names(run, "signatures", second["receipt_id"], "sequence")
    assert_names(run, "chain", second["receipt_id"], "sequence")  # the first one out of place


def test_a_signature_replaced_by_one_from_a_foreign_key(home: Path, tmp_path: Path) -> None:
    foreign = KeyRing(tmp_path / "foreign")
    signer = LocalKeySigner(foreign.private_pem(foreign.current_kid))
    receipt = target(home)
    body = {k: v for k, v in receipt.items() if k not in ("receipt_hash", "signature")}
    [token] = sign_payloads(signer, [canonical_bytes(body)])
    store_receipt(home, {**receipt, "signature": token})
    run = failing(home)
    assert_names(run, "signatures", receipt["receipt_id"], "signature")
    assert any(foreign.current_kid in d["reason"] and "not in the JWKS" in d["reason"] for d in run[0]["discrepancies"])


def test_a_balance_row_drifted_by_one_cent(home: Path) -> None:
    db = rows(home)
    balance, as_of = db.execute(
        "SELECT balance, as_of_sequence FROM balances WHERE customer_id = ?", (CUSTOMER,)
    ).fetchone()
    drifted = f"{int(balance.replace('.', '')) + 1:03d}"
    db.execute("UPDATE balances SET balance = ? WHERE customer_id = ?", (f"{drifted[:-2]}.{drifted[-2:]}", CUSTOMER))
    run = failing(home)
    assert_names(run, "money", target(home, as_of)["receipt_id"], "balances[EUR]")
    assert run[0]["discrepancies_found"] == 1 and balance in run[0]["discrepancies"][0]["reason"]


def test_an_archive_line_removed(home: Path) -> None:
    receipt = target(home)
    [path] = [p for p in (home / "archive").glob("*.jsonl") if receipt["receipt_id"].encode() in p.read_bytes()]
    kept = [line for line in path.read_bytes().split(b"\n") if receipt["receipt_id"].encode() not in line]
    path.write_bytes(b"\n".join(kept))
    run = failing(home)
    assert_names(run, "stores", receipt["receipt_id"], "archive")
    assert run[0]["discrepancies_found"] == 1


def test_an_archive_line_carrying_the_next_receipts_signature_is_named_by_both_ids(home: Path) -> None:
    receipt, after = target(home), target(home, TARGET + 1)
    [path] = [p for p in (home / "archive").glob("*.jsonl") if receipt["receipt_id"].encode() in p.read_bytes()]
    lines = path.read_bytes().split(b"\n")
    [number] = [n for n, line in enumerate(lines, start=1) if receipt["receipt_id"].encode() in line]
    lines[number - 1] = canonical_bytes({**json.loads(lines[number - 1]), "signature": after["signature"]})
    path.write_bytes(b"\n".join(lines))
    line = f"{path.name} line {number}"

    report, output = failing(home, "--source", "archive")
    about_line = [d for d in report["discrepancies"] if d["where"] == line]
    assert about_line and {d["check"] for d in about_line} >= {"chain", "signatures"}
    assert {(d["receipt_id"], d["stated_receipt_id"]) for d in about_line} == {
        (after["receipt_id"], receipt["receipt_id"])
    }
    assert (
        f"{after['receipt_id']} (sequence {TARGET + 1}; {line}, whose receipt_id is {receipt['receipt_id']})" in output
    )

    report, output = failing(home)
    assert ("stores", receipt["receipt_id"], "signature", line) in {
        (d["check"], d["receipt_id"], d["field"], d["where"]) for d in report["discrepancies"]
    }


def test_a_receipt_resigned_after_an_edit_with_our_key_but_the_link_left_stale(home: Path) -> None:
    receipt, after = target(home), target(home, TARGET + 1)
    ring = KeyRing(home / "keys")
    signer = LocalKeySigner(ring.private_pem(ring.current_kid))
    forged = resign(signer, receipt, amount="0.01", kid=signer.kid)
    store_receipt(home, forged)
    run = failing(home)
    assert_names(run, "chain", after["receipt_id"], "previous_receipt_hash")
    assert_names(run, "money", receipt["receipt_id"], "balance_after")
    assert_names(run, "stores", receipt["receipt_id"], "amount")  # the archive still has the original
    assert not any(d["check"] == "signatures" for d in run[0]["discrepancies"])  # validly signed


def test_the_archive_alone_against_another_jwks(home: Path, tmp_path: Path) -> None:
    rows(home).execute("DELETE FROM receipts WHERE receipt_id = ?", (target(home)["receipt_id"],))
    other = tmp_path / "other.json"
    other.write_text(invoke(tmp_path / "other-home", "keys", "jwks").output)
    report, _ = failing(home, "--source", "archive", "--jwks", str(other))
    assert report["source"] == "archive" and report["jwks"] == str(other) and report["receipts"] > 0
    # The ledger was not read (its deleted receipt is not reported); every archived signature fails.
    assert report["checks"]["signatures"]["discrepancies"] == report["receipts"] == report["discrepancies_found"]


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
