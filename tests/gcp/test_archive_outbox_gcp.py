"""The archive's outbox on the emulators (Spanner marks and batches, Cloud Storage objects):
exactly once whatever the kill point, a replayed object told by its metadata (no download),
receipts past the idempotency TTL read from the ledger, and a stream that stops before its
archive window closes still archives everything, or exits 1 saying what is left."""

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner
from google.cloud import storage

from receipts.stores.archiving import catch_up
from receipts.stores.gcp.bucket_archive import SHA256_KEY, ArchiveOutcome, BucketArchive, BucketWriter
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.test_archive_outbox import chain


def archived_ids(cloud) -> list[str]:
    archive = BucketArchive(cloud.location.archive_url)
    return [json.loads(line)["receipt_id"] for name in archive.objects() for line in archive.read(name).splitlines()]


def test_the_spanner_outbox_archives_each_receipt_once_whatever_the_kill_point(cloud, signer) -> None:
    store = cloud.store()
    store.write_receipts(chain(signer, "a", 7))
    store.write_receipts(chain(signer, "b", 3))
    assert store.unarchived_count() == 10
    planned = store.plan_archive(max_receipts=4)  # killed after planning
    assert sorted((s.customer_id, s.first, s.last) for b in planned for s in b.spans) == [
        ("a", 1, 4),
        ("a", 5, 7),
        ("b", 1, 3),
    ]
    assert store.plan_archive() == []
    assert {b.batch_id for b in store.pending_archive_batches()} == {b.batch_id for b in planned}
    writer = BucketWriter(cloud.location.archive_url)
    writer.write_batch(planned[0], store.archive_lines(planned[0]))  # killed after writing, before finishing
    store.write_receipts(chain(signer, "a", 2, start=7))
    assert store.archived_through("a") == 0

    done = catch_up(store, writer)
    assert done.ok and done.receipts == 12 and done.new == 12 - planned[0].count
    ids = archived_ids(cloud)
    assert len(ids) == len(set(ids)) == 12
    assert len(BucketArchive(cloud.location.archive_url).objects()) == 4  # 3 planned + 1 for the newest two
    assert store.unarchived_count() == 0 and store.archived_through("a") == 9 and store.pending_archive_batches() == []
    store.close()


def test_receipts_past_the_idempotency_ttl_are_archived_from_the_ledger(cloud, signer) -> None:
    store = cloud.store()
    receipts = chain(signer, "old", 5)
    store.write_receipts(receipts)
    store._database.execute_partitioned_dml("DELETE FROM IdempotencyKeys WHERE CustomerId = 'old' AND Sequence <= 3")
    [batch] = store.plan_archive()
    assert store.archive_lines(batch) == [receipt.export_line() for receipt in receipts]
    store.close()


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def test_a_stream_stopped_before_its_window_closes_still_archives_everything(cloud, tmp_path: Path) -> None:
    home = cloud.keys.folder.parent
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(event_bytes(idempotent_key=f"k{n}", amount="1.00") for n in range(6)) + b"\n")
    assert invoke(home, "--store", cloud.url, "publish", "--input", str(events)).exit_code == 0
    result = invoke(home, "--store", cloud.url, "stream", "--until-receipts", "6", "--run-for", "300")  # 300 s window
    assert result.exit_code == 0, result.output
    assert sorted(archived_ids(cloud)) == sorted(
        json.loads(line)["receipt_id"] for line in invoke(home, "--store", cloud.url, "export").output.splitlines()
    )


def test_a_stream_that_cannot_archive_exits_1_and_names_what_is_left(cloud, tmp_path: Path) -> None:
    home = cloud.keys.folder.parent
    store_url = f"{cloud.url}?bucket=no-such-bucket-{cloud.project}"
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(event_bytes(idempotent_key=f"k{n}", amount="1.00") for n in range(4)) + b"\n")
    assert invoke(home, "--store", store_url, "publish", "--input", str(events)).exit_code == 0
    result = invoke(home, "--store", store_url, "stream", "--until-receipts", "4", "--run-for", "300")
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "4 receipt(s) are stored but not in the archive" in said and "archive catch-up` writes them" in said
    assert cloud.store().unarchived_count() == 4


def test_a_replayed_batch_is_told_by_the_objects_metadata_without_a_download(cloud, signer, monkeypatch) -> None:
    store = cloud.store()
    store.write_receipts(chain(signer, "m", 5))
    [batch] = store.plan_archive()
    writer = BucketWriter(cloud.location.archive_url)
    lines = store.archive_lines(batch)
    assert writer.write_batch(batch, lines) == 5
    blob = writer.archive._bucket.get_blob(writer.name(batch))
    assert blob.metadata == {SHA256_KEY: hashlib.sha256(b"".join(lines)).hexdigest()}
    old = writer.archive._bucket.blob("receipts/old-release.jsonl")
    old.upload_from_string(b"".join(lines), if_generation_match=0)  # as written before the sha256 metadata

    downloads: list[str] = []
    monkeypatch.setattr(storage.Blob, "download_as_bytes", lambda blob, *a, **k: downloads.append(blob.name))
    assert writer.write_batch(batch, lines) == 0  # killed after the write, before the finish: a replay
    outcome, _ = writer.archive.write_once("receipts/old-release.jsonl", b"".join(lines))
    assert outcome is ArchiveOutcome.ALREADY_ARCHIVED  # by Cloud Storage's MD5
    assert downloads == []
    store.close()
