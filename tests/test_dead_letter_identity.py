"""Dead letters are kept once per raw message and reason: a file's message ids are its line
numbers, so the same bad lines in another order must not add a second copy."""

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.stores.sqlite import SqliteStore
from receipts_cli.main import main
from tests.conftest import event_bytes

pytestmark = pytest.mark.beam

BAD_LINES = [
    b"{broken",
    b'["not", "an", "object"]',
    event_bytes(idempotent_key="neg", amount="-1.00"),
    event_bytes(idempotent_key="yen", amount="1.5", currency="JPY"),
    event_bytes(idempotent_key="when", timestamp="2026-01-25T10:00:00"),
    b"\xff\xfe not utf-8",
]


def run(home: Path, path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(home), "run", "--input", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_a_shuffled_replay_of_a_file_adds_no_dead_letter(home: Path, tmp_path: Path) -> None:
    first = tmp_path / "bad.jsonl"
    first.write_bytes(b"\n".join([event_bytes(idempotent_key="ok"), *BAD_LINES]) + b"\n")
    run(home, first)
    store = SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}")
    before = list(store.dead_letters())
    assert len(before) == len(BAD_LINES)

    shuffled = [*BAD_LINES, *BAD_LINES[:2]]  # every line at another position, two of them twice
    random.Random(14).shuffle(shuffled)
    again = tmp_path / "bad-shuffled.jsonl"
    again.write_bytes(b"\n".join(shuffled) + b"\n")
    run(home, again)
    after = list(store.dead_letters())
    assert after == before  # same ids, same first message ids (bad.jsonl:N)
    assert all(record["message_id"].startswith("bad.jsonl:") for record in after)
