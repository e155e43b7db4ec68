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
- `advance_watermark(t)` fires the event-time timers due by `t`, one bundle, same rules.
- `snapshot()` / `restore()` keep and bring back state and timers (a job resumed from older
  state); `update(dofn)` swaps the code and keeps state by name, refusing a state whose
  coder changed as Dataflow's compatibility check does (`IncompatibleUpdate`).

What is not modelled: processing-time timers, windows other than the global one, bag or
combining state beyond ReadModifyWrite and Bag, the SDK's cross-bundle state cache.
"""

import copy
import inspect
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.internal import pickler
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.core import _DoFnParam, _StateDoFnParam, _TimerDoFnParam
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, get_dofn_specs
from apache_beam.transforms.window import GlobalWindow, TimestampedValue
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import WindowedValue

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
        due = sorted(
            ((fire, repr(key), key, name) for key, timers in self._timers.items() for name, fire in timers.items()),
            key=lambda item: item[:2],
        )
        work = [(key, None, fire, name) for fire, _, key, name in due if fire <= self.watermark]
        return self._run(work) if work else Outputs()

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
            context = contexts.setdefault(key, _KeyContext(self, key))
            if timer is None:
                results = _invoke(worker.process, context, timestamp, element)
            else:
                context.fired(timer)
                results = _invoke(self.timer_specs[timer]._attached_callback.__get__(worker), context, timestamp)
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


class _KeyContext:
    """One key's state and timers inside an attempt: read from the committed bytes, kept
    as objects until the commit encodes them."""

    def __init__(self, step: StatefulStep, key: Any) -> None:
        self.step, self.key = step, key
        self.states: dict[str, _ValueState | _BagState] = {}
        self.timers = dict(step._timers.get(key, {}))

    def state(self, spec) -> "_ValueState | _BagState":
        if spec.name not in self.states:
            spec = self.step.state_specs[spec.name]  # the running code's spec, after an update too
            committed = self.step._state.get(self.key, {}).get(spec.name)
            kind = _BagState if isinstance(spec, BagStateSpec) else _ValueState
            self.states[spec.name] = kind(spec.coder, committed)
        return self.states[spec.name]

    def timer(self, spec) -> "_Timer":
        return _Timer(self.timers, spec.name)

    def fired(self, name: str) -> None:
        self.timers.pop(name, None)

    def commit(self) -> tuple[dict[str, Any], dict[str, Timestamp]]:
        state = dict(self.step._state.get(self.key, {}))
        for name, runtime in self.states.items():
            encoded = runtime.encoded()
            if encoded is None:
                state.pop(name, None)
            else:
                state[name] = encoded
        return state, dict(self.timers)


_UNSET = object()


class _ValueState:
    def __init__(self, coder, committed: bytes | None) -> None:
        self.coder, self.committed, self.value = coder, committed, _UNSET

    def read(self):
        if self.value is not _UNSET:
            return self.value
        return None if self.committed is None else self.coder.decode(self.committed)

    def write(self, value) -> None:
        self.value = value

    def clear(self) -> None:
        self.value = None

    def encoded(self) -> bytes | None:
        if self.value is _UNSET:
            return self.committed
        return None if self.value is None else self.coder.encode(self.value)


class _BagState:
    def __init__(self, coder, committed: tuple[bytes, ...] | None) -> None:
        self.coder, self.kept, self.added = coder, committed or (), []

    def read(self):
        return [*(self.coder.decode(item) for item in self.kept), *self.added]

    def add(self, value) -> None:
        self.added.append(value)

    def clear(self) -> None:
        self.kept, self.added = (), []

    def encoded(self) -> tuple[bytes, ...] | None:
        items = (*self.kept, *(self.coder.encode(item) for item in self.added))
        return items or None


class _Timer:
    def __init__(self, timers: dict[str, Timestamp], name: str) -> None:
        self.timers, self.name = timers, name

    def set(self, timestamp, dynamic_timer_tag: str = "") -> None:
        self.timers[self.name] = Timestamp.of(timestamp)

    def clear(self, dynamic_timer_tag: str = "") -> None:
        self.timers.pop(self.name, None)


def _specs(dofn: beam.DoFn) -> tuple[dict[str, Any], dict[str, Any]]:
    states, timers = get_dofn_specs(dofn)
    for spec in states:
        if not isinstance(spec, ReadModifyWriteStateSpec | BagStateSpec):
            raise NotImplementedError(f"the harness runs ReadModifyWrite and Bag state, not {spec!r}")
    return {spec.name: spec for spec in states}, {spec.name: spec for spec in timers}


def _invoke(method, context: _KeyContext, timestamp: Timestamp, *element):
    """Call a DoFn method with what its defaults ask for: state, timers, timestamp, key."""
    arguments = {}
    for name, parameter in inspect.signature(method).parameters.items():
        default = parameter.default
        if isinstance(default, _StateDoFnParam):
            arguments[name] = context.state(default.state_spec)
        elif isinstance(default, _TimerDoFnParam):
            arguments[name] = context.timer(default.timer_spec)
        elif default is beam.DoFn.TimestampParam:
            arguments[name] = timestamp
        elif default is beam.DoFn.KeyParam:
            arguments[name] = context.key
        elif default is beam.DoFn.WindowParam:
            arguments[name] = GlobalWindow()
        elif isinstance(default, _DoFnParam):
            raise NotImplementedError(f"the harness does not provide {default.param_id}")
    return method(*element, **arguments)


def _emit(outputs: Outputs, result: Any) -> None:
    tag = MAIN
    if isinstance(result, TaggedOutput):
        tag, result = result.tag, result.value
    if isinstance(result, TimestampedValue | WindowedValue):
        result = result.value
    outputs[tag].append(result)
