"""The log from the store (SQLite + a folder): every stored receipt is a leaf exactly once
whatever the kill point, in customer-then-sequence order within an append; each tile and
bundle path is written once and read back through receipts.tlog's TileHashReader to the
signed root; checkpoints are kept by size, consistent with each other, and a store's log
keeps its origin."""

import threading
from pathlib import Path

import pytest

from receipts.stores.log_files import FolderLogFiles, LogFileConflict
from receipts.stores.log_sequencer import LogOriginMismatch, integrate_log
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import Checkpoint, open_checkpoint
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.note_keys import NoteSigner, generate_key
from receipts.tlog.proofs import verify_consistency, verify_inclusion
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.tile_reader import TileHashReader
from receipts.tlog.tiles import parse_entry_bundle, parse_tile_path
from tests.test_archive_outbox import chain

ORIGIN = "receipts.local/test"
KEY = NoteSigner(generate_key(ORIGIN))


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")


@pytest.fixture
def files(tmp_path: Path) -> FolderLogFiles:
    return FolderLogFiles(tmp_path / "archive" / "log")


def opened(note: bytes) -> Checkpoint:
    checkpoint, _ = open_checkpoint(note, [KEY.verifier], ORIGIN)
    return checkpoint


def tile_reader(files: FolderLogFiles, checkpoint: Checkpoint) -> TileHashReader:
    """The published tiles, each checked against the signed root, as any client reads them."""
    return TileHashReader(checkpoint.size, checkpoint.root, lambda tile: files.read(tile.path) or b"")


def published_entries(files: FolderLogFiles, size: int) -> list[bytes]:
    """The log's entries from its entry bundles (full ones, then the partial one of `size`)."""
    entries = []
    for n in range(0, size, 256):
        width = min(256, size - n)
        path = f"tile/entries/{n // 256:03d}" + (f".p/{width}" if width < 256 else "")
        entries += parse_entry_bundle(files.read(path), width)
    return entries


def assert_whole_log(store: SqliteStore, files: FolderLogFiles, receipts) -> Checkpoint:
    """Every stored receipt is one leaf; the published tiles make the signed root; every
    receipt's inclusion proof from the tiles verifies."""
    checkpoint = opened(store.latest_checkpoint())
    assert checkpoint.size == len(receipts) and store.unlogged_count() == 0
    indexes = {receipt.receipt_id: store.log_leaf_index(receipt.receipt_id) for receipt in receipts}
    assert sorted(indexes.values()) == list(range(len(receipts)))  # each receipt once, no gap
    entries = published_entries(files, checkpoint.size)
    reader = tile_reader(files, checkpoint)
    for receipt in receipts:
        index = indexes[receipt.receipt_id]
        assert entries[index] == bytes.fromhex(receipt.chained.receipt_hash)
        assert store.log_leaf(index) == receipt.receipt_id
        path = prove_inclusion(index, checkpoint.size, reader)
        assert path == prove_inclusion(index, checkpoint.size, store.log_hash_reader())
        verify_inclusion(leaf_hash(entries[index]), index, checkpoint.size, path, checkpoint.root)
    return checkpoint


def test_every_stored_receipt_is_one_leaf_in_customer_then_sequence_order(store, files, signer) -> None:
    receipts = [*chain(signer, "b", 3), *chain(signer, "a", 4)]
    store.write_receipts(receipts)
    run = integrate_log(store, files, KEY, ORIGIN)
    assert run.ok and run.logged == 7 and run.appends == 1 and run.size == 7
    order = [store.log_leaf(index) for index in range(7)]
    assert order == [r.receipt_id for r in receipts[3:]] + [r.receipt_id for r in receipts[:3]]  # a, then b
    assert_whole_log(store, files, receipts)
    assert store.logged_through("a") == 4 and store.logged_through("b") == 3 and store.logged_through("c") == 0


def test_a_second_integration_appends_only_what_is_new(store, files, signer) -> None:
    store.write_receipts(chain(signer, "a", 300))
    first = integrate_log(store, files, KEY, ORIGIN, max_entries=128)
    assert (first.logged, first.appends, first.size) == (300, 3, 300)
    store.write_receipts(chain(signer, "a", 5, start=300))
    store.write_receipts(chain(signer, "b", 2))
    second = integrate_log(store, files, KEY, ORIGIN)
    assert (second.logged, second.size) == (7, 307)
    assert integrate_log(store, files, KEY, ORIGIN).logged == 0  # nothing new: no new leaf, no file
    assert_whole_log(store, files, [*chain(signer, "a", 305), *chain(signer, "b", 2)])
    old, new = opened(store.checkpoint(300)), opened(store.checkpoint(307))
    verify_consistency(300, 307, prove_consistency(300, 307, store.log_hash_reader()), old.root, new.root)
    assert files.read("checkpoint") == store.latest_checkpoint() == store.checkpoint(307)
    assert files.read("checkpoints/300") == store.checkpoint(300)


def test_killed_after_the_commit_before_the_tiles_the_next_run_publishes_them(store, files, signer) -> None:
    receipts = chain(signer, "a", 270)
    store.write_receipts(receipts)
    store.ensure_log(ORIGIN)
    appended = store.append_log(ORIGIN, 1000)  # committed; the process dies before any file
    assert appended.integration.size == 270 and store.log_state().tiles_size == 0
    assert store.latest_checkpoint() is None and files.read("tile/0/000") is None
    store.write_receipts(chain(signer, "b", 3))  # stored meanwhile: the next append goes past tile 0/000
    run = integrate_log(store, files, KEY, ORIGIN)
    assert run.ok and run.logged == 3 and store.log_state().tiles_size == 273
    assert files.read("tile/0/000") is not None  # the full tile the killed append completed
    assert store.checkpoint(270) is None  # never signed: nothing was published for it
    assert_whole_log(store, files, [*receipts, *chain(signer, "b", 3)])


def test_killed_after_the_tiles_before_the_checkpoint_the_next_run_signs_it(store, files, signer) -> None:
    receipts = chain(signer, "a", 5)
    store.write_receipts(receipts)
    store.ensure_log(ORIGIN)
    appended = store.append_log(ORIGIN, 1000)
    files.write_all(appended.integration.files())
    store.mark_log_published(0, 5)  # the process dies before signing
    assert store.latest_checkpoint() is None
    run = integrate_log(store, files, KEY, ORIGIN)
    assert run.ok and run.logged == 0 and run.files == 0  # the tiles were out: none written again
    assert opened(run.checkpoint).size == 5
    assert_whole_log(store, files, receipts)


def test_a_replay_of_every_file_writes_nothing_and_a_changed_file_is_refused(store, files, signer) -> None:
    store.write_receipts(chain(signer, "a", 5))
    integrate_log(store, files, KEY, ORIGIN)
    state = store.log_state()
    store._db.execute("UPDATE log_state SET tiles_size = 0")  # as if killed before marking: all again
    again = integrate_log(store, files, KEY, ORIGIN)
    assert again.ok and again.files == 0 and store.log_state() == state
    tile = files.folder / "tile/0/000.p/5"
    tile.write_bytes(b"\0" * len(tile.read_bytes()))  # another log's tile, or a tampered one
    store._db.execute("UPDATE log_state SET tiles_size = 0")
    refused = integrate_log(store, files, KEY, ORIGIN)
    assert not refused.ok and "LogFileConflict" in refused.failed[0] and "move the folder aside" in refused.failed[0]
    assert tile.read_bytes() == b"\0" * 160  # never overwritten
    with pytest.raises(LogFileConflict):
        files.write_once("tile/0/000.p/5", b"x")


def test_a_checkpoint_is_kept_once_per_size(store, files, signer) -> None:
    store.write_receipts(chain(signer, "a", 2))
    note = integrate_log(store, files, KEY, ORIGIN).checkpoint
    other = NoteSigner(generate_key(ORIGIN))  # another key of the same name: never a second note for size 2
    assert integrate_log(store, files, other, ORIGIN).checkpoint == note
    assert store.add_checkpoint(2, b"anything") == note


def test_the_empty_log_has_a_checkpoint_of_size_zero(store, files) -> None:
    run = integrate_log(store, files, KEY, ORIGIN)
    assert run.ok and opened(run.checkpoint).size == 0 and store.log_state().origin == ORIGIN


def test_a_store_keeps_its_logs_origin(store, files, signer) -> None:
    store.write_receipts(chain(signer, "a", 2))
    integrate_log(store, files, KEY, ORIGIN)
    other = "receipts.local/other"
    refused = integrate_log(store, files, NoteSigner(generate_key(other)), other)
    assert not refused.ok and "LogOriginMismatch" in refused.failed[0]
    with pytest.raises(LogOriginMismatch, match="one store has one log"):
        store.ensure_log(other)
    with pytest.raises(ValueError, match="must agree"):
        integrate_log(store, files, KEY, other)
    with pytest.raises(ValueError, match="plus"):
        store.ensure_log("has+plus")


def test_sequencers_racing_on_one_store_log_each_receipt_once(tmp_path: Path, files, signer) -> None:
    url = f"sqlite:///{tmp_path / 'receipts.db'}"
    receipts = [receipt for n in range(12) for receipt in chain(signer, f"c{n:02}", 40)]
    SqliteStore(url).write_receipts(receipts)
    runs = []

    def sequencer() -> None:
        runs.append(integrate_log(SqliteStore(url), files, KEY, ORIGIN, max_entries=50))

    threads = [threading.Thread(target=sequencer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(run.ok for run in runs), [run.failed for run in runs]
    assert sum(run.logged for run in runs) == len(receipts)
    store = SqliteStore(url)
    checkpoint = assert_whole_log(store, files, receipts)
    for size in {run.size for run in runs}:  # every checkpoint signed is of the one tree
        old = opened(store.checkpoint(size))
        proof = prove_consistency(size, checkpoint.size, store.log_hash_reader())
        verify_consistency(size, checkpoint.size, proof, old.root, checkpoint.root)


def test_tile_paths_are_the_ones_clients_ask_for(store, files, signer) -> None:
    store.write_receipts(chain(signer, "a", 600))
    integrate_log(store, files, KEY, ORIGIN, max_entries=250)
    paths = sorted(p.relative_to(files.folder).as_posix() for p in files.folder.rglob("tile/**/*") if p.is_file())
    for path in paths:
        tile = parse_tile_path(path)  # the site's strict parser accepts every path we wrote
        assert files.read(path) is not None and (tile.width < 256) == (".p/" in path)
    assert {"tile/0/000", "tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2", "tile/entries/002.p/88"} <= set(paths)
