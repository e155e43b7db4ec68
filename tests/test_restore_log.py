"""`receipts restore` rebuilds the transparency log's tables of a home (SQLite, folder tiles):
a home charged and logged by the real batch job, its database deleted, restored from the
archive and the log's published files; then charged again. The log continues (the next leaf
is the published size, the same tree), old checkpoints are consistent with the new one,
proofs of old and new receipts hold; orphaned tiles (written, never signed for) are adopted;
a tampered tile, an entry that is no stored receipt and a published log the store's tables
do not match are refused with the reason, and nothing of the log is written then."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.stores.log_files import FolderLogFiles, tile_fetcher
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import Checkpoint, open_checkpoint
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.note_keys import NoteVerifier, generate_key, parse_private_key
from receipts.tlog.proofs import verify_consistency, verify_inclusion
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.tile_reader import TileHashReader
from receipts_cli.main import main
from tests.conftest import event_bytes

pytestmark = pytest.mark.beam
LOG_TABLES = ("log_state", "log_marks", "log_leaves", "log_hashes", "log_checkpoints")
CUSTOMERS = ("cust_a", "cust_b", "cust_c")


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def charge(home: Path, part: int, customers=CUSTOMERS, count: int = 4) -> None:
    """A batch run (it stores, archives and logs) of `count` new events per customer."""
    events = home.parent / f"events-{part}.jsonl"
    lines = [
        event_bytes(customer_id=customer, idempotent_key=f"p{part}-{n}", amount=f"{n + 1}.00")
        for customer in customers
        for n in range(count)
    ]
    events.write_bytes(b"\n".join(lines) + b"\n")
    result = invoke(home, "run", "--input", str(events))
    assert result.exit_code == 0, result.output


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "receipts.db", isolation_level=None)


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
    return json.loads(report.read_text()), result.output


def verifier(home: Path) -> NoteVerifier:
    return NoteVerifier(parse_private_key((home / "log" / "log.key").read_text()).public)


def signed(home: Path, size: int) -> Checkpoint:
    note = (home / "archive" / "log" / "checkpoints" / str(size)).read_bytes()
    return open_checkpoint(note, [verifier(home)])[0]


def latest(home: Path) -> int:
    return max(int(path.name) for path in (home / "archive" / "log" / "checkpoints").iterdir())


@pytest.fixture(scope="module")
def charged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home charged twice (two checkpoints), and a copy of its log folder after the first run."""
    home = tmp_path_factory.mktemp("restore-log") / "home"
    charge(home, 0)
    shutil.copytree(home / "archive" / "log", home.parent / "log-after-first-run")
    with sqlite3.connect(home.parent / "backup-after-first-run.db") as backup:
        db(home).backup(backup)
    charge(home, 1, count=90)  # past 256 leaves: a full tile and bundle, then partial ones
    return home


@pytest.fixture
def home(charged: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(charged, copy)
    shutil.copytree(charged.parent / "log-after-first-run", tmp_path / "log-after-first-run")
    shutil.copy(charged.parent / "backup-after-first-run.db", tmp_path / "backup-after-first-run.db")
    return copy


def test_a_wiped_home_gets_its_log_back_and_continues_it(home: Path) -> None:
    before = log_rows(home)
    old = signed(home, latest(home))
    assert old.size == 3 * 4 + 3 * 90
    wipe(home)
    report, output = restore(home)
    assert report["ok"] and report["log"]["outcome"] == "rebuilt", output
    assert (report["log"]["size"], report["log"]["signed"], report["log"]["adopted"]) == (old.size, old.size, 0)
    assert "Transparency log rebuilt" in output
    assert log_rows(home) == before  # hashes, leaves, marks, every checkpoint and the sequencer state

    charge(home, 2, customers=("cust_b", "cust_new"), count=3)
    new = signed(home, latest(home))
    assert new.size == old.size + 6
    store = SqliteStore(f"sqlite:///{home / 'receipts.db'}")
    reader = store.log_hash_reader()
    verify_consistency(old.size, new.size, prove_consistency(old.size, new.size, reader), old.root, new.root)
    tiles = TileHashReader(new.size, new.root, tile_fetcher(FolderLogFiles(home / "archive" / "log")))
    for customer in ("cust_a", "cust_b", "cust_new"):
        for receipt in store.receipts(customer):
            index = store.log_leaf_index(receipt["receipt_id"])
            assert index is not None and (index < old.size) == (receipt["idempotent_key"].startswith(("p0", "p1")))
            path = prove_inclusion(index, new.size, tiles)
            verify_inclusion(leaf_hash(bytes.fromhex(receipt["receipt_hash"])), index, new.size, path, new.root)
    store.close()
    assert invoke(home, "reconcile").exit_code == 0


def test_receipts_the_published_log_never_held_stay_unlogged_and_are_logged_after(home: Path) -> None:
    full = signed(home, latest(home))
    first = home.parent / "log-after-first-run"
    shutil.rmtree(home / "archive" / "log")
    shutil.copytree(first, home / "archive" / "log")  # the log as the first run left it
    wipe(home)
    report, output = restore(home)
    assert report["log"]["outcome"] == "rebuilt" and report["log"]["size"] == 12, output
    store = SqliteStore(f"sqlite:///{home / 'receipts.db'}")
    assert store.unlogged_count() == 3 * 90 and store.logged_through("cust_a") == 4
    store.close()
    assert invoke(home, "log", "integrate").exit_code == 0
    again = signed(home, latest(home))
    assert (again.size, again.root) == (full.size, full.root)  # the same tree as before the loss


def test_orphaned_tiles_are_adopted(home: Path) -> None:
    full = signed(home, latest(home))
    log = home / "archive" / "log"
    (log / "checkpoints" / str(full.size)).unlink()  # killed after the tiles, before the checkpoint
    (log / "checkpoint").write_bytes((log / "checkpoints" / "12").read_bytes())
    wipe(home)
    report, output = restore(home)
    assert report["log"]["outcome"] == "rebuilt", output
    assert (report["log"]["signed"], report["log"]["size"], report["log"]["adopted"]) == (12, full.size, full.size - 12)
    store = SqliteStore(f"sqlite:///{home / 'receipts.db'}")
    assert store.unlogged_count() == 0 and store.log_state().tiles_size == 12
    store.close()
    result = invoke(home, "log", "integrate")  # publishes nothing new (the orphans are its bytes) and signs
    assert result.exit_code == 0, result.output
    assert (signed(home, full.size).root, latest(home)) == (full.root, full.size)


def test_a_tampered_tile_is_refused(home: Path) -> None:
    tile = home / "archive" / "log" / "tile" / "0" / "000"
    data = bytearray(tile.read_bytes())
    data[40] ^= 1
    tile.write_bytes(bytes(data))
    wipe(home)
    report, output = restore(home, expected=1)
    assert not report["ok"] and report["customers_restored"] == 3  # the receipts are restored
    assert report["log"]["outcome"] == "refused" and "tile/0/000" in report["log"]["reason"], output
    assert "LOG NOT RESTORED" in output
    assert all(rows == [] for rows in log_rows(home).values())  # nothing of the log written


def test_a_leaf_that_is_no_stored_receipt_is_refused(home: Path) -> None:
    for path in (home / "archive").glob("*.jsonl"):  # the archive lost a customer
        lines = [line for line in path.read_bytes().split(b"\n") if b'"cust_c"' not in line]
        path.write_bytes(b"\n".join(lines))
    wipe(home)
    report, output = restore(home, expected=1)
    assert report["log"]["outcome"] == "refused", output
    assert "the hash of no receipt, statement or key document the store holds" in report["log"]["reason"]
    assert all(rows == [] for rows in log_rows(home).values())
    signed_before = sorted((home / "archive" / "log" / "checkpoints").iterdir())
    result = invoke(home, "log", "integrate")  # another tree under the published one's files: refused
    assert result.exit_code == 1 and "receipts restore` rebuilds the store's log" in " ".join(result.output.split())
    assert sorted((home / "archive" / "log" / "checkpoints").iterdir()) == signed_before  # no fork signed


def test_a_store_that_kept_its_log_is_left_alone_and_one_that_forked_is_refused(home: Path) -> None:
    before = log_rows(home)
    report, _ = restore(home)
    assert report["log"]["outcome"] == "intact" and log_rows(home) == before
    last = "(SELECT max(stored_index) FROM log_hashes)"  # a hash of the root's right edge
    db(home).execute(f"UPDATE log_hashes SET hash = zeroblob(32) WHERE stored_index = {last}")
    report, output = restore(home, expected=1)
    assert report["log"]["outcome"] == "refused" and "forked" in report["log"]["reason"], output


def test_the_logs_key_is_the_homes_or_given_and_another_key_is_refused(home: Path) -> None:
    vkey = verifier(home).key.vkey
    (home / "log" / "log.key").unlink()  # the home lost its log key: a restore makes none
    wipe(home)
    report, output = restore(home, expected=1)
    assert report["log"]["outcome"] == "refused" and "pass --log-vkey" in report["log"]["reason"], output
    assert not (home / "log" / "log.key").exists()
    origin = (home / "log" / "origin").read_text().strip()
    other = generate_key(origin).public.vkey  # the log's name, another key
    result = invoke(home, "restore", "--log-vkey", other)
    assert result.exit_code == 1 and "not a checkpoint signed by the log's key" in " ".join(result.output.split())
    result = invoke(home, "restore", "--log-vkey", vkey)
    assert result.exit_code == 0 and "Transparency log rebuilt" in result.output, result.output


def test_lost_log_tables_come_back_with_the_statements_marks(home: Path) -> None:
    closed = invoke(home, "statements", "close", "--period", "2026-01")
    assert closed.exit_code == 0, closed.output
    assert invoke(home, "log", "integrate").exit_code == 0  # the statements are leaves too
    before = log_rows(home)
    assert ("statements:cust_a", 1) in before["log_marks"]
    connection = db(home)
    for table in LOG_TABLES:  # the log's tables lost, the receipts and statements kept
        connection.execute(f"DELETE FROM {table}")
    report, output = restore(home)
    assert report["log"]["outcome"] == "rebuilt" and report["log"]["customers"] == 6, output
    assert log_rows(home) == before


def test_log_restore_runs_the_last_step_alone(home: Path) -> None:
    before = log_rows(home)
    connection = db(home)
    for table in LOG_TABLES:
        connection.execute(f"DELETE FROM {table}")
    result = invoke(home, "log", "restore")
    assert result.exit_code == 0 and "Transparency log rebuilt" in result.output, result.output
    assert log_rows(home) == before
    again = invoke(home, "log", "restore")
    assert again.exit_code == 0 and "is the published one: kept" in again.output


def test_a_store_back_from_an_older_backup_gets_the_published_log(home: Path) -> None:
    before = log_rows(home)
    wipe(home)
    shutil.copy(home.parent / "backup-after-first-run.db", home / "receipts.db")  # the log tables hold 12 leaves
    report, output = restore(home)
    assert report["log"]["outcome"] == "rebuilt" and report["log"]["replaced"] == 12, output
    assert report["log"]["size"] == 282 and log_rows(home) == before
    result = invoke(home, "log", "integrate")
    assert result.exit_code == 0 and "(0 new)" in result.output, result.output
