"""The archive from the store's outbox (SQLite + folder): every stored receipt reaches the
archive exactly once whatever the kill point, a run that could not archive exits 1 and
names the command that finishes the job, and the reconciliation tells "not archived yet"
from "missing"."""

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.events import MAX_DESCRIPTION_CHARS, MAX_KEY_CHARS
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.rows import WriteOutcome
from receipts.stores.archive_plans import BATCH_RECEIPTS
from receipts.stores.archiving import CatchUp, FolderWriter, catch_up
from receipts.stores.folder_archive import read_archive
from receipts.stores.sqlite import SqliteStore
from receipts_cli.main import main
from tests.conftest import PROCESSED_AT, event_bytes, make_event


def chain(signer, customer: str, count: int, start: int = 0) -> list[SignedReceipt]:
    state = ChainState(customer)
    made = []
    for index in range(start + count):
        event = make_event(customer_id=customer, idempotent_key=f"k{index}", amount="1.25")
        chained = state.append(event, None, signer.kid, PROCESSED_AT)
        made.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return made[start:]


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")


def archived_ids(folder: Path) -> list[str]:
    return [record["receipt_id"] for record in read_archive(folder)]


class FailingWriter(FolderWriter):
    """Writes `allowed` batches, then fails like an outage."""

    def __init__(self, folder: Path, allowed: int) -> None:
        super().__init__(folder)
        self.allowed = allowed

    def write_batch(self, batch, lines) -> int:
        if self.allowed <= 0:
            raise ConnectionError("the archive is unreachable")
        self.allowed -= 1
        return super().write_batch(batch, lines)


def test_batches_cover_every_stored_receipt_once_and_are_pending_until_finished(store, signer) -> None:
    for customer, count in (("a", 7), ("b", 3), ("c", 12)):
        assert set(store.write_receipts(chain(signer, customer, count))) == {WriteOutcome.WRITTEN}
    assert store.unarchived_count() == 22
    batches = store.plan_archive(max_receipts=5)
    spans = sorted((s.customer_id, s.first, s.last) for b in batches for s in b.spans)
    assert spans == [("a", 1, 5), ("a", 6, 7), ("b", 1, 3), ("c", 1, 5), ("c", 6, 10), ("c", 11, 12)]
    assert all(b.count <= 5 and len({s.customer_id for s in b.spans}) == len(b.spans) for b in batches)
    assert store.plan_archive() == []  # planned once: the marks moved with the plan
    assert store.unarchived_count() == 22  # planned is not archived
    assert sorted(b.batch_id for b in store.pending_archive_batches()) == sorted(b.batch_id for b in batches)
    assert store.archived_through("a") == 0
    lines = store.archive_lines(batches[0])
    assert lines == store.archive_lines(batches[0])  # the same bytes every time
    first = batches[0]
    store.finish_archive_batch(first.batch_id)
    store.finish_archive_batch(first.batch_id)  # twice: nothing more
    assert store.unarchived_count() == 22 - first.count
    assert first.batch_id not in {b.batch_id for b in store.pending_archive_batches()}


def test_a_kill_at_any_point_of_a_catch_up_archives_everything_exactly_once(store, signer, tmp_path) -> None:
    folder = tmp_path / "archive"
    store.write_receipts(chain(signer, "a", 9))
    store.write_receipts(chain(signer, "b", 4))
    # killed after planning, before writing: the batches stay pending
    planned = store.plan_archive(max_receipts=4)
    # killed after writing one batch, before finishing it: it is written again, the same bytes
    FolderWriter(folder).write_batch(planned[0], store.archive_lines(planned[0]))
    # more receipts come in meanwhile
    store.write_receipts(chain(signer, "a", 2, start=9))
    done = catch_up(store, FolderWriter(folder))
    assert done.ok and done.receipts == 15
    assert done.new == 15 - planned[0].count  # the rewritten batch added nothing
    ids = archived_ids(folder)
    assert len(ids) == len(set(ids)) == 15
    assert store.unarchived_count() == 0 and store.archived_through("a") == 11
    assert catch_up(store, FolderWriter(folder)) == CatchUp()  # nothing left to do


def test_a_failed_write_leaves_its_batch_pending_for_the_next_catch_up(store, signer, tmp_path) -> None:
    folder = tmp_path / "archive"
    for customer in ("a", "b", "c"):
        store.write_receipts(chain(signer, customer, 3))
    failed = catch_up(store, FailingWriter(folder, allowed=1), max_receipts=3)
    assert not failed.ok and failed.batches == 1 and "unreachable" in failed.failed[0]
    assert store.unarchived_count() == 6
    again = catch_up(store, FolderWriter(folder), max_receipts=3)
    assert again.ok and again.receipts == 6
    assert sorted(archived_ids(folder)) == sorted(r.receipt_id for c in "abc" for r in chain(signer, c, 3))


def test_a_batch_object_stays_under_100_mb_however_large_its_receipts(signer) -> None:
    """Objects are bounded by count (BATCH_RECEIPTS); the event limits bound a receipt, so
    a batch of the largest receipts they allow stays under 100 MB."""
    state = ChainState("c" * 64)
    event = make_event(
        customer_id="c" * 64,
        idempotent_key="\U0001f600" * MAX_KEY_CHARS,  # printable, 4 bytes each in UTF-8
        usage_description="\x01" * MAX_DESCRIPTION_CHARS,  # 6 bytes each as a JSON escape
        entitlement_id="e" * 64,
        amount="9" * 15 + ".99",
    )
    chained = state.append(event, None, signer.kid, PROCESSED_AT)
    largest = SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]).export_line()
    typical = chain(signer, "cust_1", 1)[0].export_line()
    assert len(typical) < 2_000 and len(largest) < 20_000
    assert BATCH_RECEIPTS * len(largest) < 100_000_000


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def said(result) -> str:
    """The output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


def events_file(path: Path, count: int) -> Path:
    lines = [event_bytes(customer_id=f"cust_{n % 3}", idempotent_key=f"e{n}", amount="1.00") for n in range(count)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.beam
def test_a_rerun_archives_what_a_killed_run_stored(tmp_path: Path) -> None:
    """A run killed after its writes and before its archive left receipts in the store only;
    the rerun finds them all duplicates and still archives every one of them."""
    home = tmp_path / "home"
    events = events_file(tmp_path / "events.jsonl", 30)
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    for path in (home / "archive").glob("*.jsonl"):
        path.unlink()  # as if the first run had died before archiving
    store = SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}")
    store._db.execute("DELETE FROM archive_marks")
    assert store.unarchived_count() == 30

    lines = events.read_bytes().splitlines()
    random.Random(7).shuffle(lines)
    events.write_bytes(b"\n".join(lines) + b"\n")
    rerun = invoke(home, "run", "--input", str(events))
    assert rerun.exit_code == 0, rerun.output
    ids = archived_ids(home / "archive")
    assert len(ids) == len(set(ids)) == 30
    assert store.unarchived_count() == 0
    assert invoke(home, "reconcile").exit_code == 0


@pytest.mark.beam
def test_a_run_that_cannot_archive_exits_1_and_catch_up_finishes_the_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "archive").parent.mkdir(parents=True)
    (home / "archive").write_text("not a folder")  # every archive write fails
    events = events_file(tmp_path / "events.jsonl", 12)
    failed = invoke(home, "run", "--input", str(events))
    assert failed.exit_code == 1
    assert "12 receipt(s) are stored but not in the archive" in said(failed)
    assert "archive catch-up` writes them" in said(failed)
    assert invoke(home, "archive", "status").exit_code == 1

    reconciled = invoke(home, "reconcile", "--source", "store")
    assert reconciled.exit_code == 0, reconciled.output  # stored and queued for the archive: not a discrepancy

    (home / "archive").unlink()
    finished = invoke(home, "archive", "catch-up")
    assert finished.exit_code == 0, finished.output
    assert "Archived 12 receipt(s)" in said(finished)
    assert len(archived_ids(home / "archive")) == 12
    assert invoke(home, "archive", "status").exit_code == 0
    assert invoke(home, "reconcile").exit_code == 0


@pytest.mark.beam
def test_reconcile_sets_aside_what_the_outbox_holds_and_flags_what_the_archive_lost(tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = events_file(tmp_path / "events.jsonl", 9)
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    store = SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}")
    more = events_file(tmp_path / "more.jsonl", 12)
    # the receipts of the second run are stored, their archiving has not happened yet
    store._db.execute("UPDATE archive_marks SET planned_sequence = 3")
    for path in (home / "archive").glob("*.jsonl"):
        kept = [line for line in path.read_bytes().splitlines(keepends=True) if json.loads(line)["sequence"] <= 3]
        path.write_bytes(b"".join(kept))
    assert invoke(home, "run", "--input", str(more)).exit_code == 0  # its catch-up archives everything again
    report_path = tmp_path / "report.json"
    assert invoke(home, "reconcile", "--report", str(report_path)).exit_code == 0

    store._db.execute("UPDATE archive_marks SET planned_sequence = 2")  # the outbox says 3.. are not archived
    for path in (home / "archive").glob("*.jsonl"):
        kept = [line for line in path.read_bytes().splitlines(keepends=True) if json.loads(line)["sequence"] != 4]
        path.write_bytes(b"".join(kept))
    queued = invoke(home, "reconcile", "--report", str(report_path))
    assert queued.exit_code == 0, queued.output
    set_aside = json.loads(report_path.read_text())["set_aside"]
    assert set_aside["not_yet_archived"] == 3  # sequence 4 of each customer: past the mark, not in the archive

    store._db.execute("UPDATE archive_marks SET planned_sequence = 4")  # the outbox says they are archived
    lost = invoke(home, "reconcile", "--report", str(report_path))
    assert lost.exit_code == 1
    assert "missing from the archive" in said(lost)
