"""The reconciliation's log check: every stored receipt a leaf exactly once with its hash as
the entry, leaves naming no unknown receipt, and the latest checkpoint made by the store's
hashes and by the published tiles; what the log has not reached yet is set aside, never a
discrepancy."""

import json
from pathlib import Path

from click.testing import CliRunner

from receipts.reconciliation.log import (
    NOT_YET_LOGGED,
    NOT_YET_SIGNED,
    LaterReads,
    Leaf,
    LogTree,
    StoredReceipt,
    check_log_tree,
    check_logged,
    check_shard,
    shard_count,
    shard_of,
)
from receipts.stores.sqlite import SqliteStore
from receipts_cli.main import main
from tests.conftest import event_bytes

HASH = "ab" * 32
ROOT = b"\x01" * 32


def rules(result) -> list[str]:
    return [discrepancy.rule for discrepancy in result.discrepancies]


def test_a_logged_receipt_holds_and_counts() -> None:
    result = check_logged("r_1", [StoredReceipt("c", 1, HASH, 1)], [Leaf(0, "r_1", bytes.fromhex(HASH), 0)])
    assert result.discrepancies == () and result.tally.checks["log"] == {
        "customers": 1,
        "receipts": 1,
        "discrepancies": 0,
    }


def test_a_receipt_past_its_mark_is_not_yet_logged() -> None:
    result = check_logged("r_2", [StoredReceipt("c", 2, HASH, 1)], [])
    assert result.discrepancies == () and result.tally.set_aside == {NOT_YET_LOGGED: 1}


def test_a_shard_adds_up_what_each_receipt_id_of_it_finds_and_asks_again_only_for_the_unmatched() -> None:
    stored = [("r_1", StoredReceipt("c", 1, HASH, 3)), ("r_2", StoredReceipt("c", 2, HASH, 3))]
    stored.append(("r_3", StoredReceipt("c", 3, HASH, 3)))
    leaves = [Leaf(0, "r_1", bytes.fromhex(HASH), 0), Leaf(1, "r_2", b"\0" * 32, 1), Leaf(2, "r_x", b"\0" * 32, 2)]
    asked: list[str] = []

    def later(receipt_id: str) -> LaterReads:
        asked.append(receipt_id)
        return LaterReads()

    result = check_shard(stored, leaves, later)
    assert sorted(asked) == ["r_3", "r_x"]  # missing from the log, and a leaf of nothing stored
    assert sorted((d.receipt_id, d.rule) for d in result.discrepancies) == [
        ("r_2", "entry"),
        ("r_3", "missing"),
        ("r_x", "unknown_receipt"),
    ]
    assert result.tally.checks["log"] == {"customers": 1, "receipts": 3, "discrepancies": 3}
    each = [check_logged(i, [s for r, s in stored if r == i], [x for x in leaves if x.receipt_id == i], LaterReads())
            for i in ("r_1", "r_2", "r_3", "r_x")]  # fmt: skip
    assert sorted(result.discrepancies, key=str) == sorted((d for r in each for d in r.discrepancies), key=str)


def test_shards_hold_about_4096_leaves_and_a_receipt_id_always_goes_to_the_same_one() -> None:
    assert [shard_count(size) for size in (0, 1, 4096, 4097, 20_000)] == [1, 1, 1, 2, 5]
    assert shard_of("r_abc", 5) == shard_of("r_abc", 5) < 5
    assert len({shard_of(f"r_{n}", 5) for n in range(100)}) == 5


def test_what_the_log_lost_or_changed_is_named() -> None:
    missing = check_logged("r_1", [StoredReceipt("c", 1, HASH, 3)], [], LaterReads())
    assert rules(missing) == ["missing"] and missing.discrepancies[0].receipt_id == "r_1"
    assert check_logged("r_1", [StoredReceipt("c", 1, HASH, 3)], [], LaterReads(leaf_index=9)).tally.set_aside
    changed = check_logged("r_1", [StoredReceipt("c", 1, HASH, 1)], [Leaf(4, "r_1", b"\0" * 32, 4)])
    assert rules(changed) == ["entry"] and "leaf 4" in changed.discrepancies[0].reason
    twice = check_logged("r_1", [StoredReceipt("c", 1, HASH, 1)], [Leaf(7, "r_1", bytes.fromhex(HASH))] * 2)
    assert rules(twice) == ["logged_twice"]
    unknown = check_logged("r_x", [], [Leaf(5, "r_x", b"\0" * 32, 5)], LaterReads())
    assert rules(unknown) == ["unknown_receipt"] and unknown.discrepancies[0].customer_id is None
    assert check_logged("r_x", [], [Leaf(5, "r_x", b"\0" * 32, 5)], LaterReads(stored=True)).discrepancies == ()
    unindexed = check_logged("r_1", [StoredReceipt("c", 1, HASH, 1)], [Leaf(3, "r_1", bytes.fromhex(HASH), None)])
    assert rules(unindexed) == ["leaf_index"] and "its leaf row says no leaf" in unindexed.discrepancies[0].reason


def test_the_tree_check() -> None:
    assert check_log_tree(LogTree(0, None, None, None, None)).discrepancies == ()
    whole = check_log_tree(LogTree(5, 5, ROOT, ROOT, ROOT, leaves_read=5))
    assert whole.discrepancies == () and whole.tally.set_aside == {}
    lagging = check_log_tree(LogTree(7, 5, ROOT, ROOT, ROOT, leaves_read=7))
    assert lagging.discrepancies == () and lagging.tally.set_aside == {NOT_YET_SIGNED: 2}
    assert check_log_tree(LogTree(3, None, None, None, None, leaves_read=3)).tally.set_aside == {NOT_YET_SIGNED: 3}
    assert rules(check_log_tree(LogTree(5, 5, ROOT, b"\2" * 32, ROOT, leaves_read=5))) == ["root"]
    assert rules(check_log_tree(LogTree(5, 5, ROOT, ROOT, "tile/0/000.p/5 does not hash", leaves_read=5))) == ["tiles"]
    assert rules(check_log_tree(LogTree(5, 6, ROOT, ROOT, ROOT, leaves_read=5))) == ["size"]
    assert rules(check_log_tree(LogTree(5, 5, ROOT, ROOT, ROOT, leaves_read=4))) == ["leaves"]


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def reconciled(home: Path) -> tuple[int, dict]:
    report = home.parent / "report.json"
    result = invoke(home, "reconcile", "--report", str(report))
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(report.read_text())


def test_reconcile_checks_the_log_and_names_what_was_tampered_with(tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        b"\n".join(event_bytes(idempotent_key=f"k{n}", customer_id=f"c{n % 2}") for n in range(6)) + b"\n"
    )
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    status, report = reconciled(home)
    assert status == 0 and report["checks"]["log"] == {"customers": 2, "receipts": 6, "discrepancies": 0}

    store = SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}")
    [(lost,)] = store._db.execute("SELECT receipt_id FROM log_leaves WHERE leaf_index = 2").fetchall()
    store._db.execute("DELETE FROM log_leaves WHERE leaf_index = 2")  # a leaf row gone
    store._db.execute("UPDATE log_leaves SET entry = zeroblob(32) WHERE leaf_index = 4")  # an entry changed
    tile = home / "archive" / "log" / "tile" / "0" / "000.p" / "6"
    tile.write_bytes(b"\0" * len(tile.read_bytes()))  # a published tile changed
    status, report = reconciled(home)
    found = {(d["rule"], d["receipt_id"]) for d in report["discrepancies"] if d["check"] == "log"}
    assert status == 1 and ("missing", lost) in found
    assert {rule for rule, _ in found} == {"missing", "entry", "leaves", "tiles"}, found
