"""Pub/Sub and the shuffle between steps, seeded: what decides which element a step sees when.

Pub/Sub delivers at least once and in no order (`deliveries`); between two keyed steps
Dataflow hands a step's committed outputs to the next in whatever order and bundles they
come (`Shuffle`). Time is the test's (`ManualClock`), never the wall clock's.
"""

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")


class ManualClock:
    """Time the test moves. It pickles by name, so every copy of a DoFn holding it (Beam and
    the harness pickle DoFns) reads the same time. Calling it gives epoch seconds (dedup's
    clock); `rfc3339()` gives the charge step's processed_at, one microsecond later each
    call, so a retried receipt is other bytes, as with a real clock."""

    _micros: ClassVar[dict[str, int]] = {}

    def __init__(self, name: str, start: float = 1_769_337_000.0) -> None:
        self.name = name
        ManualClock._micros[name] = int(start * 1_000_000)

    def __reduce__(self):
        return (_clock_named, (self.name,))

    def __call__(self) -> float:
        return ManualClock._micros[self.name] / 1_000_000

    def advance(self, seconds: float) -> None:
        ManualClock._micros[self.name] += int(seconds * 1_000_000)

    def rfc3339(self) -> str:
        ManualClock._micros[self.name] += 1
        moment = datetime.fromtimestamp(self(), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clock_named(name: str) -> ManualClock:
    clock = ManualClock.__new__(ManualClock)
    clock.name = name
    return clock


def deliveries(messages: Sequence[T], rng: random.Random, redeliver: float = 0.3) -> list[T]:
    """Each message at least once, some twice, all in a seeded order: a subscription's pulls."""
    delivered = [*messages, *(message for message in messages if rng.random() < redeliver)]
    rng.shuffle(delivered)
    return delivered


def split(items: Sequence[T], rng: random.Random, largest: int = 4) -> list[list[T]]:
    """`items` in order, cut into bundles of 1..`largest`."""
    bundles, start = [], 0
    while start < len(items):
        size = rng.randint(1, largest)
        bundles.append(list(items[start : start + size]))
        start += size
    return bundles


class Shuffle:
    """Elements one step committed, waiting for the next: `take()` hands over a seeded
    handful from anywhere in the queue, so a key's elements arrive out of order and
    across bundles."""

    def __init__(self, rng: random.Random, largest: int = 4) -> None:
        self.rng, self.largest = rng, largest
        self.waiting: list[Any] = []

    def put(self, items: Iterable[Any]) -> None:
        self.waiting.extend(items)

    def take(self) -> list[Any]:
        size = min(len(self.waiting), self.rng.randint(1, self.largest))
        chosen = set(self.rng.sample(range(len(self.waiting)), size))
        taken = [item for index, item in enumerate(self.waiting) if index in chosen]
        self.waiting = [item for index, item in enumerate(self.waiting) if index not in chosen]
        self.rng.shuffle(taken)
        return taken

    def __len__(self) -> int:
        return len(self.waiting)
