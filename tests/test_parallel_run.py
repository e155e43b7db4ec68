"""`receipts run` in two worker processes makes the same bytes as in one: receipts, dead
letters, the log's checkpoint and every archive file (pipelines/workers.py says why it can).

Both homes start as copies of one (the same signing key, log origin and log key), and both
runs fix processed_at (transforms.chain.FixedClock), the one input that depends on when a
receipt is made."""

import json
import os
import shutil
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from click.testing import CliRunner

from pipelines.workers import BackgroundRun, job_folder, worker_runner
from receipts_cli.console import run_pipeline
from receipts_cli.home import Home
from receipts_cli.main import main
from tests.conftest import event_bytes
from transforms.chain import FixedClock
from transforms.tally import TALLY_FOLDER_VARIABLE, TalliedCounter, read_tally

pytestmark = pytest.mark.beam

AT = "2026-01-25T12:00:00.000000Z"


def invoke(home: Path, *args: str) -> bytes:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def events() -> list[bytes]:
    """12 customers in two currencies, retries, conflicts, invalid lines, a credit."""
    lines = []
    for n in range(240):
        customer = f"cust_{n % 12:02d}"
        currency = "JPY" if n % 12 == 5 else "USD"
        amount = str(100 + n) if currency == "JPY" else f"{n % 37 + 1}.{n % 100:02d}"
        lines.append(
            event_bytes(
                idempotent_key=f"evt-{n}",
                customer_id=customer,
                amount=amount,
                currency=currency,
                timestamp=f"2026-01-25T{n % 24:02d}:{n % 60:02d}:00Z",
            )
        )
    lines += lines[::17]  # producer retries: duplicates
    lines += [event_bytes(idempotent_key="evt-3", customer_id="cust_03", amount="99.00")]  # a conflict
    lines += [b"{broken", b"[]", event_bytes(idempotent_key="neg", amount="-1.00", customer_id="cust_07")]
    return lines


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_two_workers_make_the_same_bytes_as_one(tmp_path: Path) -> None:
    first = tmp_path / "one"
    invoke(first, "keys", "list")  # the signing key
    invoke(first, "log", "info")  # the log's origin and key
    second = tmp_path / "two"
    shutil.copytree(first, second)
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(events()) + b"\n")

    counts = [
        run_pipeline(Home(home), str(source), workers=workers, clock=FixedClock(AT))
        for home, workers in ((first, 1), (second, 2))
    ]

    assert counts[0] == counts[1]
    assert counts[0]["receipts_written"] == 240
    assert counts[0]["receipts_logged"] == counts[0]["receipts_archived"] == 240
    receipts = invoke(first, "export")
    assert len(receipts.splitlines()) == 240
    assert invoke(second, "export") == receipts
    # dead letters: the same records; their order is the order they were stored in
    letters = [sorted(invoke(home, "dead-letters").splitlines()) for home in (first, second)]
    assert len(letters[0]) == 4 and letters[0] == letters[1]
    roots = [json.loads(invoke(home, "log", "info", "--json")) for home in (first, second)]
    assert roots[0]["size"] == 240 and roots[0]["root"] == roots[1]["root"]
    archived = files_under(first / "archive")
    assert any(name.startswith("log/") for name in archived)  # tiles and the checkpoint too
    assert files_under(second / "archive") == archived


def test_a_workers_tally_is_read_while_the_job_runs(tmp_path: Path) -> None:
    """A worker process's count reaches the launcher before the job ends: the worker's step
    waits until the launcher has seen it (a file the test writes only then)."""
    folder = job_folder()
    runner, options = worker_runner(2, folder)
    pipeline = beam.Pipeline(runner=runner, options=PipelineOptions([], **options))
    _ = pipeline | beam.Create([str(tmp_path / "seen")]) | beam.ParDo(CountThenWait())
    run = BackgroundRun(pipeline, folder)
    try:
        seen = False
        for _ in range(1200):
            if run.counts()["tally_probe"] == 1:
                seen = True
                break
            if run.wait_until_finish(100) is not None:
                break
    finally:
        (tmp_path / "seen").write_text("seen")
    run.wait_until_finish()
    assert seen
    assert run.counts()["tally_probe"] == 1  # the Beam counter, once the job is done
    assert TALLY_FOLDER_VARIABLE not in os.environ
    assert not folder.exists()  # removed once the job succeeded


class CountThenWait(beam.DoFn):
    """Counts its one element, then waits for the test to say it saw the count."""

    def __init__(self) -> None:
        self.probe = TalliedCounter("tally_probe")

    def process(self, seen_file: str):
        self.probe.inc()
        for _ in range(1200):  # at most a minute: the test fails, it does not hang
            if os.path.exists(seen_file):
                return
            time.sleep(0.05)


def test_the_tally_sums_every_process_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "1.json").write_text('{"events_valid": 3}')
    (tmp_path / "2.json").write_text('{"events_valid": 4, "receipts_written": 2}')
    (tmp_path / "3.json").write_text('{"events_va')  # never read half: skipped, not an error
    assert read_tally(tmp_path) == {"events_valid": 7, "receipts_written": 2}
    monkeypatch.delenv(TALLY_FOLDER_VARIABLE, raising=False)
    TalliedCounter("events_valid").inc()  # no job's tally: only the Beam counter
    assert read_tally(tmp_path) == {"events_valid": 7, "receipts_written": 2}


def test_a_small_file_runs_in_one_worker_and_a_large_one_on_every_core(monkeypatch) -> None:
    from pipelines import workers

    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    assert workers.default_workers(workers.PARALLEL_FROM - 1) == 1
    assert workers.default_workers(workers.PARALLEL_FROM) == 3
    assert workers.default_workers() == 3
