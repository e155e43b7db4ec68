"""The harness itself (tests/harness): it does what its docstrings say Dataflow does, on toy DoFns."""

import pickle
import random
from typing import ClassVar

import apache_beam as beam
import pytest
from apache_beam.coders import StrUtf8Coder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer

from tests.harness.dataflow import MAIN, Faults, IncompatibleUpdate, StatefulStep, Wedged
from tests.harness.delivery import ManualClock, Shuffle, deliveries, split


class Count(beam.DoFn):
    """Counts per key in state; each element also lands in `world` (a side effect that stays)."""

    COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)
    world: ClassVar[list] = []

    def process(
        self,
        element,
        count=beam.DoFn.StateParam(COUNT),
        expiry=beam.DoFn.TimerParam(EXPIRY),
        at=beam.DoFn.TimestampParam,
    ):
        Count.world.append(element)
        total = (count.read() or 0) + 1
        count.write(total)
        expiry.set(at + 10)
        yield element[0], total

    @on_timer(EXPIRY)
    def expire(self, key=beam.DoFn.KeyParam, count=beam.DoFn.StateParam(COUNT)):
        count.clear()
        yield "expired", key


class CountAsText(beam.DoFn):
    COUNT = ReadModifyWriteStateSpec("count", StrUtf8Coder())

    def process(self, element, count=beam.DoFn.StateParam(COUNT)):
        count.write(1)  # an int in a text coder's state: it cannot be committed
        yield element


class Nudge(beam.DoFn):
    """Sets a processing-time timer 60 s after the element's time; it says so when it fires."""

    NUDGE = TimerSpec("nudge", TimeDomain.REAL_TIME)

    def process(self, element, nudge=beam.DoFn.TimerParam(NUDGE)):
        nudge.set(element[1] + 60)
        return ()

    @on_timer(NUDGE)
    def nudged(self, key=beam.DoFn.KeyParam):
        yield "nudged", key


@pytest.fixture(autouse=True)
def empty_world() -> None:
    Count.world = []


def test_state_is_only_its_coders_bytes_and_a_value_it_cannot_encode_wedges_the_bundle() -> None:
    step = StatefulStep(Count())
    step.process([("k", 1), ("k", 2)])
    assert step.state_bytes("k") == {"count": VarIntCoder().encode(2)}
    with pytest.raises(Wedged, match="failed 4 times"):
        StatefulStep(CountAsText()).process([("k", 1)])


def test_a_killed_attempt_keeps_its_side_effects_and_loses_its_outputs_and_state() -> None:
    step = StatefulStep(Count(), Faults(seed=0, rate=1.0, in_a_row=1))
    out = step.process([("k", "a")])
    assert out[MAIN] == [("k", 1)]  # the dead attempt's output is gone, its count rolled back
    assert Count.world == [("k", "a"), ("k", "a")]  # what it did to the world stays
    assert step.workers == 2 and step.faults.killed == 1


def test_watermark_timers_fire_when_due_and_their_state_goes() -> None:
    step = StatefulStep(Count())
    step.process([beam.window.TimestampedValue(("k", "a"), 100)])
    assert step.advance_watermark(109)[MAIN] == []
    assert step.advance_watermark(110)[MAIN] == [("expired", "k")]
    assert step.state_bytes("k") == {}
    assert step.advance_watermark(200)[MAIN] == []  # a fired timer is gone


def test_processing_time_timers_fire_with_processing_time_not_the_watermark() -> None:
    step = StatefulStep(Nudge())
    step.process([("k", 1000)])
    assert step.advance_watermark(10**9)[MAIN] == []
    assert list(step.pending_timers("k").values()) == [1060]
    assert step.advance_processing_time(1059)[MAIN] == []
    assert step.advance_processing_time(1060)[MAIN] == [("nudged", "k")]
    assert step.pending_timers("k") == {}


def test_snapshot_restore_and_update_keep_state_by_name_and_refuse_a_changed_coder() -> None:
    step = StatefulStep(Count())
    step.process([("k", 1)])
    older = step.snapshot()
    step.process([("k", 2)])
    step.restore(older)
    step.update(Count())
    assert step.process([("k", 3)])[MAIN] == [("k", 2)]
    with pytest.raises(IncompatibleUpdate, match="'count' changes"):
        step.update(CountAsText())


def test_the_manual_clock_is_one_time_for_every_pickled_copy() -> None:
    clock = ManualClock("harness-clock", start=1000.0)
    copy = pickle.loads(pickle.dumps(clock))
    clock.advance(5)
    assert copy() == 1005.0
    assert copy.rfc3339() < clock.rfc3339()  # each call a microsecond later


def test_deliveries_and_the_shuffle_lose_nothing_and_repeat_per_seed() -> None:
    def run(seed: int) -> list[list[int]]:
        rng = random.Random(seed)
        shuffle, taken = Shuffle(rng), []
        for bundle in split(deliveries(list(range(20)), rng), rng):
            shuffle.put(bundle)
            taken.append(shuffle.take())
        while len(shuffle):
            taken.append(shuffle.take())
        return taken

    assert run(3) == run(3) != run(4)
    handed = [item for bundle in run(3) for item in bundle]
    assert set(handed) == set(range(20)) and len(handed) > 20  # all of them, some twice
