"""`receipts restore` rebuilds the log's Spanner tables from the bucket's tiles (the emulators):
a store logged twice, wiped (Spanner and Firestore), restored; the log's rows come back as
they were (receipts past the idempotency TTL found in the ledger), the next integration
continues the same tree (consistency and inclusion proofs from the bucket's tiles); orphaned
tiles are adopted and a tampered tile is refused, with nothing of the log written."""

import json
from pathlib import Path

from click.testing import CliRunner
from google.cloud.spanner import KeySet

from receipts.stores.archiving import catch_up, open_writer
from receipts.stores.gcp.log_rows import STATE
from receipts.stores.log_files import tile_fetcher
from receipts.stores.log_sequencer import integrate_log
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.proofs import verify_consistency, verify_inclusion
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.tile_reader import TileHashReader
from receipts_cli.main import main
from tests.gcp.test_log_gcp import KEY, ORIGIN, log_files
from tests.test_archive_outbox import chain

LOG_TABLES = {
    "LogState": "SELECT Id, Origin, Size, RootHash, TilesSize FROM LogState",
    "LogMarks": "SELECT CustomerId, LoggedSequence FROM LogMarks",
    "LogLeaves": "SELECT ReceiptId, LeafIndex FROM LogLeaves",
    "LogHashes": "SELECT Chunk, Hashes FROM LogHashes",
    "LogBundles": "SELECT Bundle, Entries, ReceiptIds FROM LogBundles",
    "LogCheckpoints": "SELECT Size, Note FROM LogCheckpoints",
}
WIPED = ("ChainHeads", "IdempotencyKeys", "Balances", "EntitlementUsage", "ChargeCredits", "ArchiveMarks", *LOG_TABLES)


def stored_and_logged(cloud, signer, receipts) -> None:
    store = cloud.store()
    store.write_receipts(receipts)
    assert catch_up(store, open_writer(cloud.location.archive_url)).ok
    assert integrate_log(store, log_files(cloud), KEY, ORIGIN).ok
    store.close()


def made(cloud, signer) -> None:
    """Two customers, 275 receipts, two checkpoints (270 and 275)."""
    stored_and_logged(cloud, signer, [*chain(signer, "a", 200), *chain(signer, "b", 70)])
    stored_and_logged(cloud, signer, chain(signer, "b", 5, start=70))


def log_rows(cloud) -> dict[str, list]:
    with cloud.store()._database.snapshot(multi_use=True) as snapshot:
        return {name: sorted(map(repr, snapshot.execute_sql(sql))) for name, sql in LOG_TABLES.items()}


def wipe(cloud) -> None:
    store = cloud.store()
    for table in WIPED:
        store._database.execute_partitioned_dml(f"DELETE FROM {table} WHERE TRUE")
    for document in store._firestore.collection("receipts").stream():
        document.reference.delete()
    store.close()


def restore(cloud, tmp_path: Path, expected: int = 0) -> tuple[dict, str]:
    home = cloud.keys.folder.parent  # the session key ring's home: it signed the receipts
    report = tmp_path / "restore.json"
    args = ["--home", str(home), "--store", cloud.url, "restore", "--log-vkey", KEY.verifier.key.vkey]
    result = CliRunner().invoke(main, [*args, "--report", str(report)])
    assert result.exit_code == expected, result.output
    return json.loads(report.read_text()), result.output


def test_a_wiped_store_gets_its_log_back_and_continues_it(cloud, signer, tmp_path: Path) -> None:
    made(cloud, signer)
    before = log_rows(cloud)
    old_note = cloud.store().latest_checkpoint()
    old, _ = open_checkpoint(old_note, [KEY.verifier], ORIGIN)
    wipe(cloud)
    assert all(rows == [] for rows in log_rows(cloud).values())
    report, output = restore(cloud, tmp_path)
    assert report["ok"] and report["log"]["outcome"] == "rebuilt", output
    assert (report["log"]["size"], report["log"]["checkpoints"], report["log"]["customers"]) == (275, 2, 2)
    assert log_rows(cloud) == before

    stored_and_logged(cloud, signer, [*chain(signer, "a", 3, start=200), *chain(signer, "c", 2)])
    store = cloud.store()
    new, _ = open_checkpoint(store.latest_checkpoint(), [KEY.verifier], ORIGIN)
    assert new.size == 280 and store.checkpoint(275) == old_note
    path = prove_consistency(old.size, new.size, store.log_hash_reader())
    verify_consistency(old.size, new.size, path, old.root, new.root)
    tiles = TileHashReader(new.size, new.root, tile_fetcher(log_files(cloud)))
    for customer, sequence in (("a", 1), ("b", 75), ("a", 203), ("c", 1)):
        [receipt] = [r for r in store.receipts(customer) if r["sequence"] == sequence]
        index = store.log_leaf_index(receipt["receipt_id"])
        assert (index < old.size) == ((customer, sequence) in {("a", 1), ("b", 75)})
        proof = prove_inclusion(index, new.size, tiles)
        verify_inclusion(leaf_hash(bytes.fromhex(receipt["receipt_hash"])), index, new.size, proof, new.root)
    store.close()


def test_orphaned_tiles_are_adopted_and_a_tampered_tile_is_refused(cloud, signer, tmp_path: Path) -> None:
    made(cloud, signer)
    files = log_files(cloud)
    bucket = files.archive._bucket
    bucket.blob(f"{files.prefix}/checkpoints/275").delete()  # killed after the tiles, before the checkpoint
    wipe(cloud)
    report, output = restore(cloud, tmp_path)
    assert report["log"]["outcome"] == "rebuilt", output
    assert (report["log"]["signed"], report["log"]["size"], report["log"]["adopted"]) == (270, 275, 5)
    store = cloud.store()
    assert store.log_state().tiles_size == 270 and store.unlogged_count() == 0
    run = integrate_log(store, files, KEY, ORIGIN)  # the orphans are its own bytes: a replay, then the checkpoint
    assert run.ok and (run.logged, run.size) == (0, 275)
    store.close()

    tile = bucket.blob(f"{files.prefix}/tile/0/001.p/19")
    data = bytearray(tile.download_as_bytes())
    data[0] ^= 1
    tile.upload_from_string(bytes(data))  # the emulator's bucket has no retention lock
    wipe(cloud)
    report, output = restore(cloud, tmp_path, expected=1)
    assert report["log"]["outcome"] == "refused" and "tile/0/001.p/19" in report["log"]["reason"], output
    assert report["customers_restored"] == 2
    assert all(rows == [] for rows in log_rows(cloud).values())


def test_log_tables_back_from_an_older_backup_get_the_published_log(cloud, signer, tmp_path: Path) -> None:
    stored_and_logged(cloud, signer, [*chain(signer, "a", 200), *chain(signer, "b", 70)])
    columns = {"LogState": STATE, "LogMarks": ["CustomerId", "LoggedSequence"], "LogHashes": ["Chunk", "Hashes"]}
    columns["LogBundles"] = ["Bundle", "Entries", "ReceiptIds"]
    store = cloud.store()
    with store._database.snapshot(multi_use=True) as snapshot:  # the log's rows as a backup at 270 holds them
        backup = {
            table: [list(row) for row in snapshot.read(table, names, KeySet(all_=True))]
            for table, names in columns.items()
        }
    later = chain(signer, "b", 5, start=70)
    stored_and_logged(cloud, signer, later)
    after = log_rows(cloud)

    def back_to_the_backup(transaction) -> None:
        for table, rows in backup.items():
            transaction.delete(table, KeySet(all_=True))
            transaction.insert(table, columns[table], rows)
        transaction.delete("LogLeaves", KeySet(keys=[[receipt.receipt_id] for receipt in later]))
        transaction.delete("LogCheckpoints", KeySet(keys=[[275]]))

    store._database.run_in_transaction(back_to_the_backup)
    assert store.log_state().size == 270 and store.unlogged_count() == 5
    report, output = restore(cloud, tmp_path)
    assert report["log"]["outcome"] == "rebuilt" and report["log"]["replaced"] == 270, output
    assert log_rows(cloud) == after and store.unlogged_count() == 0
    store.close()
