"""The log on the emulators (Spanner state, Cloud Storage tiles): every stored receipt one
leaf whatever the kill point, hashes and entries 256 to a row, each object created once and
read back through receipts.tlog's TileHashReader to the signed root, receipts past the
idempotency TTL logged from the ledger, and a stream that stops with a checkpoint."""

import json
from pathlib import Path

from click.testing import CliRunner
from google.cloud import storage

from receipts.stores.gcp.bucket_archive import SHA256_KEY
from receipts.stores.gcp.bucket_log import BucketLogFiles
from receipts.stores.log_files import LogFileConflict
from receipts.stores.log_locations import log_url
from receipts.stores.log_sequencer import integrate_log
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.note_keys import NoteSigner, NoteVerifier, generate_key
from receipts.tlog.proofs import verify_inclusion
from receipts.tlog.proving import prove_inclusion
from receipts.tlog.tile_reader import TileHashReader
from receipts.tlog.tiles import parse_entry_bundle
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.test_archive_outbox import chain

ORIGIN = "billing.test/log"
KEY = NoteSigner(generate_key(ORIGIN))


def log_files(cloud) -> BucketLogFiles:
    return BucketLogFiles(log_url(cloud.location.archive_url))


def assert_whole_log(store, files: BucketLogFiles, receipts) -> None:
    checkpoint, _ = open_checkpoint(store.latest_checkpoint(), [KEY.verifier], ORIGIN)
    assert checkpoint.size == len(receipts) and store.unlogged_count() == 0
    reader = TileHashReader(checkpoint.size, checkpoint.root, lambda tile: files.read(tile.path) or b"")
    entries = []
    for n in range(0, checkpoint.size, 256):
        width = min(256, checkpoint.size - n)
        entries += parse_entry_bundle(
            files.read(f"tile/entries/{n // 256:03d}" + (f".p/{width}" if width < 256 else ""))
        )
    indexes = {receipt.receipt_id: store.log_leaf_index(receipt.receipt_id) for receipt in receipts}
    assert sorted(indexes.values()) == list(range(len(receipts)))
    for receipt in receipts:
        index = indexes[receipt.receipt_id]
        assert (
            entries[index] == bytes.fromhex(receipt.chained.receipt_hash)
            and store.log_leaf(index) == receipt.receipt_id
        )
        path = prove_inclusion(index, checkpoint.size, reader)
        assert path == prove_inclusion(index, checkpoint.size, store.log_hash_reader())
        verify_inclusion(leaf_hash(entries[index]), index, checkpoint.size, path, checkpoint.root)


def test_the_spanner_log_holds_each_receipt_once_whatever_the_kill_point(cloud, signer) -> None:
    store, files = cloud.store(), log_files(cloud)
    receipts = [*chain(signer, "b", 200), *chain(signer, "a", 130)]
    store.write_receipts(receipts[:200])
    store.write_receipts(receipts[200:])
    store.ensure_log(ORIGIN)
    appended = store.append_log(ORIGIN, 150)  # committed, killed before the tiles
    assert [leaf.customer_id for leaf in appended.leaves] == ["a"] * 130 + ["b"] * 20
    assert store.log_state().tiles_size == 0 and store.logged_through("a") == 130
    run = integrate_log(store, files, KEY, ORIGIN, max_entries=100)
    assert run.ok, run.failed
    assert (run.logged, run.size) == (180, 330)
    assert_whole_log(store, files, receipts)
    rows = store._query("SELECT Chunk, LENGTH(Hashes) FROM LogHashes ORDER BY Chunk")
    assert [length for _, length in rows[:-1]] == [256 * 32] * (len(rows) - 1)  # 256 hashes a row
    store.write_receipts(chain(signer, "a", 3, start=130))
    assert integrate_log(store, files, KEY, ORIGIN).logged == 3  # a partial bundle row grows
    assert_whole_log(store, files, [*receipts, *chain(signer, "a", 3, start=130)])
    store.close()


def test_log_objects_are_created_once_with_their_hash_and_never_replaced(cloud, signer) -> None:
    store, files = cloud.store(), log_files(cloud)
    store.write_receipts(chain(signer, "a", 3))
    integrate_log(store, files, KEY, ORIGIN)
    bucket = storage.Client(project="local-emulator").bucket(cloud.location.bucket)
    blob = bucket.get_blob("log/tile/0/000.p/3")
    assert blob.metadata[SHA256_KEY] and blob.cache_control.endswith("immutable")
    assert bucket.get_blob("log/checkpoints/3").download_as_bytes() == store.latest_checkpoint()
    assert not files.write_once("tile/0/000.p/3", blob.download_as_bytes())  # a replay
    try:
        files.write_once("tile/0/000.p/3", b"other")
        raise AssertionError("a changed tile was accepted")
    except LogFileConflict as error:
        assert "Nothing was overwritten" in str(error)
    store.close()


def test_receipts_past_the_idempotency_ttl_are_logged_from_the_ledger(cloud, signer) -> None:
    store = cloud.store()
    receipts = chain(signer, "old", 5)
    store.write_receipts(receipts)
    store._database.execute_partitioned_dml("DELETE FROM IdempotencyKeys WHERE CustomerId = 'old' AND Sequence <= 3")
    run = integrate_log(store, log_files(cloud), KEY, ORIGIN)
    assert run.ok and run.logged == 5
    assert_whole_log(store, log_files(cloud), receipts)
    store.close()


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def test_a_stream_stops_with_every_stored_receipt_in_a_checkpoint(cloud, tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(event_bytes(idempotent_key=f"k{n}", amount="1.00") for n in range(6)) + b"\n")
    assert invoke(home, "--store", cloud.url, "publish", "--input", str(events)).exit_code == 0
    result = invoke(home, "--store", cloud.url, "stream", "--until-receipts", "6", "--run-for", "300")
    assert result.exit_code == 0, result.output
    info = invoke(home, "--store", cloud.url, "log", "info", "--json")
    assert info.exit_code == 0, info.output
    described = json.loads(info.output)
    assert described["size"] == 6 and described["unlogged"] == 0
    store = cloud.store()
    checkpoint, _ = open_checkpoint(store.latest_checkpoint(), [NoteVerifier.from_vkey(described["vkey"])])
    assert checkpoint.size == 6 and checkpoint.origin == described["origin"]
    assert log_files(cloud).read("checkpoints/6") == store.latest_checkpoint()
    store.close()


def test_reconcile_checks_the_spanner_log_and_its_bucket_tiles(cloud, signer, tmp_path: Path) -> None:
    from tests.gcp.test_reconcile_gcp import reconcile

    store = cloud.store()
    receipts = [*chain(signer, "a", 4), *chain(signer, "b", 3)]
    store.write_receipts(receipts[:4])
    store.write_receipts(receipts[4:])
    assert integrate_log(store, log_files(cloud), KEY, ORIGIN).ok
    status, report, output = reconcile(cloud, tmp_path, "--source", "store")
    assert status == 0, output
    assert report["checks"]["log"] == {"customers": 2, "receipts": 7, "discrepancies": 0}

    lost = receipts[5].receipt_id
    store._database.execute_partitioned_dml(f"DELETE FROM LogLeaves WHERE ReceiptId = '{lost}'")
    status, report, output = reconcile(cloud, tmp_path, "--source", "store")
    found = {(d["rule"], d["receipt_id"]) for d in report["discrepancies"] if d["check"] == "log"}
    assert status == 1 and found == {("leaf_index", lost)}, output
    store.close()
