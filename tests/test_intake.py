"""Freezing intake on the embedded store: the state's round trip, `receipts intake
freeze|status|resume`, `receipts run` refused while frozen, the batch job holding every
event as an `intake_frozen` dead letter (nothing charged), a freeze landing within a
bundle, and `receipts reconcile --freeze-on-failure` on a tampered and a clean store."""

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.records import INTAKE_FROZEN, Message
from receipts.rows import IntakeState
from receipts.stores.sqlite import SqliteStore
from receipts_cli.console import pipeline_counts, print_run_summary
from receipts_cli.main import main
from receipts_cli.sample import sample_events
from tests.conftest import event_bytes, make_event
from transforms.intake import HELD, HoldWhileFrozen

HOSTILE_REASON = "ledger [/bold] in doubt \u202e"


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def store_of(home: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}")


def test_the_state_round_trips_and_a_missing_row_is_open(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    assert store.intake() == IntakeState.open()
    frozen = IntakeState(True, "ledger in doubt", "2026-01-25T12:00:00Z", "alice")
    store.set_intake(frozen)
    store.set_intake(frozen)  # idempotent: one row, replaced
    assert store.intake() == frozen
    assert SqliteStore(store.url).intake() == frozen  # durable: another connection reads it
    opened = IntakeState(False, "", "2026-01-25T13:00:00Z", "bob")
    store.set_intake(opened)
    assert store.intake() == opened
    assert store._db.execute("SELECT count(*) FROM intake").fetchone()[0] == 1


def test_freeze_status_and_resume(home: Path) -> None:
    status = invoke(home, "intake", "status")
    assert status.exit_code == 0 and "open (never frozen)" in status.output
    frozen = invoke(home, "intake", "freeze", "--reason", "reconciliation failed at 12:00", "--by", "alice")
    assert frozen.exit_code == 0, frozen.output
    assert "Intake frozen" in frozen.output and "receipts intake resume" in frozen.output
    state = store_of(home).intake()
    assert (state.frozen, state.reason, state.changed_by) == (True, "reconciliation failed at 12:00", "alice")
    status = invoke(home, "intake", "status")
    assert status.exit_code == 0
    assert f"frozen since {state.changed_at} by alice" in status.output
    assert "reason: reconciliation failed at 12:00" in status.output
    resumed = invoke(home, "intake", "resume", "--by", "bob")
    assert resumed.exit_code == 0 and "Intake open" in resumed.output
    assert "No events were held" in resumed.output
    assert store_of(home).intake().frozen is False
    assert "open since" in invoke(home, "intake", "status").output


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "two\nlines", "esc \x1b[2J"])
def test_a_reason_must_be_1_to_500_printable_characters(home: Path, reason: str) -> None:
    result = invoke(home, "intake", "freeze", "--reason", reason)
    assert result.exit_code == 2 and "--reason" in result.output
    assert store_of(home).intake().frozen is False


def test_values_are_shown_as_text(home: Path) -> None:
    store_of(home).set_intake(IntakeState(True, HOSTILE_REASON, "2026-01-25T12:00:00Z", "x\x1b[31m"))
    result = invoke(home, "intake", "status")
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "[/bold]" in result.output and "\\u202e" in result.output and "\\u001b" in result.output


@pytest.mark.beam
def test_run_is_refused_while_frozen_and_nothing_is_read(home: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(event_bytes(idempotent_key="a") + b"\n")
    assert invoke(home, "intake", "freeze", "--reason", "ledger in doubt").exit_code == 0
    refused = invoke(home, "run", "--input", str(events))
    assert refused.exit_code == 1
    assert "intake is frozen since" in refused.output and "ledger in doubt" in refused.output
    assert "receipts intake resume" in refused.output
    store = store_of(home)
    assert list(store.receipts()) == [] and list(store.dead_letters()) == []
    assert invoke(home, "intake", "resume").exit_code == 0
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    assert len(list(store.receipts())) == 1


@pytest.mark.beam
def test_the_batch_job_on_a_frozen_store_charges_nothing_and_holds_every_event(
    home: Path, tmp_path: Path, keyring, capsys: pytest.CaptureFixture
) -> None:
    from pipelines.batch import Settings, run

    lines = [event_bytes(idempotent_key=f"k{n}", amount="1.00") for n in range(5)] + [b"{broken"]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    store = store_of(home)
    store.set_intake(IntakeState(True, "ledger in doubt", "2026-01-25T12:00:00Z", "alice"))
    settings = Settings(str(events), store.url, str(keyring.folder), keyring.current_kid, str(home / "archive"))
    counts = pipeline_counts(run(settings))
    assert counts["events_held_frozen"] == 5 and counts["receipts_written"] == 0
    assert list(store.receipts()) == [] and store.balances() == []
    letters = list(store.dead_letters())
    held = [letter for letter in letters if letter["reason"] == INTAKE_FROZEN]
    assert sorted(letter["raw"].encode() for letter in held) == sorted(lines[:5])  # raw bytes kept
    assert all("ledger in doubt" in letter["detail"] for letter in held)
    assert all("receipts dead-letters replay --reason intake_frozen" in letter["detail"] for letter in held)
    assert [letter["reason"] for letter in letters if letter not in held] == ["malformed_json"]
    print_run_summary(counts)
    summary = capsys.readouterr().err
    assert "events held: intake frozen" in summary
    assert "receipts dead-letters replay --reason intake_frozen" in summary
    waiting = invoke(home, "intake", "resume", "--no-replay")
    assert "5 event(s) held while frozen" in waiting.output
    assert "receipts dead-letters replay --reason intake_frozen" in waiting.output
    assert list(store.receipts()) == []

    resumed = invoke(home, "intake", "resume")  # charges what was held, each once
    assert resumed.exit_code == 0, resumed.output
    assert "Charging the 5 event(s) held while frozen" in resumed.output
    charged = sorted(receipt["idempotent_key"] for receipt in store.receipts())
    assert charged == [f"k{n}" for n in range(5)]
    again = invoke(home, "intake", "resume")
    assert again.exit_code == 0 and sorted(r["idempotent_key"] for r in store.receipts()) == charged
    assert [b.balance for b in store.balances()] == ["5.00"]


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_freeze_within_a_bundle_holds_the_events_after_it_without_a_read_per_event(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    clock = ManualClock()
    hold = HoldWhileFrozen(store.url, clock)
    hold.setup()
    reads = []
    read = hold.store.intake
    hold.store.intake = lambda: reads.append(clock.now) or read()  # type: ignore[method-assign]
    hold.start_bundle()

    def element(n: int):
        return Message(f"m{n}", event_bytes(idempotent_key=f"k{n}"), n), make_event(idempotent_key=f"k{n}")

    assert [list(hold.process(element(n))) for n in range(3)] == [[element(n)] for n in range(3)]
    store.set_intake(IntakeState(True, "mid-run", "2026-01-25T12:00:00Z", "alice"))
    clock.now = 0.5  # within the second: the state read at the bundle's start still stands
    assert list(hold.process(element(3))) == [element(3)]
    clock.now = 1.0
    [held] = list(hold.process(element(4)))
    assert held.tag == HELD and held.value.reason == INTAKE_FROZEN and held.value.raw == element(4)[0].raw
    assert held.value.customer_id == "cust_1" and held.value.idempotent_key == "k4"
    assert reads == [0.0, 1.0]  # the first event, then once a second: never per event
    hold.teardown()


def test_one_event_bundles_read_the_state_once_a_second_not_once_each(tmp_path: Path) -> None:
    """A streaming runner may make every event a bundle of its own: 1,000 of them within one
    second read the intake state once (a read per bundle was a store read per event)."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    clock = ManualClock()
    hold = HoldWhileFrozen(store.url, clock)
    hold.setup()
    reads = []
    read = hold.store.intake
    hold.store.intake = lambda: reads.append(clock.now) or read()  # type: ignore[method-assign]
    message, event = Message("m", event_bytes(idempotent_key="k"), 1), make_event(idempotent_key="k")
    for n in range(1000):
        clock.now = n / 1000
        hold.start_bundle()
        assert list(hold.process((message, event))) == [(message, event)]
        hold.finish_bundle()
    assert reads == [0.0]
    hold.teardown()


@pytest.mark.beam
def test_reconcile_freezes_on_a_tampered_store_and_not_on_a_clean_one(home: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(sample_events(10)) + b"\n")
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    report = tmp_path / "report.json"
    clean = invoke(home, "reconcile", "--freeze-on-failure", "--report", str(report))
    assert clean.exit_code == 0, clean.output
    assert store_of(home).intake().frozen is False and "Intake frozen" not in clean.output

    with sqlite3.connect(home / "receipts.db", isolation_level=None) as db:
        db.execute("UPDATE balances SET balance = '0.01' WHERE rowid = (SELECT min(rowid) FROM balances)")
    failed = invoke(home, "reconcile", "--freeze-on-failure", "--report", str(report))
    assert failed.exit_code == 1, failed.output
    found = json.loads(report.read_text())["discrepancies_found"]
    state = store_of(home).intake()
    assert state.frozen and state.changed_by == "reconciliation"
    assert f"reconciliation found {found} discrepanc" in state.reason and str(report) in state.reason
    assert "Intake frozen" in failed.output and "receipts intake resume" in failed.output
    refused = invoke(home, "run", "--input", str(events))
    assert refused.exit_code == 1 and "intake is frozen" in refused.output

    without_flag = tmp_path / "home2"
    assert invoke(without_flag, "run", "--input", str(events)).exit_code == 0
    with sqlite3.connect(without_flag / "receipts.db", isolation_level=None) as db:
        db.execute("UPDATE balances SET balance = '0.01' WHERE rowid = (SELECT min(rowid) FROM balances)")
    assert invoke(without_flag, "reconcile").exit_code == 1
    assert store_of(without_flag).intake().frozen is False  # only --freeze-on-failure freezes
