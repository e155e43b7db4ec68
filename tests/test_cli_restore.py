"""`receipts restore` on the embedded store: a ledger made by the real batch pipeline (with a
key rotation half way), damaged the way it would happen (SQLite rows deleted and edited, the
file deleted outright, archive lines tampered), then rebuilt from the folder archive.
Reconciliation fails before and passes after; a second restore changes nothing; a tampered
archive line restores its customer up to the receipt before it and nothing past it."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.test_cli_reconcile import CUSTOMER, invoke, rows, store_receipt, target
from tests.test_cli_reconcile import made as made  # the home the batch job wrote (module fixture)

pytestmark = pytest.mark.beam
TABLES = ("receipts", "idempotency_keys", "chain_heads", "balances", "entitlement_usage", "archive_marks")


@pytest.fixture
def home(made: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(made, copy)
    return copy


def restore(home: Path, *args: str) -> tuple[int, dict, str]:
    report = home.parent / "restore.json"
    result = invoke(home, "restore", "--report", str(report), *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(report.read_text()), result.output


def reconcile_status(home: Path) -> int:
    result = invoke(home, "reconcile")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code


def dump(home: Path) -> dict[str, list]:
    db = rows(home)
    return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall()) for table in TABLES}


def archive_line(home: Path, customer: str, sequence: int) -> tuple[Path, int, dict]:
    """The archive file, line index and receipt of one customer's receipt."""
    for path in sorted((home / "archive").glob("*.jsonl")):
        for index, line in enumerate(path.read_bytes().split(b"\n")):
            if line and (record := json.loads(line))["customer_id"] == customer and record["sequence"] == sequence:
                return path, index, record
    raise AssertionError(f"{customer} {sequence} not archived")


def replace_line(path: Path, index: int, line: bytes | None) -> None:
    lines = path.read_bytes().split(b"\n")
    if line is None:
        del lines[index]
    else:
        lines[index] = line
    path.write_bytes(b"\n".join(lines))


def test_a_damaged_store_is_restored_and_then_reconciles(home: Path) -> None:
    db = rows(home)
    edited = target(home, 2)
    store_receipt(home, {**edited, "amount": "0.01"})  # an edited ledger row
    db.execute("DELETE FROM receipts WHERE customer_id = ? AND sequence = 3", (CUSTOMER,))  # a deleted one
    db.execute("DELETE FROM idempotency_keys WHERE customer_id = 'cust_initech'")
    db.execute("DELETE FROM chain_heads WHERE customer_id = 'cust_hooli'")
    db.execute("UPDATE balances SET balance = '1.00' WHERE customer_id = 'cust_acme'")
    db.execute("DELETE FROM entitlement_usage WHERE customer_id = 'cust_acme'")
    db.execute("INSERT INTO balances VALUES ('cust_hooli', 'CHF', '5.00', 1)")  # a row no receipt accounts for
    assert reconcile_status(home) == 1

    status, report, output = restore(home)
    assert status == 0, output
    assert report["ok"] and report["customers"] == report["customers_restored"] == 5
    written = report["written"]
    assert (written["ledger_written"], written["ledger_replaced"]) == (1, 1)
    assert written["idempotency_written"] >= 1 and written["state_written"] >= 4
    assert "ledger entries replaced (differed)" in output and "OK 5 customer(s) restored" in output
    assert "Entitlement limits and API keys are not in the archive" in output
    assert "intake is open" in " ".join(output.split()) and "Freeze it first" in output
    assert target(home, 2) == edited
    assert reconcile_status(home) == 0

    before = dump(home)
    status, again, _ = restore(home)
    assert status == 0 and again["customers_changed"] == 0 and set(again["written"].values()) == {0}
    assert dump(home) == before  # restoring twice changes nothing


def test_the_sqlite_file_deleted_is_restored_byte_for_byte(home: Path) -> None:
    exported = invoke(home, "export").stdout_bytes
    heads = dict(rows(home).execute("SELECT customer_id, sequence FROM chain_heads").fetchall())
    for name in ("receipts.db", "receipts.db-wal", "receipts.db-shm"):
        (home / name).unlink(missing_ok=True)
    status, report, output = restore(home)
    assert status == 0, output
    assert report["written"]["ledger_written"] == report["receipts_verified"] == len(exported.splitlines())
    assert invoke(home, "export").stdout_bytes == exported
    assert dict(rows(home).execute("SELECT * FROM archive_marks").fetchall()) == heads  # all in the archive already
    assert reconcile_status(home) == 0


def test_a_tampered_archive_line_restores_its_customer_up_to_the_receipt_before_it(home: Path) -> None:
    path, index, record = archive_line(home, CUSTOMER, 3)
    replace_line(path, index, json.dumps({**record, "amount": "0.01"}).encode())  # an edited amount
    path, index, record = archive_line(home, "cust_initech", 5)
    replace_line(path, index, json.dumps({**record, "signature": record["signature"][:-4] + "AAAA"}).encode())
    (home / "receipts.db").unlink()
    status, report, output = restore(home)
    assert status == 1, output
    cut = {item["customer_id"]: item for item in report["cut_short"]}
    assert set(cut) == {CUSTOMER, "cust_initech"}
    assert (cut[CUSTOMER]["sequence"], cut[CUSTOMER]["restored_through"]) == (3, 2)
    assert (cut["cust_initech"]["check"], cut["cust_initech"]["restored_through"]) == ("signature", 4)
    assert f"CUT SHORT {CUSTOMER}: restored through sequence 2" in output
    db = rows(home)
    assert db.execute("SELECT max(sequence) FROM receipts WHERE customer_id = ?", (CUSTOMER,)).fetchone() == (2,)
    assert db.execute("SELECT sequence FROM chain_heads WHERE customer_id = ?", (CUSTOMER,)).fetchone() == (2,)
    assert db.execute("SELECT count(*) FROM idempotency_keys WHERE customer_id = ?", (CUSTOMER,)).fetchone() == (2,)
    assert db.execute("SELECT max(sequence) FROM receipts WHERE customer_id = 'cust_initech'").fetchone() == (4,)
    assert report["customers_restored"] == 5  # the other three whole, the two up to the cut


def test_receipts_past_the_archive_that_extend_it_are_kept(home: Path) -> None:
    last = rows(home).execute("SELECT sequence FROM chain_heads WHERE customer_id = ?", (CUSTOMER,)).fetchone()[0]
    path, index, _ = archive_line(home, CUSTOMER, last)
    replace_line(path, index, None)  # stored, not archived yet: the outbox has not planned it
    rows(home).execute("UPDATE archive_marks SET planned_sequence = ? WHERE customer_id = ?", (last - 1, CUSTOMER))
    rows(home).execute("DELETE FROM receipts WHERE customer_id = ? AND sequence = 2", (CUSTOMER,))
    status, report, output = restore(home)
    assert status == 0, output
    assert report["receipts_kept_from_store"] == 1 and report["written"]["ledger_written"] == 1
    mark = rows(home).execute("SELECT planned_sequence FROM archive_marks WHERE customer_id = ?", (CUSTOMER,))
    assert mark.fetchone() == (last - 1,)  # the kept receipt is not in the archive: catch-up archives it


def test_receipts_past_the_archive_that_do_not_verify_leave_the_customer_alone(home: Path) -> None:
    last = rows(home).execute("SELECT sequence FROM chain_heads WHERE customer_id = ?", (CUSTOMER,)).fetchone()[0]
    path, index, _ = archive_line(home, CUSTOMER, last)
    replace_line(path, index, None)
    store_receipt(home, {**target(home, last), "amount": "0.01"})
    rows(home).execute("DELETE FROM receipts WHERE customer_id = ? AND sequence = 2", (CUSTOMER,))
    status, report, output = restore(home)
    assert status == 1
    [refused] = report["refused"]
    assert refused["customer_id"] == CUSTOMER and "do not extend it" in refused["reason"]
    assert f"NOT RESTORED {CUSTOMER}" in output
    gone = rows(home).execute("SELECT count(*) FROM receipts WHERE customer_id = ? AND sequence = 2", (CUSTOMER,))
    assert gone.fetchone() == (0,)  # nothing written for that customer
    assert report["customers_restored"] == 4


def test_an_unreadable_archive_line_is_a_finding(home: Path) -> None:
    path = sorted((home / "archive").glob("*.jsonl"))[0]
    path.write_bytes(path.read_bytes() + b"{not json\n")
    status, report, output = restore(home)
    assert status == 1 and len(report["unreadable"]) == 1 and "UNREADABLE" in output
    assert report["customers_restored"] == 5


def test_no_archive_cannot_run(home: Path) -> None:
    result = invoke(home, "restore", "--from", str(home / "nowhere"))
    assert result.exit_code == 2 and "no archive at" in result.output


def test_a_busy_home_cannot_run(home: Path) -> None:
    from receipts_cli.home import Home

    with Home(home).exclusive_run():
        result = invoke(home, "restore")
    assert result.exit_code == 2 and "already running" in result.output


def test_sqlite_rows_untouched_by_a_refused_restore(tmp_path: Path) -> None:
    """The store refuses a chain shorter than its head: nothing is rewound."""
    from receipts.stores.sqlite import SqliteStore

    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    store._db.execute("INSERT INTO chain_heads VALUES ('c', 5, ?)", ("0" * 64,))
    outcome = store.restore_chain("c", [])
    assert outcome.refused and outcome.changed == 0
    assert sqlite3.connect(tmp_path / "r.db").execute("SELECT sequence FROM chain_heads").fetchone() == (5,)
