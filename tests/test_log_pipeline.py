"""The log in the jobs and the command: the batch job ends with a checkpoint of everything it
stored, the streaming step integrates at start and then once per interval of processing
time (TestStream on the BundleBasedDirectRunner, as the job runs), and `receipts log
integrate` logs a home's receipts from before the log existed; a home keeps one origin and
one key, and a run that cannot log what it stored exits 1 saying what finishes the job."""

import json
import os
import stat
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue
from click.testing import CliRunner

from pipelines import batch
from pipelines.local_runner import prepare_direct_runner
from receipts.stores.log_files import FolderLogFiles
from receipts.stores.log_signers import create_key_file
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.note_keys import NoteVerifier, parse_private_key
from receipts.tlog.stored import tree_hash
from receipts.tlog.tile_reader import TileHashReader
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.test_archive_outbox import chain
from transforms.log import LogEvery, LogTarget

ORIGIN = "receipts.test/log"


def key_url(folder: Path) -> str:
    create_key_file(folder / "log.key", ORIGIN)
    return (folder / "log.key").as_uri()


def verifier(folder: Path) -> NoteVerifier:
    return NoteVerifier(parse_private_key((folder / "log.key").read_text()).public)


def assert_tiles_make_the_checkpoint(store: SqliteStore, files: FolderLogFiles, verify: NoteVerifier) -> int:
    checkpoint, _ = open_checkpoint(store.latest_checkpoint(), [verify], ORIGIN)
    reader = TileHashReader(checkpoint.size, checkpoint.root, lambda tile: files.read(tile.path) or b"")
    assert tree_hash(checkpoint.size, reader) == checkpoint.root
    return checkpoint.size


class StoreReceipts(beam.DoFn):
    """What the charging steps do before the log sees a receipt: it is stored."""

    def __init__(self, url: str) -> None:
        self.url = url

    def process(self, receipt):
        SqliteStore(self.url).write_receipts([receipt])
        yield receipt


@pytest.mark.beam
def test_the_streaming_step_integrates_at_start_and_each_interval_of_processing_time(tmp_path: Path, signer) -> None:
    url = f"sqlite:///{tmp_path / 'receipts.db'}"
    store = SqliteStore(url)
    a, b = chain(signer, "a", 3), chain(signer, "b", 4)
    store.write_receipts(a[:1])  # stored by a job that died before logging it
    target = LogTarget(url, str(tmp_path / "log"), ORIGIN, key_url(tmp_path))
    stream = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements([TimestampedValue(r, 1) for r in a[1:]])
        .advance_processing_time(11)
        .add_elements([TimestampedValue(r, 2) for r in b])
        .advance_processing_time(11)
        .advance_watermark_to_infinity()
    )
    prepare_direct_runner()
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    pipeline = TestPipeline(options=options)
    _ = pipeline | stream | "Store" >> beam.ParDo(StoreReceipts(url)) | "Log" >> LogEvery(target, interval_seconds=10)
    pipeline.run().wait_until_finish()

    signed = [size for (size,) in store._db.execute("SELECT size FROM log_checkpoints ORDER BY size")]
    assert signed == [1, 3, 7]  # at start (what was left), then one integration per interval
    assert store.unlogged_count() == 0
    assert assert_tiles_make_the_checkpoint(store, FolderLogFiles(tmp_path / "log"), verifier(tmp_path)) == 7


@pytest.mark.beam
def test_the_batch_job_ends_with_a_checkpoint_of_everything_it_stored(tmp_path: Path, keyring) -> None:
    events = tmp_path / "events.jsonl"
    lines = [event_bytes(idempotent_key=f"k{n}", customer_id=f"c{n % 3}") for n in range(20)]
    events.write_bytes(b"\n".join(lines) + b"\n")
    url = f"sqlite:///{tmp_path / 'receipts.db'}"
    settings = batch.Settings(
        str(events),
        url,
        str(keyring.folder),
        keyring.current_kid,
        str(tmp_path / "archive"),
        log_origin=ORIGIN,
        log_signer=key_url(tmp_path),
    )
    batch.run(settings)
    store = SqliteStore(url)
    files = FolderLogFiles(tmp_path / "archive" / "log")
    assert assert_tiles_make_the_checkpoint(store, files, verifier(tmp_path)) == 20 == store.count_receipts()
    assert files.read("checkpoint") == store.latest_checkpoint()


def invoke(home: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--home", str(home), *args], env=env, catch_exceptions=False)


def test_log_integrate_logs_a_homes_receipts_from_before_the_log(tmp_path: Path, signer) -> None:
    home = tmp_path / "home"
    store = SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}")
    receipts = [*chain(signer, "a", 300), *chain(signer, "b", 2)]  # stored before the log existed
    store.write_receipts(receipts[:300])
    store.write_receipts(receipts[300:])
    before = json.loads(invoke(home, "log", "info", "--json").output)
    assert (before["size"], before["unlogged"], before["checkpoint"]) == (0, 302, None)

    result = invoke(home, "log", "integrate")
    assert result.exit_code == 0, result.output
    assert "holds 302 receipt(s) (302 new)" in result.output and "OK" in result.output
    after = json.loads(invoke(home, "log", "info", "--json").output)
    assert (after["size"], after["unlogged"], after["origin"]) == (302, 0, before["origin"])
    assert after["origin"].startswith("receipts.local/") and after["vkey"] == before["vkey"]
    checkpoint, _ = open_checkpoint(after["checkpoint"].encode(), [NoteVerifier.from_vkey(after["vkey"])])
    files = FolderLogFiles(home / "archive" / "log")
    reader = TileHashReader(checkpoint.size, checkpoint.root, lambda tile: files.read(tile.path) or b"")
    assert tree_hash(checkpoint.size, reader) == checkpoint.root
    assert stat.S_IMODE(os.stat(home / "log" / "log.key").st_mode) == 0o600
    shown = invoke(home, "log", "info").output
    assert after["vkey"] in shown.replace("\n", "") and "Latest checkpoint" in shown
    assert invoke(home, "log", "integrate").output.count("(0 new)") == 1  # again: nothing twice


def test_a_store_keeps_its_origin_whatever_the_command_line_says(tmp_path: Path, signer) -> None:
    home = tmp_path / "home"
    SqliteStore(f"sqlite:///{(home / 'receipts.db').resolve()}").write_receipts(chain(signer, "a", 2))
    assert invoke(home, "log", "integrate").exit_code == 0
    origin = (home / "log" / "origin").read_text().strip()
    result = invoke(home, "--log-origin", "billing.example/log", "log", "integrate")
    assert result.exit_code == 2 and f"the store's log is '{origin}'" in result.output
    refused = invoke(home, "log", "integrate", env={"RECEIPTS_LOG_ORIGIN": "has space"})
    assert refused.exit_code == 2 and "no spaces" in refused.output


def test_a_run_that_cannot_log_what_it_stored_exits_1_and_says_what_finishes_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(event_bytes(idempotent_key=f"k{n}") for n in range(3)) + b"\n")
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    (home / "receipts.db").unlink()  # the store reset, the archive's log kept: other receipts, other tiles
    for name in ("receipts.db-wal", "receipts.db-shm"):
        (home / name).unlink(missing_ok=True)
    result = invoke(home, "run", "--input", str(events))
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "3 receipt(s) are stored but not in the transparency log" in text  # none appended: no fork signed
    assert "LogFileConflict" in text and "`receipts restore` rebuilds the store's log" in text
