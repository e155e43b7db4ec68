"""The streaming job's charging steps run as Dataflow runs them (tests/harness): bundles
killed after their writes and retried on fresh workers, elements reordered and redelivered,
state only as its coders' bytes, two jobs on one subscription, a job resumed from older
state, a writer that keeps winning and the replay of what it parked, a key rotated by an
update, a state class renamed by one. After each: every event charged exactly once, every
chain gap-free and verifying with the key each receipt names, every balance the sum of its
accepted amounts, and no receipt_conflict unless a writer truly kept winning."""

import random
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream

import receipts.ledger
from receipts.events import Event, parse_event
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.records import RECEIPT_CONFLICT, Message, SignedReceipt
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner, key_file_url
from receipts.stores.sqlite import SqliteStore
from tests.conftest import event_bytes
from tests.harness.billing import DEDUP_TTL_SECONDS, ChargingJob, conflicts, money_problems
from tests.harness.dataflow import WorkerLost
from tests.harness.delivery import ManualClock, deliveries, split
from transforms.chain import ChargeCustomer
from transforms.dedup import IN_FLIGHT_SECONDS
from transforms.sinks import DEAD

SEEDS = [1, 2, 3, 4, 5]
CUSTOMERS = ("cust_a", "cust_b", "cust_c")


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    """Two keys: `old` (the first) and the current one, as after a rotation."""
    keys = KeyRing(tmp_path_factory.mktemp("as-dataflow") / "keys")
    keys.ensure_current()
    keys.rotate()
    return keys


@pytest.fixture(scope="module")
def old(ring: KeyRing) -> str:
    return ring.entries()[0].kid


@pytest.fixture(scope="module")
def jwks(ring: KeyRing) -> Jwks:
    return Jwks(ring.jwks())


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'receipts.db'}"


def url(ring: KeyRing, kid: str) -> str:
    return key_file_url(ring.folder, kid)


def published(seed: int, per_customer: int = 6, prefix: str = "e") -> list[Message]:
    """Each customer's events (USD and EUR, seeded amounts), one Pub/Sub message each."""
    rng = random.Random(seed)
    messages = []
    for customer in CUSTOMERS:
        for index in range(per_customer):
            cents = rng.randint(1, 99_999)
            data = event_bytes(
                idempotent_key=f"{prefix}{index}",
                customer_id=customer,
                amount=f"{cents // 100}.{cents % 100:02d}",
                currency=rng.choice(["USD", "USD", "EUR"]),
                timestamp=f"2026-01-25T10:{index:02d}:{rng.randint(0, 59):02d}Z",
            )
            messages.append(Message(f"pubsub-{customer}-{prefix}{index}", data))
    return messages


def events_of(messages: list[Message]) -> dict[tuple[str, str], Event]:
    events = {}
    for message in messages:
        event = parse_event(message.raw)
        assert isinstance(event, Event)
        events[event.customer_id, event.idempotent_key] = event
    return events


def stream(job: ChargingJob, messages: list[Message], clock: ManualClock, rng: random.Random) -> None:
    """Deliver `messages` as a subscription does (some twice, any order) in pulls of 1..4,
    the job running a few bundles and time moving on (up to 3 minutes) between pulls."""
    for pull in split(deliveries(messages, rng), rng):
        job.receive(pull)
        job.run(rng.randint(0, 3))
        clock.advance(rng.randint(0, 180))


@pytest.mark.parametrize("seed", SEEDS)
def test_bundles_killed_after_their_writes_and_retried_charge_each_event_once(seed, store_url, ring, old, jwks):
    """Bundles die after their writes and are retried on fresh workers, deliveries repeat and
    reorder; later dedup's state expires and everything is delivered again."""
    clock = ManualClock(f"retried-{seed}")
    rng, messages = random.Random(seed), published(seed)
    job = ChargingJob(store_url, url(ring, old), old, clock, seed, faults=0.4)
    stream(job, messages, clock, rng)
    job.run()
    assert money_problems(store_url, events_of(messages), jwks) == []
    dedup = job.stage("dedup").step
    assert all(dedup.state_bytes(key) for key in events_of(messages))
    job.advance_watermark(clock() + DEDUP_TTL_SECONDS + 1)  # dedup's expiry timers fire: its state goes
    assert not any(dedup.state_bytes(key) for key in events_of(messages))
    job.duplicates.clear()
    stream(job, messages, clock, rng)  # redelivered after that (a seek): the store answers
    job.run()
    assert money_problems(store_url, events_of(messages), jwks) == []
    assert conflicts(job.dead) == []
    assert job.killed() > 0 and job.stage("charge").step.workers > 1  # the faults did strike
    # The charge step's one read per batch found every redelivered key; and every receipt was
    # emitted at least once, though bundles died after writing it (their retries emit it).
    assert {(event.customer_id, event.idempotent_key) for _, event in job.duplicates} == set(events_of(messages))
    assert {(r.chained.customer_id, r.chained.body["idempotent_key"]) for r in job.stored} == set(events_of(messages))


@pytest.mark.parametrize("seed", SEEDS)
def test_two_jobs_on_one_subscription_charge_each_event_once(seed, store_url, ring, old, jwks):
    """Each pull goes to one job, a redelivery often to the other; both write one store."""
    clock = ManualClock(f"two-jobs-{seed}")
    rng, messages = random.Random(seed), published(seed)
    jobs = [ChargingJob(store_url, url(ring, old), old, clock, seed + n) for n in (0, 100)]
    for pull in split(deliveries(messages, rng, redeliver=0.5), rng):
        rng.choice(jobs).receive(pull)
        rng.choice(jobs).run(rng.randint(0, 3))
        clock.advance(rng.randint(0, 180))
    while any(job.step() for job in rng.sample(jobs, 2)):
        pass
    assert money_problems(store_url, events_of(messages), jwks) == []
    assert conflicts(jobs[0].dead + jobs[1].dead) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_a_job_resumed_from_older_state_charges_each_event_once(seed, store_url, ring, old, jwks):
    """A job runs on past its snapshot and stops; a job started from that snapshot gets what
    the subscription, seeked back to it, delivers again, and new events."""
    clock = ManualClock(f"resumed-{seed}")
    rng = random.Random(seed)
    before, after, new = published(seed, 2, "a"), published(seed, 2, "b"), published(seed, 2, "c")
    first = ChargingJob(store_url, url(ring, old), old, clock, seed)
    stream(first, before, clock, rng)
    first.run()
    older = first.snapshot()
    stream(first, after, clock, rng)
    first.run()
    first.close()
    resumed = ChargingJob(store_url, url(ring, old), old, clock, seed + 1)
    resumed.restore(older)
    stream(resumed, after + new, clock, rng)
    resumed.run()
    assert money_problems(store_url, events_of(before + after + new), jwks) == []
    assert conflicts(first.dead + resumed.dead) == []


class Rival:
    """Another writer that, while `winning`, extends a customer's stored chain just before each
    write the charge step makes for that customer: its receipts are refused every time."""

    def __init__(self, store_url: str, signer: LocalKeySigner, customer: str) -> None:
        self.store_url, self.signer, self.customer = store_url, signer, customer
        self.winning = True
        self.messages: list[Message] = []

    def instrument(self, dofn: beam.DoFn) -> None:
        dofn.store = _WritesAfterRival(dofn.store, self)

    def write_first(self, receipts: list[SignedReceipt]) -> None:
        if not self.winning or all(r.chained.customer_id != self.customer for r in receipts):
            return
        raw = event_bytes(customer_id=self.customer, idempotent_key=f"rival-{len(self.messages)}", amount="0.05")
        self.messages.append(Message(f"rival-{len(self.messages)}", raw))
        store = SqliteStore(self.store_url)
        try:
            chain = store.load_chain(self.customer)
            chained = chain.append(parse_event(raw), None, self.signer.kid, "2026-01-25T12:00:00Z")
            assert store.write_receipts([SignedReceipt(chained, sign_payloads(self.signer, [chained.canonical])[0])])
        finally:
            store.close()


class _WritesAfterRival:
    def __init__(self, store: Any, rival: Rival) -> None:
        self._store, self._rival = store, rival

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def write_receipts(self, receipts):
        self._rival.write_first(list(receipts))
        return self._store.write_receipts(receipts)


@pytest.mark.parametrize("seed", SEEDS)
def test_what_a_winning_writer_parked_is_charged_when_replayed(seed, store_url, ring, old, jwks):
    """While another writer wins every write for cust_a, its events are receipt_conflict dead
    letters (nobody else's); replayed after the writer is gone (and past the in-flight
    window, within the dedup state's life), each is charged once, not dropped as a duplicate."""
    clock = ManualClock(f"parked-{seed}")
    rng, messages = random.Random(seed), published(seed)
    rival = Rival(store_url, LocalKeySigner(ring.private_pem(old)), "cust_a")
    job = ChargingJob(store_url, url(ring, old), old, clock, seed, faults=0.2, instrument=rival.instrument)
    stream(job, messages, clock, rng)
    job.run()
    parked = [letter for letter in job.dead if letter.reason == RECEIPT_CONFLICT]
    assert {key for key in conflicts(parked)} == {key for key in events_of(messages) if key[0] == "cust_a"}
    rival.winning = False
    clock.advance(IN_FLIGHT_SECONDS + 1)
    job.dead.clear()
    job.receive(Message(f"replay-{n}", letter.raw) for n, letter in enumerate(parked))
    job.run()
    assert money_problems(store_url, events_of(messages + rival.messages), jwks) == []
    assert conflicts(job.dead) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_a_key_rotated_by_an_update_mid_stream_signs_what_each_body_names(seed, store_url, ring, old, jwks):
    """The update lands while the job has work between its steps; receipts made after it
    name and are signed by the new key, those before by the old one, and all verify."""
    clock = ManualClock(f"rotated-{seed}")
    rng, messages = random.Random(seed), published(seed)
    new = ring.current_kid
    job = ChargingJob(store_url, url(ring, old), old, clock, seed)
    job.receive(deliveries(messages[::2], rng))
    while not (job.stored and job.mid_flight()):
        assert job.step(), "the update must land mid-flight"
    job.update(url(ring, new), new)
    stream(job, messages, clock, rng)
    job.run()
    assert money_problems(store_url, events_of(messages), jwks) == []
    assert {r["kid"] for r in SqliteStore(store_url).receipts()} == {old, new}


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_state_kept_across_an_update_that_renames_its_class(seed, store_url, ring, old, jwks, monkeypatch):
    """State bytes must not name Python classes: after an update whose release renamed the
    chain state's class, the running job's state still decodes and charging goes on."""
    clock = ManualClock(f"renamed-{seed}")
    rng, messages = random.Random(seed), published(seed)
    job = ChargingJob(store_url, url(ring, old), old, clock, seed)
    stream(job, messages[::2], clock, rng)
    job.run()
    monkeypatch.delattr(receipts.ledger, "ChainState")  # the next release calls it something else
    job.update(url(ring, old), old)
    stream(job, messages, clock, rng)
    job.run()
    assert money_problems(store_url, events_of(messages), jwks) == []


class FailsOnceAfterWriting(ChargeCustomer):
    """ChargeCustomer whose first attempt at each bundle dies after its receipts are written."""

    attempts: ClassVar[Counter] = Counter()
    recorded: ClassVar[list[str]] = []

    def process(self, element, chain=beam.DoFn.StateParam(ChargeCustomer.CHAIN)):
        outputs = list(super().process(element, chain))
        batch = (element[0], *(event.idempotent_key for _, event in element[1]))
        FailsOnceAfterWriting.attempts[batch] += 1
        if FailsOnceAfterWriting.attempts[batch] == 1:
            raise WorkerLost("the worker died after writing its receipts")
        return outputs


@pytest.mark.beam
def test_beams_own_runner_retries_a_bundle_that_died_after_its_writes(store_url, ring, old, jwks):
    """The BundleBasedDirectRunner does retry a failed bundle (4 attempts, a fresh DoFn, state
    rolled back, the attempt's outputs dropped): the retry finds its receipts stored."""
    FailsOnceAfterWriting.attempts.clear()
    FailsOnceAfterWriting.recorded = []
    clock = ManualClock("beam-retry")
    messages = published(7, 3)
    events = events_of(messages)
    test_stream = TestStream().advance_watermark_to(0)
    for (customer, _), event in events.items():
        test_stream = test_stream.add_elements([(customer, [(Message("m", b""), event)])]).advance_processing_time(1)
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as pipeline:
        written = (
            pipeline
            | test_stream.advance_watermark_to_infinity()
            | beam.ParDo(FailsOnceAfterWriting(store_url, url(ring, old), old, clock=clock.rfc3339)).with_outputs(
                DEAD, main="stored"
            )
        )
        written.stored | beam.Map(lambda r: FailsOnceAfterWriting.recorded.append(r.chained.body["idempotent_key"]))
    assert money_problems(store_url, events, jwks) == []
    assert Counter(FailsOnceAfterWriting.recorded) == Counter(key for _, key in events)
    assert set(FailsOnceAfterWriting.attempts.values()) == {2}
