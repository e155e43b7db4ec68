"""The streaming log step (transforms.log.SequenceLog, behind LogEvery) run as Dataflow runs
it (tests/harness), after the charging steps: their bundles killed after their writes and
retried, the triggers reordered and redelivered, the sequencer's bundles killed after they
integrated, its integrations broken mid-way by outages (after the append's commit, after
some of the tiles, before the checkpoint is kept or published), its state only as its
coder's bytes, a job resumed from older state, two jobs on one store. After each: every
stored receipt one leaf, each exactly once; every checkpoint of one growing tree (the
sizes the store, the folder and the step's state hold only grow, each consistent with the
last); the published tiles recompute to the signed root."""

import random
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest

from receipts.keys import Jwks
from receipts.stores.keyring import KeyRing
from receipts.stores.log_files import FolderLogFiles, tile_fetcher
from receipts.stores.log_signers import create_key_file
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import Checkpoint, open_checkpoint
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.note_keys import NoteVerifier, parse_private_key
from receipts.tlog.proofs import ProofError, verify_consistency, verify_inclusion
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.stored import tree_hash
from receipts.tlog.tile_reader import TileHashReader
from receipts.tlog.tiles import parse_entry_bundle
from tests.harness.billing import ChargingJob, Stage, money_problems
from tests.harness.dataflow import MAIN, Faults, Outputs, StatefulStep
from tests.harness.delivery import ManualClock, Shuffle, deliveries
from tests.test_as_dataflow import events_of, published, stream
from transforms.log import SEQUENCER, LogTarget, SequenceLog

ORIGIN = "receipts.test/harness-log"
SEEDS = [1, 2, 3, 4, 5]
LATER = 10**12  # a processing time past every retry timer the step sets


class Outage(RuntimeError):
    """A call to the store or the log's files that failed (after what it already did)."""


class Outages:
    """Seeded outages inside integrations: the append commits and its answer is lost, part of
    the tiles are written, the checkpoint is signed but not kept, kept but not published."""

    def __init__(self, seed: int, rate: float) -> None:
        self.rng, self.rate, self.struck = random.Random(seed), rate, 0

    def strike(self) -> bool:
        if self.rng.random() < self.rate:
            self.struck += 1
            return True
        return False

    def instrument(self, dofn: beam.DoFn) -> None:
        dofn.store, dofn.files = _FlakyStore(dofn.store, self), _FlakyFiles(dofn.files, self)


class _FlakyStore:
    def __init__(self, store: Any, outages: Outages) -> None:
        self._store, self._outages = store, outages

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def append_log(self, origin: str, max_entries: int):
        appended = self._store.append_log(origin, max_entries)
        if appended is not None and self._outages.strike():
            raise Outage("the append committed; its answer was lost")
        return appended

    def add_checkpoint(self, size: int, note: bytes) -> bytes:
        if self._outages.strike():
            raise Outage("the signed checkpoint was never kept")
        return self._store.add_checkpoint(size, note)


class _FlakyFiles:
    def __init__(self, files: FolderLogFiles, outages: Outages) -> None:
        self._files, self._outages = files, outages

    def __getattr__(self, name: str) -> Any:
        return getattr(self._files, name)

    def write_all(self, files):
        if files and self._outages.strike():
            paths = sorted(files)
            self._files.write_all({path: files[path] for path in paths[: self._outages.rng.randrange(len(paths))]})
            raise Outage("the upload stopped part of the way")
        return self._files.write_all(files)

    def publish_checkpoint(self, size: int, note: bytes) -> None:
        if self._outages.strike():
            raise Outage("the checkpoint was kept, not published")
        self._files.publish_checkpoint(size, note)


class LoggedJob(ChargingJob):
    """The charging job with LogEvery's sequencer after it: one trigger (SEQUENCER, count)
    per committed bundle that stored receipts, and one at start, through a shuffle."""

    def __init__(self, *args, target: LogTarget, outages: Outages, **kwargs) -> None:
        self.target, self.outages = target, outages
        self.sizes: list[tuple[int, int, int]] = []  # after each sequencer bundle: store, folder, state
        super().__init__(*args, **kwargs)

    def build(self, signer_url: str, kid: str, faults: float, instrument) -> list[Stage]:
        stages = super().build(signer_url, kid, faults, instrument)
        sequencer = SequenceLog(self.target, retry_seconds=10)
        step = StatefulStep(sequencer, Faults(self.seed + 2, faults), instrument=self.outages.instrument)
        self.triggers = Shuffle(self.rng)
        self.triggers.put([(SEQUENCER, 0)])  # AtStart
        return [*stages, Stage("log", step, self.triggers, list, self._sequenced)]

    def _charged(self, out: Outputs) -> None:
        super()._charged(out)
        if out[MAIN]:
            self.triggers.put([(SEQUENCER, len(out[MAIN]))] * self.rng.choice([1, 1, 2]))  # some twice

    def _sequenced(self, out: Outputs) -> None:
        self.sizes.append(self.observed())

    def observed(self) -> tuple[int, int, int]:
        store = SqliteStore(self.store_url)
        try:
            latest = store.latest_checkpoint()
        finally:
            store.close()
        folder = FolderLogFiles(self.target.files).read("checkpoint")
        state = self.stage("log").step.state_bytes(SEQUENCER).get("logged_size")
        return (
            -1 if latest is None else checkpoint_of(latest, self.target).size,
            -1 if folder is None else checkpoint_of(folder, self.target).size,
            -1 if state is None else SequenceLog.LOGGED_SIZE.coder.decode(state),
        )

    def retry_timers(self) -> dict:
        return self.stage("log").step.pending_timers(SEQUENCER)

    def settle(self) -> None:
        """Run until idle, then let processing time pass until no retry is pending."""
        self.run()
        for _ in range(100):
            if not self.retry_timers():
                return
            self.stage("log").step.advance_processing_time(LATER)
            self.sizes.append(self.observed())
        raise AssertionError("the sequencer kept failing")


def checkpoint_of(note: bytes, target: LogTarget) -> Checkpoint:
    key = parse_private_key(Path(target.signer.removeprefix("file://")).read_text())
    checkpoint, _ = open_checkpoint(note, [NoteVerifier(key.public)], ORIGIN)
    return checkpoint


@pytest.fixture
def target(tmp_path: Path) -> LogTarget:
    create_key_file(tmp_path / "log.key", ORIGIN)
    return LogTarget(
        f"sqlite:///{tmp_path / 'receipts.db'}", str(tmp_path / "log"), ORIGIN, (tmp_path / "log.key").as_uri()
    )


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    keys = KeyRing(tmp_path_factory.mktemp("log-as-dataflow") / "keys")
    keys.ensure_current()
    return keys


def job_for(target: LogTarget, ring: KeyRing, clock: ManualClock, seed: int, outages: float = 0.2) -> LoggedJob:
    kid = ring.current_kid
    signer = f"file://{ring.folder / (kid + '.pem')}"
    return LoggedJob(target.store, signer, kid, clock, seed, faults=0.4, target=target, outages=Outages(seed, outages))


def log_problems(target: LogTarget, sizes: list[tuple[int, int, int]]) -> list[str]:
    """Every way the log is wrong, in words: a stored receipt not one leaf exactly once, a
    size that went back, a checkpoint not consistent with the latest, tiles that do not
    make the signed root, an entry that is not its receipt's hash, a proof that fails."""
    store, files = SqliteStore(target.store), FolderLogFiles(target.files)
    try:
        receipts = list(store.receipts())
        latest = checkpoint_of(store.latest_checkpoint(), target)
        signed = [checkpoint_of(note, target) for (note,) in store._db.execute("SELECT note FROM log_checkpoints")]
        indexes = {r["receipt_id"]: store.log_leaf_index(r["receipt_id"]) for r in receipts}
        unlogged = store.unlogged_count()
    finally:
        store.close()
    problems = [f"{unlogged} stored receipt(s) unlogged"] if unlogged else []
    if sorted(i for i in indexes.values() if i is not None) != list(range(latest.size)) or latest.size != len(receipts):
        problems.append(f"{len(receipts)} receipts, leaves {sorted(indexes.values(), key=str)}, log of {latest.size}")
    for column, name in enumerate(("store's latest checkpoint", "folder's checkpoint", "step's logged_size")):
        seen = [size[column] for size in sizes]
        if seen != sorted(seen):
            problems.append(f"the {name} went back: {seen}")
    reader = TileHashReader(latest.size, latest.root, tile_fetcher(files))
    if tree_hash(latest.size, reader) != latest.root:
        problems.append("the tiles do not make the signed root")
    for old in signed:
        proof = prove_consistency(old.size, latest.size, reader)
        try:
            verify_consistency(old.size, latest.size, proof, old.root, latest.root)
        except ProofError as error:
            problems.append(f"checkpoint {old.size} is not consistent with {latest.size}: {error}")
    entries = [e for n in range(0, latest.size, 256) for e in bundle(files, n // 256, min(256, latest.size - n))]
    for receipt in receipts:
        index = indexes[receipt["receipt_id"]]
        if index is None or entries[index] != bytes.fromhex(receipt["receipt_hash"]):
            problems.append(f"leaf {index} is not {receipt['receipt_id']}'s hash")
            continue
        try:
            path = prove_inclusion(index, latest.size, reader)
            verify_inclusion(leaf_hash(entries[index]), index, latest.size, path, latest.root)
        except ProofError as error:
            problems.append(f"{receipt['receipt_id']}'s inclusion proof fails: {error}")
    return problems


def bundle(files: FolderLogFiles, n: int, width: int) -> list[bytes]:
    return parse_entry_bundle(files.read(f"tile/entries/{n:03d}" + (f".p/{width}" if width < 256 else "")), width)


@pytest.mark.parametrize("seed", SEEDS)
def test_retried_bundles_and_outages_log_every_stored_receipt_once(seed, target, ring) -> None:
    """Charging and sequencing bundles die after their writes, triggers come reordered and
    twice, integrations break mid-way; once processing time has let the retries run, every
    stored receipt is one leaf and the tiles make the signed root."""
    clock = ManualClock(f"log-retried-{seed}")
    rng, messages = random.Random(seed), published(seed)
    job = job_for(target, ring, clock, seed)
    stream(job, messages, clock, rng)
    job.settle()
    assert money_problems(target.store, events_of(messages), Jwks(ring.jwks())) == []
    assert log_problems(target, job.sizes) == []
    log = job.stage("log").step
    assert job.outages.struck > 0 and log.faults.killed > 0 and log.workers > 1  # the faults did strike
    assert len({sizes[0] for sizes in job.sizes}) > 2  # the log grew while receipts came, not once at the end


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_a_failed_integration_is_retried_when_no_receipt_follows(seed, target, ring) -> None:
    """The last receipts' integration fails (its append committed, nothing published): with
    no trigger after it, the step's processing-time timer integrates again and signs them."""
    clock = ManualClock(f"log-quiet-{seed}")
    rng, messages = random.Random(seed), published(seed, 2)
    job = job_for(target, ring, clock, seed, outages=0.0)
    stream(job, messages, clock, rng)
    job.run()
    assert log_problems(target, job.sizes) == []
    more = published(seed, 1, "late")
    job.outages.rate = 1.0  # every call fails: the append commits, its answer is lost
    stream(job, more, clock, rng)
    job.run()
    assert job.retry_timers()  # the failure set the retry
    job.outages.rate = 0.0
    job.stage("log").step.advance_processing_time(LATER)
    assert not job.retry_timers()  # done: the timer is cleared
    job.sizes.append(job.observed())
    assert log_problems(target, job.sizes) == []


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_a_sequencer_resumed_from_older_state_continues_the_log(seed, target, ring) -> None:
    """A job runs on past its snapshot; a job started from that snapshot (its logged_size
    older than the log) gets the subscription again from there: the log just goes on."""
    clock = ManualClock(f"log-resumed-{seed}")
    rng = random.Random(seed)
    before, after, new = published(seed, 2, "a"), published(seed, 2, "b"), published(seed, 2, "c")
    first = job_for(target, ring, clock, seed)
    stream(first, before, clock, rng)
    first.settle()
    older = first.snapshot()
    stream(first, after, clock, rng)
    first.settle()
    first.close()
    resumed = job_for(target, ring, clock, seed + 1)
    resumed.restore(older)
    kept = SequenceLog.LOGGED_SIZE.coder.decode(resumed.stage("log").step.state_bytes(SEQUENCER)["logged_size"])
    assert kept < first.sizes[-1][0]  # the resumed step's state is older than the log it finds
    stream(resumed, after + new, clock, rng)
    resumed.settle()
    assert log_problems(target, first.sizes + resumed.sizes) == []


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_two_jobs_sequencing_one_store_log_each_receipt_once(seed, target, ring) -> None:
    """Two jobs (as during a replacement) each with its sequencer, on one store and one folder."""
    clock = ManualClock(f"log-two-{seed}")
    rng, messages = random.Random(seed), published(seed)
    jobs = [job_for(target, ring, clock, seed + n) for n in (0, 100)]
    for pull in [messages[n : n + 3] for n in range(0, len(messages), 3)]:
        rng.choice(jobs).receive(deliveries(pull, rng))
        rng.choice(jobs).run(rng.randint(0, 4))
        clock.advance(rng.randint(0, 180))
    while any(job.step() for job in rng.sample(jobs, 2)):
        pass
    for job in jobs:
        job.settle()
    for job in jobs:  # each job saw only growth
        assert log_problems(target, job.sizes) == []
