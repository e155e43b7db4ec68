"""One keyed stateful DoFn run the way Dataflow runs it, where the DirectRunner cannot show it.

`StatefulStep(dofn)` runs bundles of (key, value) elements and watermark timers:

- State lives only as bytes written by each StateSpec's coder: decoded on every bundle's
  first read, encoded on commit. An object that does not round-trip shows at once.
- A bundle commits (state, timers, outputs) only when it succeeds. `Faults` kills seeded
  attempts after some of their outputs or just before the commit: whatever the DoFn did
  to the world (store writes) stays, its outputs are dropped, its state rolls back, and
  the bundle is retried on a fresh worker (the DoFn pickled again, `setup()` again).
  A DoFn that raises is retried the same way; a bundle that fails `max_attempts` times in
  a row is `Wedged` (a streaming job stuck on it for ever).
- `advance_watermark(t)` fires the event-time timers due by `t`, one bundle, same rules;
  `advance_processing_time(t)` the processing-time ones (set from the wall clock) due by `t`.
- `snapshot()` / `restore()` keep and bring back state and timers (a job resumed from older
  state); `update(dofn)` swaps the code and keeps state by name, refusing a state whose
  coder changed as Dataflow's compatibility check does (`IncompatibleUpdate`).

What is not modelled: windows other than the global one, bag or
combining state beyond ReadModifyWrite and Bag, the SDK's cross-bundle state cache.
"""

import copy
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.internal import pickler
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, get_dofn_specs
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from tests.harness.keyed_state import KeyContext, invoke

MAIN = "main"


class WorkerLost(Exception):
    """A simulated failure: the worker died mid-bundle, after what it already did."""


class Wedged(RuntimeError):
    """A bundle failed every attempt: a streaming job would retry it for ever."""


class IncompatibleUpdate(ValueError):
    """An update Dataflow's compatibility check refuses (a kept state's coder changed)."""


@dataclass
class Faults:
    """Seeded deaths: each attempt dies with probability `rate` (never more than `in_a_row`
    times running for one bundle), at a random point among its outputs or before commit."""

    seed: int
    rate: float = 0.3
    in_a_row: int = 2
    rng: random.Random = field(init=False)
    killed: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def death(self, failed_so_far: int, work: int) -> int | None:
        """After how many ticks (outputs and finished elements) this attempt dies, or None."""
        if failed_so_far >= self.in_a_row or self.rng.random() >= self.rate:
            return None
        self.killed += 1
        return self.rng.randint(0, 2 * work + 1)  # past the last tick: it dies just before commit


@dataclass
class Outputs:
    """What committed bundles emitted, per output tag (MAIN for the main output)."""

    tagged: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))

    def __getitem__(self, tag: str) -> list[Any]:
        return self.tagged[tag]

    def extend(self, other: "Outputs") -> None:
        for tag, values in other.tagged.items():
            self.tagged[tag].extend(values)


@dataclass(frozen=True)
class Snapshot:
    """A step's committed state bytes and timers, as a Dataflow snapshot keeps them."""

    state: dict[Any, dict[str, Any]]
    timers: dict[Any, dict[str, Timestamp]]
    watermark: Timestamp


class StatefulStep:
    """A keyed DoFn run over bundles as Dataflow runs it (module docstring). `instrument`
    is called with every new worker's DoFn after `setup()`: the place to put a competing
    writer or a flaky client between the DoFn and the world."""

    def __init__(
        self,
        dofn: beam.DoFn,
        faults: Faults | None = None,
        max_attempts: int = 4,
        instrument: Callable[[beam.DoFn], None] | None = None,
    ) -> None:
        self._pickled = pickler.dumps(dofn)
        self.state_specs, self.timer_specs = _specs(dofn)
        self.faults, self.max_attempts, self.instrument = faults, max_attempts, instrument
        self._state: dict[Any, dict[str, Any]] = {}  # key -> state name -> bytes | tuple[bytes, ...]
        self._timers: dict[Any, dict[str, Timestamp]] = {}  # key -> timer name -> fire time
        self.watermark = MIN_TIMESTAMP
        self._worker: beam.DoFn | None = None
        self.workers = 0  # how many workers (DoFn instances) this step has had

    # -- running -------------------------------------------------------------------
    def process(self, elements: Iterable[Any]) -> Outputs:
        """One bundle of (key, value) or TimestampedValue((key, value), t) elements (any
        elements for a DoFn without state or timers)."""
        keyed, work = bool(self.state_specs or self.timer_specs), []
        for element in elements:
            timestamp = MIN_TIMESTAMP
            if isinstance(element, TimestampedValue):
                element, timestamp = element.value, Timestamp.of(element.timestamp)
            work.append((element[0] if keyed else None, element, timestamp, None))
        return self._run(work)

    def advance_watermark(self, to: float | Timestamp) -> Outputs:
        """Move the input watermark to `to` and fire every event-time timer due by then."""
        self.watermark = max(self.watermark, Timestamp.of(to))
        return self._fire(TimeDomain.WATERMARK, self.watermark)

    def advance_processing_time(self, to: float | Timestamp) -> Outputs:
        """Fire every processing-time timer due by `to` (one bundle; the timers they set
        again wait for a later call)."""
        return self._fire(TimeDomain.REAL_TIME, Timestamp.of(to))

    def _fire(self, domain: str, by: Timestamp) -> Outputs:
        due = sorted(
            (
                (fire, repr(key), key, name)
                for key, timers in self._timers.items()
                for name, fire in timers.items()
                if self.timer_specs[name].time_domain == domain
            ),
            key=lambda item: item[:2],
        )
        work = [(key, None, fire, name) for fire, _, key, name in due if fire <= by]
        return self._run(work) if work else Outputs()

    def pending_timers(self, key: Any) -> dict[str, Timestamp]:
        """The committed timers of `key`: name -> when each fires."""
        return dict(self._timers.get(key, {}))

    def _run(self, work: list[tuple[Any, Any, Timestamp, str | None]]) -> Outputs:
        lost = errors = 0
        while True:
            death = self.faults.death(lost, len(work)) if self.faults else None
            try:
                return self._attempt(work, death)
            except WorkerLost:
                lost += 1
                self._lose_worker()
            except Exception as error:
                errors += 1
                self._lose_worker()
                if errors >= self.max_attempts:
                    raise Wedged(f"a bundle of {len(work)} failed {errors} times: {error!r}") from error

    def _attempt(self, work, death: int | None) -> Outputs:
        worker = self._worker or self._new_worker()
        outputs, contexts, ticks = Outputs(), {}, [0]

        def tick() -> None:
            ticks[0] += 1
            if death is not None and ticks[0] > death:
                raise WorkerLost(f"worker lost after {death} of the bundle's outputs")

        worker.start_bundle()
        for key, element, timestamp, timer in work:
            if key not in contexts:
                committed = self._state.get(key, {}), self._timers.get(key, {})
                contexts[key] = KeyContext(key, self.state_specs, *committed)
            context = contexts[key]
            if timer is None:
                results = invoke(worker.process, context, timestamp, element)
            else:
                context.fired(timer)
                results = invoke(self.timer_specs[timer]._attached_callback.__get__(worker), context, timestamp)
            for result in results or ():
                _emit(outputs, result)
                tick()
            tick()
        for result in worker.finish_bundle() or ():
            _emit(outputs, result)
        if death is not None:
            raise WorkerLost("worker lost before the bundle was committed")
        commits = [(key, context.commit()) for key, context in contexts.items()]  # encode all, then apply
        for key, (state, timers) in commits:
            self._state[key], self._timers[key] = state, timers
        return outputs

    # -- workers, snapshots, updates ---------------------------------------------------
    def _new_worker(self) -> beam.DoFn:
        worker = pickler.loads(self._pickled)
        worker.setup()
        if self.instrument is not None:
            self.instrument(worker)
        self._worker, self.workers = worker, self.workers + 1
        return worker

    def _lose_worker(self) -> None:
        if self._worker is not None:
            self._worker.teardown()  # Dataflow may never call it; here it frees connections
            self._worker = None

    def close(self) -> None:
        self._lose_worker()

    def snapshot(self) -> Snapshot:
        return Snapshot(copy.deepcopy(self._state), copy.deepcopy(self._timers), self.watermark)

    def restore(self, snapshot: Snapshot) -> None:
        self._lose_worker()
        self._state, self._timers = copy.deepcopy(snapshot.state), copy.deepcopy(snapshot.timers)
        self.watermark = snapshot.watermark

    def update(self, dofn: beam.DoFn) -> None:
        """Replace the code as `--update` does: state and timers kept by name."""
        state_specs, timer_specs = _specs(dofn)
        for name, spec in state_specs.items():
            kept = self.state_specs.get(name)
            if kept is not None and (type(kept) is not type(spec) or kept.coder != spec.coder):
                raise IncompatibleUpdate(f"state {name!r} changes from {kept.coder!r} to {spec.coder!r}")
        self._lose_worker()
        self._pickled, self.state_specs, self.timer_specs = pickler.dumps(dofn), state_specs, timer_specs

    def state_bytes(self, key: Any) -> dict[str, Any]:
        """The committed bytes of `key`'s state, per state name."""
        return dict(self._state.get(key, {}))


def _specs(dofn: beam.DoFn) -> tuple[dict[str, Any], dict[str, Any]]:
    states, timers = get_dofn_specs(dofn)
    for spec in states:
        if not isinstance(spec, ReadModifyWriteStateSpec | BagStateSpec):
            raise NotImplementedError(f"the harness runs ReadModifyWrite and Bag state, not {spec!r}")
    return {spec.name: spec for spec in states}, {spec.name: spec for spec in timers}


def _emit(outputs: Outputs, result: Any) -> None:
    tag = MAIN
    if isinstance(result, TaggedOutput):
        tag, result = result.tag, result.value
    if isinstance(result, TimestampedValue | WindowedValue):
        result = result.value
    outputs[tag].append(result)
