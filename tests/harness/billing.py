"""The streaming job's charging steps as one job for the harness, and the money invariants.

`ChargingJob` is Pub/Sub pulls -> DeduplicateEvents keyed by (customer_id, idempotent_key)
-> a shuffle -> ChargeCustomer keyed by customer_id (which asks the store about each batch's
keys in one read, as the streaming job's does), each a `StatefulStep` whose bundles
may be killed and retried. The charge step's (customer_id, [items]) batches are cut here
(1..3 items), not by transforms.charge. `money_problems` reads the store and says, in words,
every way the money is wrong.
"""

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue

from receipts.events import Event, parse_event
from receipts.keys import Jwks
from receipts.ledger import ACCEPTED
from receipts.money import parse_balance
from receipts.records import RECEIPT_CONFLICT, DeadLetter, Message
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.harness.dataflow import MAIN, Faults, Outputs, Snapshot, StatefulStep
from tests.harness.delivery import ManualClock, Shuffle
from transforms.chain import ChargeCustomer
from transforms.dedup import DEAD, DUPLICATE, DeduplicateEvents

DEDUP_TTL_SECONDS = 24 * 3600


@dataclass
class Stage:
    """One keyed step of a job, its inbox (the shuffle before it) and where its outputs go."""

    name: str
    step: StatefulStep
    inbox: Shuffle
    elements: Callable[[list[Any]], list[Any]]  # a handful from the inbox -> the bundle's elements
    route: Callable[[Outputs], None]


class ChargingJob:
    """One job's charging steps over `store_url`, signing with `signer_url` (key `kid`)."""

    def __init__(
        self,
        store_url: str,
        signer_url: str,
        kid: str,
        clock: ManualClock,
        seed: int,
        faults: float = 0.3,
        instrument: Callable[[beam.DoFn], None] | None = None,
    ) -> None:
        self.store_url, self.clock, self.seed = store_url, clock, seed
        self.rng = random.Random(seed)
        self.stored: list[Any] = []  # every SignedReceipt the job emitted (replays included)
        self.dead: list[DeadLetter] = []
        self.duplicates: list[tuple[Message, Event]] = []
        self.stages = self.build(signer_url, kid, faults, instrument)

    def build(self, signer_url: str, kid: str, faults: float, instrument) -> list[Stage]:
        fresh = Shuffle(self.rng)
        deduplicate = DeduplicateEvents(self.store_url, DEDUP_TTL_SECONDS, self.clock)
        dedup = StatefulStep(deduplicate, Faults(self.seed, faults))
        charge = StatefulStep(self.charging(signer_url, kid), Faults(self.seed + 1, faults), instrument=instrument)
        return [
            Stage("dedup", dedup, Shuffle(self.rng), list, lambda out: self._deduplicated(out, fresh)),
            Stage("charge", charge, fresh, self._per_customer, self._charged),
        ]

    def charging(self, signer_url: str, kid: str) -> beam.DoFn:
        return ChargeCustomer(
            self.store_url, signer_url, kid, clock=self.clock.rfc3339, transaction_size=2, check_store=True
        )

    def _deduplicated(self, out: Outputs, fresh: Shuffle) -> None:
        fresh.put(out[MAIN])
        self.dead.extend(out[DEAD])
        self.duplicates.extend(out[DUPLICATE])

    def _charged(self, out: Outputs) -> None:
        self.stored.extend(out[MAIN])
        self.dead.extend(out[DEAD])
        self.duplicates.extend(out[DUPLICATE])

    def _per_customer(self, items: list[tuple[Message, Event]]) -> list[tuple[str, list]]:
        """A bundle's items as (customer_id, [items]) batches of 1..3, in arrival order."""
        batches: list[tuple[str, list]] = []
        open_batch: dict[str, list] = {}
        for item in items:
            customer = item[1].customer_id
            batch = open_batch.get(customer)
            if batch is None or len(batch) >= self.rng.randint(1, 3):
                batch = open_batch[customer] = []
                batches.append((customer, batch))
            batch.append(item)
        return batches

    # -- driving -----------------------------------------------------------------------
    def receive(self, messages: Iterable[Message]) -> None:
        """Pub/Sub deliveries, published now: parsed and keyed as the job's first steps do."""
        for message in messages:
            event = parse_event(message.raw)
            assert isinstance(event, Event), event
            keyed = ((event.customer_id, event.idempotent_key), [(message, event)])
            self.stages[0].inbox.put([TimestampedValue(keyed, self.clock())])

    def step(self) -> bool:
        """One bundle of a seeded choice among the stages with work waiting; False when idle."""
        ready = [stage for stage in self.stages if len(stage.inbox)]
        if not ready:
            return False
        stage = self.rng.choice(ready)
        stage.route(stage.step.process(stage.elements(stage.inbox.take())))
        return True

    def run(self, bundles: int | None = None) -> None:
        """Run `bundles` bundles (or until nothing waits)."""
        count = 0
        while (bundles is None or count < bundles) and self.step():
            count += 1

    def advance_watermark(self, to: float) -> None:
        self.stages[0].route(self.stages[0].step.advance_watermark(to))

    def update(self, signer_url: str, kid: str) -> None:
        """`--update` with a new signing key: state and what is in flight stay."""
        self.stage("charge").step.update(self.charging(signer_url, kid))

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)

    def mid_flight(self) -> bool:
        """Something one step committed waits for the next step."""
        return any(len(stage.inbox) for stage in self.stages[1:])

    def snapshot(self) -> dict[str, Snapshot]:
        return {stage.name: stage.step.snapshot() for stage in self.stages}

    def restore(self, snapshot: Mapping[str, Snapshot]) -> None:
        for stage in self.stages:
            stage.step.restore(snapshot[stage.name])

    def killed(self) -> int:
        return sum(stage.step.faults.killed for stage in self.stages if stage.step.faults)

    def close(self) -> None:
        for stage in self.stages:
            stage.step.close()


def money_problems(store_url: str, events: Mapping[tuple[str, str], Event], jwks: Jwks) -> list[str]:
    """Every way the store's money is wrong, in words (an empty list when it is right): each
    event charged exactly once with its own payload, each chain gap-free and verifying (every
    signature by the key its kid names), each balance the sum of its accepted amounts."""
    store = SqliteStore(store_url)
    try:
        receipts, balances = list(store.receipts()), store.balances()
    finally:
        store.close()
    problems = []
    charged = Counter((r["customer_id"], r["idempotent_key"]) for r in receipts)
    problems += [f"never charged: {key}" for key in sorted(set(events) - set(charged))]
    problems += [f"charged but never sent: {key}" for key in sorted(set(charged) - set(events))]
    problems += [f"charged {count} times: {key}" for key, count in sorted(charged.items()) if count > 1]
    problems += [
        f"{r['receipt_id']} charges another payload than {r['idempotent_key']}'s"
        for r in receipts
        if (r["customer_id"], r["idempotent_key"]) in events
        and r["event_sha256"] != events[r["customer_id"], r["idempotent_key"]].event_sha256
    ]
    sequences: dict[str, list[int]] = defaultdict(list)
    expected: Counter[tuple[str, str]] = Counter()
    for receipt in receipts:
        sequences[receipt["customer_id"]].append(receipt["sequence"])
        if receipt["status"] == ACCEPTED:
            expected[receipt["customer_id"], receipt["currency"]] += parse_balance(
                receipt["amount"], receipt["currency"]
            )
    problems += [
        f"{customer}'s chain is {numbers}, not 1..{len(numbers)}"
        for customer, numbers in sorted(sequences.items())
        if numbers != list(range(1, len(numbers) + 1))
    ]
    problems += [
        f"{result.named()}: {'; '.join(f'{c.check}: {c.reason}' for c in result.failures)}"
        for result in verify_chain(receipts, jwks)
        if not result.ok
    ]
    held = {(b.customer_id, b.currency): parse_balance(b.balance, b.currency) for b in balances}
    problems += [
        f"balance of {key} is {held.get(key)}, accepted amounts sum to {total}"
        for key, total in sorted(expected.items())
        if held.get(key) != total
    ]
    problems += [f"balance of {key} has no accepted receipt" for key in sorted(set(held) - set(expected))]
    return problems


def conflicts(dead: Iterable[DeadLetter]) -> list[tuple[str | None, str | None]]:
    """The (customer_id, idempotent_key) of every receipt_conflict dead letter."""
    return sorted((letter.customer_id, letter.idempotent_key) for letter in dead if letter.reason == RECEIPT_CONFLICT)
