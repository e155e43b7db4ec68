"""`receipts log verify` on a home: the first look and the next pass and keep the state; a
tile changed on disk fails (exit 1); a checkpoint seen before that the log no longer
extends is reported as a fork with both notes (exit 2)."""

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts_cli.main import main
from tests.test_cli import write_events

pytestmark = pytest.mark.beam


def receipts(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    events = [
        json.dumps(
            {
                "idempotent_key": f"k{n}",
                "customer_id": "cust_1",
                "amount": "1.00",
                "currency": "USD",
                "timestamp": "2026-01-25T10:00:00Z",
            }
        ).encode()
        for n in range(300)
    ]
    ran = receipts(home, "run", "--input", str(write_events(tmp_path / "events.jsonl", events)))
    assert ran.exit_code == 0, ran.output
    return home


def test_a_home_log_is_verified_and_followed(home: Path) -> None:
    first = receipts(home, "log", "verify")
    assert first.exit_code == 0 and "300 leaves (the first look)" in " ".join(first.output.split())
    seen = json.loads((home / "log" / "monitor.json").read_text())
    assert seen["size"] == 300
    again = receipts(home, "log", "verify")
    assert again.exit_code == 0 and "0 new since the last look" in " ".join(again.output.split())


def test_a_changed_tile_fails(home: Path) -> None:
    tile = next(path for path in (home / "archive" / "log" / "tile" / "0").rglob("*") if path.is_file())
    data = tile.read_bytes()
    tile.chmod(0o644)
    tile.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    failed = receipts(home, "log", "verify")
    assert failed.exit_code == 1 and "does not check out" in failed.output


def test_a_history_that_no_longer_holds_is_a_fork_with_both_notes(home: Path) -> None:
    assert receipts(home, "log", "verify").exit_code == 0
    state = home / "log" / "monitor.json"
    seen = json.loads(state.read_text())
    seen["size"], seen["root"] = 200, base64.b64encode(b"\x07" * 32).decode()  # what a forked log showed us before
    state.write_text(json.dumps(seen))
    forked = receipts(home, "log", "verify")
    assert forked.exit_code == 2
    said = " ".join(forked.output.split())
    assert "a fork" in said and "The two signed checkpoints prove it" in said
    assert forked.output.count(seen["origin"] + "\n300\n") == 2  # the note seen before, and the log's latest
