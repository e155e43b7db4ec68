"""`receipts dead-letters replay --topic` on the emulators: parked events are published to
the topic a streaming job reads, and that job charges each once, however often they were
replayed; the dead letters' Firestore ids keep one copy per raw message."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.local_runner import stop
from pipelines.streaming import start
from receipts.records import INTAKE_FROZEN, DeadLetter
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.gcp.test_streaming import settings_for, wait_for


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so the report's table keeps each cell on one line. The consoles fix
    their width when made if COLUMNS is set then (pytest-xdist sets 80), so set it on them."""
    from receipts_cli.terminal import err, out

    for console in (out, err):
        monkeypatch.setattr(console, "_width", 300)


def frozen(customer: str, key: str, message_id: str) -> DeadLetter:
    raw = event_bytes(customer_id=customer, idempotent_key=key, amount="2.00")
    return DeadLetter(INTAKE_FROZEN, "held while intake was frozen", raw, message_id, (), customer, key)


def replay(cloud, home: Path, *args: str):
    result = CliRunner().invoke(
        main,
        ["--home", str(home), "--store", cloud.url, "dead-letters", "replay", *args],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_replay_to_the_topic_is_charged_once_by_the_streaming_job(cloud, tmp_path: Path) -> None:
    store = cloud.store()
    parked = [frozen("cust_1", "p-1", "m-1"), frozen("cust_1", "p-2", "m-2"), frozen("cust_2", "p-3", "m-3")]
    bad = DeadLetter("malformed_json", "not JSON", b"{broken", "m-4")
    assert store.add_dead_letters([*parked, bad]) == 4
    home = tmp_path / "home"

    dry = replay(cloud, home, "--topic", "billing-events", "--dry-run")
    assert dry.count("│ replayable ") == 3 and "│ not replayable " in dry
    for _ in range(2):  # replayed twice before any job ran: published twice, charged once
        output = replay(cloud, home, "--topic", "billing-events")
        assert output.count("│ published ") == 3 and "the streaming job charges them once" in output

    job = start(settings_for(cloud))
    try:
        wait_for(lambda: sum(1 for _ in store.receipts()) == 3, what="a receipt for every parked event")
        wait_for(lambda: _duplicates(job) >= 3, what="the second copies, as duplicates")
    finally:
        stop(job)
    receipts = list(store.receipts())
    assert sorted((r["customer_id"], r["idempotent_key"]) for r in receipts) == [
        ("cust_1", "p-1"),
        ("cust_1", "p-2"),
        ("cust_2", "p-3"),
    ]
    assert len(list(store.dead_letters())) == 4

    again = replay(cloud, home, "--topic", "billing-events")
    assert again.count("│ already charged ") == 3 and "│ published " not in again


def _duplicates(job) -> int:
    from receipts_cli.console import pipeline_counts

    return pipeline_counts(job)["duplicates"]


def test_replay_without_a_topic_charges_through_the_batch_steps_into_spanner(cloud, tmp_path: Path) -> None:
    store = cloud.store()
    assert store.add_dead_letters([frozen("cust_1", "b-1", "m-1"), frozen("cust_1", "b-2", "m-2")]) == 2
    home = tmp_path / "home"
    assert replay(cloud, home).count("│ replayed ") == 2
    assert replay(cloud, home).count("│ already charged ") == 2
    receipts = list(store.receipts())
    assert [(r["idempotent_key"], r["sequence"]) for r in receipts] == [("b-1", 1), ("b-2", 2)]
    assert store.balances()[0].balance == "4.00"
