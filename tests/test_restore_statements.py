"""Statements through `receipts restore` on the embedded store (SQLite, folder archive): every
statement the real statements job issues is archived write-once at
archive/statements/PERIOD/ID.jsonl; a home that lost its database (or had statements deleted
or edited, or a period's close changed) gets them back byte for byte, verified, before its
log, whose statement leaves come back with it; `receipts reconcile` is clean after and `receipts
log integrate` continues the same log. A tampered archived statement, or two different
copies of one, is refused with the reason, and neither it nor the customer's later statements
are written."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.records import export_line
from receipts_cli.main import main
from tests.conftest import event_bytes

pytestmark = pytest.mark.beam
LOG_TABLES = ("log_state", "log_marks", "log_leaves", "log_hashes", "log_checkpoints")


def invoke(home: Path, *args: str, catch: bool = False):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=catch)


def charge(home: Path, name: str, events: list[bytes]) -> None:
    path = home.parent / f"{name}.jsonl"
    path.write_bytes(b"\n".join(events) + b"\n")
    result = invoke(home, "run", "--input", str(path))
    assert result.exit_code == 0, result.output


def close(home: Path, period: str) -> None:
    result = invoke(home, "statements", "close", "--period", period)
    assert result.exit_code == 0, result.output


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "receipts.db", isolation_level=None)


def exported(home: Path) -> bytes:
    result = invoke(home, "statements", "export")
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def statements_of(home: Path) -> list[dict]:
    return [json.loads(line) for line in exported(home).split(b"\n") if line]


def archived(home: Path, statement: dict) -> Path:
    return home / "archive" / "statements" / statement["period"] / f"{statement['statement_id']}.jsonl"


def log_rows(home: Path) -> dict[str, list]:
    connection = db(home)
    return {table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall()) for table in LOG_TABLES}


def wipe(home: Path) -> None:
    for name in ("receipts.db", "receipts.db-wal", "receipts.db-shm"):
        (home / name).unlink(missing_ok=True)


def restore(home: Path, expected: int = 0) -> tuple[dict, str]:
    report = home.parent / "restore.json"
    result = invoke(home, "restore", "--report", str(report))
    assert result.exit_code == expected, result.output
    return json.loads(report.read_text()), " ".join(result.output.split())


def reconciled(home: Path) -> list:
    report = home.parent / "reconcile.json"
    result = invoke(home, "reconcile", "--report", str(report))
    assert result.exit_code == 0, result.output
    return json.loads(report.read_text())["discrepancies"]


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two customers charged in October and November (one late October receipt), both closed."""
    home = tmp_path_factory.mktemp("restore-statements") / "home"
    charge(
        home,
        "october",
        [
            event_bytes(customer_id="cust_a", idempotent_key="a-oct", amount="10.00", timestamp="2026-10-03T10:00:00Z"),
            event_bytes(customer_id="cust_b", idempotent_key="b-oct", amount="3.00", timestamp="2026-10-09T10:00:00Z"),
        ],
    )
    close(home, "2026-10")
    charge(
        home,
        "november",
        [
            event_bytes(customer_id="cust_a", idempotent_key="a-late", amount="4.00", timestamp="2026-10-31T23:00:00Z"),
            event_bytes(customer_id="cust_a", idempotent_key="a-nov", amount="2.50", timestamp="2026-11-03T10:00:00Z"),
            event_bytes(customer_id="cust_b", idempotent_key="b-nov", amount="1.00", timestamp="2026-11-09T10:00:00Z"),
        ],
    )
    close(home, "2026-11")
    return home


@pytest.fixture
def home(closed: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(closed, copy)
    return copy


def test_every_statement_is_archived_once_and_never_overwritten(home: Path) -> None:
    statements = statements_of(home)
    assert [(s["customer_id"], s["period"]) for s in statements] == [
        ("cust_a", "2026-10"), ("cust_a", "2026-11"), ("cust_b", "2026-10"), ("cust_b", "2026-11"),
    ]  # fmt: skip
    for statement in statements:  # the export line, byte for byte, at statements/PERIOD/ID.jsonl
        assert archived(home, statement).read_bytes() == export_line(statement)
    assert len(list((home / "archive" / "statements").rglob("*.jsonl"))) == 4
    assert not list((home / "archive").glob("*.jsonl.tmp")) and not list((home / "archive").rglob(".*.tmp"))

    close(home, "2026-10")  # a rerun: the same bytes, a replay
    assert all(archived(home, s).read_bytes() == export_line(s) for s in statements)

    target = archived(home, statements[0])
    other = export_line({**statements[0], "line_count": 7})
    target.write_bytes(other)  # the archive holds another statement under the name
    rerun = invoke(home, "statements", "close", "--period", "2026-10")
    assert rerun.exit_code == 1, rerun.output
    said = " ".join(rerun.output.split())
    assert str(target) in said and "nothing was overwritten" in said, said
    assert target.read_bytes() == other


def test_a_wiped_home_gets_its_statements_back_before_its_log(home: Path) -> None:
    before, logged = exported(home), log_rows(home)
    assert ("statements:cust_a", 2) in logged["log_marks"] and ("statements:cust_b", 2) in logged["log_marks"]
    closes = db(home).execute("SELECT * FROM statement_closes ORDER BY period").fetchall()
    wipe(home)
    report, said = restore(home)
    assert report["ok"], said
    counts = {name: report["statements"][name] for name in ("archived", "kept", "written", "replaced", "closes")}
    assert counts == {"archived": 4, "kept": 0, "written": 4, "replaced": 0, "closes": 2}
    assert "Statements: 4 archived, 0 kept as stored, 4 written back" in said
    assert report["log"]["outcome"] == "rebuilt" and report["log"]["customers"] == 4, said  # 2 receipts', 2 statements'
    assert exported(home) == before  # byte for byte
    assert db(home).execute("SELECT * FROM statement_closes ORDER BY period").fetchall() == closes
    assert log_rows(home) == logged  # the statements' leaves and marks too
    assert reconciled(home) == []

    again, said = restore(home)  # restoring twice changes nothing
    assert again["statements"]["kept"] == 4 and again["statements"]["written"] == 0, said
    assert again["log"]["outcome"] == "intact" and exported(home) == before and log_rows(home) == logged

    integrated = invoke(home, "log", "integrate")
    assert integrated.exit_code == 0 and "(0 new)" in integrated.output, integrated.output
    charge(
        home,
        "december",
        [event_bytes(customer_id="cust_b", idempotent_key="b-dec", amount="2.00", timestamp="2026-12-01T10:00:00Z")],
    )
    grown = log_rows(home)
    assert grown["log_state"][0][2] == logged["log_state"][0][2] + 1  # the same log, one leaf longer
    assert grown["log_leaves"][: len(logged["log_leaves"])] == logged["log_leaves"]


def test_deleted_and_edited_statements_and_a_changed_close_come_back(home: Path) -> None:
    before = exported(home)
    a_october, _, b_october, _ = statements_of(home)
    connection = db(home)
    connection.execute("DELETE FROM statements WHERE statement_id = ?", (b_october["statement_id"],))
    body = json.loads(connection.execute("SELECT body FROM statements WHERE statement_id = ?",
                                         (a_october["statement_id"],)).fetchone()[0])  # fmt: skip
    body["totals"]["USD"]["net"] = "1.00"  # an invoice lowered in the store, its signature kept
    connection.execute(
        "UPDATE statements SET body = ? WHERE statement_id = ?", (json.dumps(body), a_october["statement_id"])
    )
    connection.execute("UPDATE statement_closes SET closed_at = '2026-11-01T00:00:00.000000Z' WHERE period = '2026-10'")
    report, said = restore(home)
    assert report["ok"], said
    counts = {name: report["statements"][name] for name in ("kept", "written", "replaced", "closes_replaced")}
    assert counts == {"kept": 2, "written": 1, "replaced": 1, "closes_replaced": 1}
    assert exported(home) == before
    assert reconciled(home) == []


def test_a_tampered_archived_statement_is_refused_with_the_customers_later_ones(home: Path) -> None:
    _, _, b_october, b_november = statements_of(home)
    archived(home, b_october).write_bytes(export_line({**b_october, "line_count": 0}))  # its signature no longer holds
    wipe(home)
    report, said = restore(home, expected=1)
    assert not report["ok"] and report["customers_restored"] == 2  # the receipts are restored
    assert "STATEMENT NOT RESTORED" in said and f"statement {b_october['statement_id']} (cust_b, 2026-10)" in said
    assert "nor any of the customer's later statements" in said
    assert report["statements"]["written"] == 2 and len(report["statements"]["refused"]) == 1
    held = {s["statement_id"] for s in statements_of(home)}
    assert b_october["statement_id"] not in held and b_november["statement_id"] not in held and len(held) == 2
    # The log's leaves include cust_b's statements, which the store lacks now: the log is refused, not forked.
    assert report["log"]["outcome"] == "refused"
    assert "no receipt, statement or key document the store holds" in report["log"]["reason"]


def test_two_different_copies_of_a_statement_are_refused(home: Path) -> None:
    a_october = statements_of(home)[0]
    aside = archived(home, a_october).with_name(f"{a_october['statement_id']}-copy.jsonl")
    aside.write_bytes(export_line({**a_october, "closing_sequence": 0}))
    db(home).execute("DELETE FROM statements WHERE customer_id = 'cust_a'")
    report, said = restore(home, expected=1)
    assert report["statements"]["refused"] and "two different archived copies" in said and str(aside) in said, said
    assert [s["customer_id"] for s in statements_of(home)] == ["cust_b", "cust_b"]


def test_a_statement_the_archive_lost_links_to_the_stores_copy(home: Path) -> None:
    a_october, a_november, _, _ = statements_of(home)
    archived(home, a_october).unlink()  # the archive lost October's; the store still has it
    db(home).execute("DELETE FROM statements WHERE statement_id = ?", (a_november["statement_id"],))
    report, said = restore(home)
    assert report["statements"]["written"] == 1, said
    assert statements_of(home)[1] == a_november

    db(home).execute("DELETE FROM statements WHERE customer_id = 'cust_a'")  # now neither holds October's
    report, said = restore(home, expected=1)
    assert "neither the archive nor the store holds" in said, said
    assert a_november["statement_id"] not in {s["statement_id"] for s in statements_of(home)}


def test_statements_restore_runs_the_statements_step_alone(home: Path) -> None:
    """After a restore job run elsewhere (on Dataflow), then `receipts log restore`."""
    before, logged = exported(home), log_rows(home)
    a_october = statements_of(home)[0]
    connection = db(home)
    connection.execute("DELETE FROM statements WHERE customer_id = 'cust_a'")
    for table in LOG_TABLES:
        connection.execute(f"DELETE FROM {table}")
    refused = invoke(home, "log", "restore")  # the log's leaves name statements the store lacks now
    assert refused.exit_code == 1 and "LOG NOT RESTORED" in refused.output, refused.output
    result = invoke(home, "statements", "restore")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Statements: 4 archived, 2 kept as stored, 2 written back" in said, said
    assert exported(home) == before and statements_of(home)[0] == a_october
    rebuilt = invoke(home, "log", "restore")
    assert rebuilt.exit_code == 0 and "Transparency log rebuilt" in rebuilt.output, rebuilt.output
    assert log_rows(home) == logged


def test_archive_catch_up_archives_the_statements_the_archive_lacks(home: Path) -> None:
    """Statements closed before the archive held them (an older release) get archived."""
    statements = statements_of(home)
    shutil.rmtree(home / "archive" / "statements")
    caught = invoke(home, "archive", "catch-up")
    assert caught.exit_code == 0 and "Archived 4 statement(s)" in caught.output, caught.output
    assert all(archived(home, s).read_bytes() == export_line(s) for s in statements)
    again = invoke(home, "archive", "catch-up")
    assert again.exit_code == 0 and "Archived 0 statement(s)" in again.output, again.output
    archived(home, statements[1]).write_bytes(b"{}\n")
    refused = invoke(home, "archive", "catch-up")
    assert refused.exit_code == 1 and "nothing was overwritten" in " ".join(refused.output.split())
    assert archived(home, statements[1]).read_bytes() == b"{}\n"
