"""One key's state and timers inside one attempt at a bundle (tests/harness/dataflow.py):
read from the committed bytes with the running code's coders, kept as objects while the
attempt runs, encoded only when it commits; and the call of a DoFn method with the state,
timers, timestamp or key its defaults ask for."""

import inspect
from typing import Any

import apache_beam as beam
from apache_beam.transforms.core import _DoFnParam, _StateDoFnParam, _TimerDoFnParam
from apache_beam.transforms.userstate import BagStateSpec
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp


class KeyContext:
    """One key's state and timers inside an attempt: read from the committed bytes, kept
    as objects until the commit encodes them."""

    def __init__(self, key: Any, specs: dict[str, Any], state: dict[str, Any], timers: dict[str, Timestamp]) -> None:
        self.key, self.specs, self.committed = key, specs, state
        self.states: dict[str, _ValueState | _BagState] = {}
        self.timers = dict(timers)

    def state(self, spec) -> "_ValueState | _BagState":
        if spec.name not in self.states:
            spec = self.specs[spec.name]  # the running code's spec, after an update too
            committed = self.committed.get(spec.name)
            kind = _BagState if isinstance(spec, BagStateSpec) else _ValueState
            self.states[spec.name] = kind(spec.coder, committed)
        return self.states[spec.name]

    def timer(self, spec) -> "_Timer":
        return _Timer(self.timers, spec.name)

    def fired(self, name: str) -> None:
        self.timers.pop(name, None)

    def commit(self) -> tuple[dict[str, Any], dict[str, Timestamp]]:
        state = dict(self.committed)
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


def invoke(method, context: KeyContext, timestamp: Timestamp, *element):
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
