"""Credit notes through the real batch pipeline (`receipts run`) on the embedded store: a
credit moves the balance down and gives its quota back, an over-credit split across runs is
refused, a replay credits nothing twice, and the reconciliation recomputes it all (and fails
on a charge credit row the receipts do not add up to)."""

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.canonical import receipt_id
from receipts.stores.sqlite import SqliteStore
from receipts_cli.main import main

pytestmark = pytest.mark.beam
CUSTOMER = "cust_cr"
CHARGE = receipt_id(CUSTOMER, "c-1")


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def event(key: str, amount: str, hour: int, **fields) -> bytes:
    document = {"idempotent_key": key, "customer_id": CUSTOMER, "amount": amount, "currency": "USD",
                "timestamp": f"2026-01-25T{hour:02d}:00:00Z", **fields}  # fmt: skip
    return json.dumps(document).encode()


def credit(key: str, amount: str, hour: int, corrects: str = CHARGE) -> bytes:
    return event(key, amount, hour, type="credit", corrects=corrects)


def run(home: Path, name: str, *lines: bytes):
    path = home.parent / f"{name}.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = invoke(home, "run", "--input", str(path))
    assert result.exit_code == 0, result.output
    return result


def receipts(home: Path) -> dict[str, dict]:
    store = SqliteStore(f"sqlite:///{home / 'receipts.db'}")
    try:
        return {r["idempotent_key"]: r for r in store.receipts(CUSTOMER)}
    finally:
        store.close()


def charge_state(home: Path):
    store = SqliteStore(f"sqlite:///{home / 'receipts.db'}")
    try:
        return store.charge(CUSTOMER, CHARGE), store.entitlement_usage(CUSTOMER, "ent_api")
    finally:
        store.close()


def test_credits_across_runs_replays_and_the_reconciliation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cap = ["--customer", CUSTOMER, "--entitlement", "ent_api", "--limit", "6.00", "--currency", "USD"]
    assert invoke(home, "entitlements", "set", *cap).exit_code == 0
    first = [
        event("c-1", "5.00", 1, entitlement_id="ent_api"),
        credit("cr-1", "3.00", 2),  # quota back: 2.00 used
        event("c-2", "3.00", 3, entitlement_id="ent_api"),  # fits only because of the credit
        credit("cr-bad", "1.00", 4, corrects=receipt_id(CUSTOMER, "no-such")),
    ]
    run(home, "first", *first)
    got = receipts(home)
    assert [
        (got[k]["status"], got[k]["reason"], got[k]["balance_after"]) for k in ("c-1", "cr-1", "c-2", "cr-bad")
    ] == [
        ("accepted", None, "5.00"),
        ("accepted", None, "2.00"),
        ("accepted", None, "5.00"),
        ("rejected", "unknown_receipt", "5.00"),
    ]
    assert (got["cr-1"]["v"], got["cr-1"]["type"], got["cr-1"]["corrects"]) == (2, "credit", CHARGE)
    assert got["c-2"]["quota_remaining"] == "1.00"
    charge, used = charge_state(home)
    assert (charge.credited_minor, used) == (300, 500)

    # The rest of the charge in two credits across two runs: the second would pass it.
    run(home, "second", credit("cr-2", "1.50", 5))
    run(home, "third", credit("cr-3", "1.00", 6), credit("cr-4", "0.50", 7))
    got = receipts(home)
    assert (got["cr-2"]["status"], got["cr-3"]["reason"], got["cr-4"]["status"]) == (
        "accepted",
        "credit_exceeds_charge",
        "accepted",
    )
    assert got["cr-4"]["balance_after"] == "3.00" and charge_state(home)[0].credited_minor == 500

    # Everything again, reordered: duplicates, nothing credited twice.
    before = receipts(home)
    run(
        home,
        "replay",
        credit("cr-4", "0.50", 7),
        *reversed(first),
        credit("cr-2", "1.50", 5),
        credit("cr-3", "1.00", 6),
    )
    assert receipts(home) == before
    charge, used = charge_state(home)
    assert (charge.credited_minor, used) == (500, 300)  # 5.00 + 3.00 charged, 5.00 credited

    result = invoke(home, "reconcile")
    assert result.exit_code == 0, result.output

    db = sqlite3.connect(home / "receipts.db", isolation_level=None)
    db.execute("UPDATE charge_credits SET credited_minor = '400' WHERE receipt_id = ?", (CHARGE,))
    db.close()
    result = invoke(home, "reconcile")
    assert result.exit_code == 1
    assert f"charge_credits[{CHARGE}]" in result.output
