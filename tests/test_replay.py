"""`receipts dead-letters replay` on the embedded store: parked events are charged once,
whatever is replayed twice; the rest is listed with why."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.events import IDEMPOTENCY_CONFLICT, MALFORMED_JSON, Event, parse_event
from receipts.records import INTAKE_FROZEN, DeadLetter, Message
from receipts.stores.sqlite import SqliteStore
from receipts_cli.home import Home
from receipts_cli.main import main
from receipts_cli.replay import ALREADY_CHARGED, NOT_CHARGED, NOT_REPLAYABLE, REPLAYED, replay_dead_letters
from tests.conftest import event_bytes, make_event
from transforms.sinks import refused_for_good

pytestmark = pytest.mark.beam


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so the report's table keeps each cell on one line. The consoles fix
    their width when made if COLUMNS is set then (pytest-xdist sets 80), so set it on them."""
    from receipts_cli.terminal import err, out

    for console in (out, err):
        monkeypatch.setattr(console, "_width", 300)


def invoke(home: Path, *args: str):
    """The command (on the wide terminal of the fixture above)."""
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def store_of(home: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}")


def refused(customer: str, keys: list[str], amount: str = "1.25") -> list[DeadLetter]:
    """receipt_conflict dead letters as the charge step makes them: events whose receipts
    the store kept refusing (another writer kept winning), so none of them was written."""
    letters = []
    for key in keys:
        raw = event_bytes(customer_id=customer, idempotent_key=key, amount=amount)
        letters.append(
            refused_for_good(
                Message(f"m-{key}", raw), make_event(customer_id=customer, idempotent_key=key, amount=amount), 5
            )
        )
    return letters


def frozen(customer: str, key: str, amount: str = "3.00", message_id: str = "pubsub-1") -> DeadLetter:
    raw = event_bytes(customer_id=customer, idempotent_key=key, amount=amount)
    return DeadLetter(INTAKE_FROZEN, "held while intake was frozen", raw, message_id, (), customer, key)


def charged(home: Path) -> list[tuple[str, str, int]]:
    return [(r["customer_id"], r["idempotent_key"], r["sequence"]) for r in store_of(home).receipts()]


@pytest.fixture
def parked(home: Path, tmp_path: Path, signer) -> Path:
    """A home with one charged event (cust_1 "held") and every kind of dead letter."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(event_bytes(customer_id="cust_1", idempotent_key="held", amount="10.00") + b"\n")
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    store = store_of(home)
    letters = [
        *refused("cust_1", ["late-1", "late-2"]),  # replayable: their keys are free
        frozen("cust_2", "f-1"),
        frozen("cust_2", "f-2", message_id="pubsub-2"),
        *refused("cust_1", ["held"], amount="10.00"),  # the same event is charged already
        *refused("cust_1", ["held"], amount="99.00"),  # its key holds a different event
        DeadLetter(MALFORMED_JSON, "not JSON", b"{broken", "events.jsonl:7"),
        DeadLetter(IDEMPOTENCY_CONFLICT, "other payload", event_bytes(idempotent_key="held"), "events.jsonl:8"),
    ]
    assert store.add_dead_letters(letters) == len(letters)
    return home


def rows(output: str) -> list[list[str]]:
    """The report table's rows: dead letter, reason, customer, key, outcome, why."""
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines() if "│" in line]
    return [row for row in cells if len(row) == 6 and row[0] != "dead letter"]


def outcomes(output: str) -> dict[str, int]:
    found = [row[4] for row in rows(output)]
    return {name: found.count(name) for name in (REPLAYED, ALREADY_CHARGED, NOT_REPLAYABLE, NOT_CHARGED)}


def test_replay_charges_parked_events_once_and_lists_the_rest_with_why(parked: Path) -> None:
    before = len(list(store_of(parked).dead_letters()))
    first = invoke(parked, "dead-letters", "replay")
    assert first.exit_code == 0, first.output
    assert outcomes(first.output) == {REPLAYED: 4, ALREADY_CHARGED: 1, NOT_REPLAYABLE: 3, NOT_CHARGED: 0}
    assert "the producer must fix" in first.output and "different event" in first.output
    assert "new idempotent_key" in first.output
    assert sorted(charged(parked)) == [
        ("cust_1", "held", 1),
        ("cust_1", "late-1", 2),
        ("cust_1", "late-2", 3),
        ("cust_2", "f-1", 1),
        ("cust_2", "f-2", 2),
    ]

    second = invoke(parked, "dead-letters", "replay")
    assert second.exit_code == 0, second.output
    assert outcomes(second.output) == {REPLAYED: 0, ALREADY_CHARGED: 5, NOT_REPLAYABLE: 3, NOT_CHARGED: 0}
    assert len(charged(parked)) == 5
    assert len(list(store_of(parked).dead_letters())) == before  # nothing parked again
    export = parked.parent / "export.jsonl"
    export.write_bytes(invoke(parked, "export").stdout_bytes)
    assert "OK 5 receipt(s) verified" in invoke(parked, "verify", str(export)).output


def test_a_dry_run_only_classifies(parked: Path) -> None:
    result = invoke(parked, "dead-letters", "replay", "--dry-run")
    assert result.exit_code == 0, result.output
    assert [row[4] for row in rows(result.output)].count("replayable") == 4
    assert "Dry run: nothing was replayed" in result.output
    assert charged(parked) == [("cust_1", "held", 1)]


def test_reason_and_id_narrow_the_selection(parked: Path) -> None:
    report = replay_dead_letters(Home(parked), reasons=[INTAKE_FROZEN], ids=[], dry_run=True)
    assert [item.letter.idempotent_key for item in report.parked] == ["f-1", "f-2"]
    [first] = [item.dead_letter_id for item in report.parked if item.letter.idempotent_key == "f-1"]
    result = invoke(parked, "dead-letters", "replay", "--id", first, "--id", "no-such-id")
    assert result.exit_code == 0, result.output
    assert "No dead letter has id no-such-id" in result.output
    assert sorted(charged(parked)) == [("cust_1", "held", 1), ("cust_2", "f-1", 1)]


def test_a_replay_that_dead_letters_again_stays_one_dead_letter(home: Path) -> None:
    """Two parked events under one key: the first charges, the second is an idempotency
    conflict; a second replay parks nothing new."""
    store = store_of(home)
    store.add_dead_letters([frozen("cust_3", "k", "1.00"), frozen("cust_3", "k", "2.00", "pubsub-2")])
    report = replay_dead_letters(Home(home), (), ())
    assert [item.outcome for item in report.parked] == [REPLAYED, NOT_CHARGED]
    assert "different event" in report.parked[1].why
    letters = list(store.dead_letters())
    assert [letter["reason"] for letter in letters] == [INTAKE_FROZEN, INTAKE_FROZEN, IDEMPOTENCY_CONFLICT]
    again = replay_dead_letters(Home(home), (), ())
    assert [item.outcome for item in again.parked] == [ALREADY_CHARGED, NOT_REPLAYABLE, NOT_REPLAYABLE]
    assert list(store.dead_letters()) == letters
    assert charged(home) == [("cust_3", "k", 1)]


def test_a_raw_message_with_a_newline_replays_whole(home: Path) -> None:
    raw = json.dumps(
        {
            "idempotent_key": "nl",
            "customer_id": "cust_4",
            "amount": "1.00",
            "currency": "USD",
            "timestamp": "2026-01-25T10:00:00Z",
            "usage_description": "two\nlines",
        },
        indent=1,
    ).encode()  # pretty-printed: newlines between the members too
    assert isinstance(parse_event(raw), Event)
    store_of(home).add_dead_letters([DeadLetter(INTAKE_FROZEN, "held", raw, "m-1", (), "cust_4", "nl")])
    assert invoke(home, "dead-letters", "replay").exit_code == 0
    [receipt] = store_of(home).receipts()
    assert receipt["usage_description"] == "two\nlines"


def test_replay_shows_dead_letter_text_as_text(home: Path) -> None:
    letter = DeadLetter("malformed_json", "x", b"{", "m\x1b[2J", (), "cust\u202e\x1b]0;pwned\x07", "[/bold]k")
    store_of(home).add_dead_letters([letter])
    result = invoke(home, "dead-letters", "replay")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output and "\x07" not in result.output
    assert "\\u202e" in result.output and "[/bold]k" in result.output


def test_replay_waits_for_no_other_run_on_the_home(parked: Path) -> None:
    with Home(parked).exclusive_run():
        result = invoke(parked, "dead-letters", "replay")
    assert result.exit_code == 1 and "already running" in result.output
    assert charged(parked) == [("cust_1", "held", 1)]


def test_topic_needs_a_google_cloud_store(parked: Path) -> None:
    result = invoke(parked, "dead-letters", "replay", "--topic", "billing-events")
    assert result.exit_code == 2 and "gcp://" in result.output


def test_the_listing_is_unchanged(parked: Path) -> None:
    lines = invoke(parked, "dead-letters").output.splitlines()
    assert len(lines) == 8 and all(json.loads(line)["dead_letter_id"] for line in lines)
