"""The DirectRunner metrics fix (user counters keep counting after the first bundle) and its
DoFn inspection kept per DoFn class."""

import apache_beam as beam
import pytest
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain

from pipelines import local_runner
from pipelines.local_runner import RUNNER, fix_direct_runner_metrics, prepare_direct_runner

pytestmark = pytest.mark.beam


class CountEach(beam.DoFn):
    def __init__(self) -> None:
        self.seen = Metrics.counter("test", "seen")

    def process(self, element):
        self.seen.inc()
        yield element


def test_counters_count_every_bundle_of_a_stream() -> None:
    fix_direct_runner_metrics()
    stream = TestStream()
    for batch in range(6):  # six bundles of three
        stream = stream.add_elements([batch * 3 + i for i in range(3)]).advance_watermark_to(batch + 1)
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions([], runner=RUNNER)
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    _ = pipeline | stream | beam.ParDo(CountEach())
    result = pipeline.run()
    result.wait_until_finish()
    [counter] = result.metrics().query(MetricsFilter().with_name("seen"))["counters"]
    assert counter.committed == 18


TOTALS: list = []  # the runner runs in this process


def record(total: tuple[str, int]) -> None:
    TOTALS.append(total)


class Total(beam.DoFn):
    """Stateful: a running total per key, flushed by an event-time timer."""

    TOTAL = userstate.ReadModifyWriteStateSpec("total", VarIntCoder())
    FLUSH = userstate.TimerSpec("flush", TimeDomain.WATERMARK)

    def process(
        self,
        element,
        total=beam.DoFn.StateParam(TOTAL),
        flush=beam.DoFn.TimerParam(FLUSH),
    ):
        total.write((total.read() or 0) + element[1])
        flush.set(10)  # past every element: fires once, when the stream ends

    @userstate.on_timer(FLUSH)
    def emit(self, key=beam.DoFn.KeyParam, total=beam.DoFn.StateParam(TOTAL)):
        yield key, total.read()


def test_dofn_specs_are_inspected_per_class_not_per_bundle_and_timers_still_fire(monkeypatch) -> None:
    prepare_direct_runner()
    inspected = []
    inspect = local_runner._inspect_dofn  # Beam's own

    def counting(dofn):
        inspected.append(type(dofn))
        return inspect(dofn)

    monkeypatch.setattr(local_runner, "_inspect_dofn", counting)
    monkeypatch.setattr(local_runner, "_dofn_specs", {})
    stream = TestStream()
    for batch in range(8):  # eight bundles, each with two keys
        stream = stream.add_elements([("a", batch), ("b", 10 * batch)]).advance_watermark_to(batch + 1)
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions([], runner=RUNNER)
    options.view_as(StandardOptions).streaming = True
    TOTALS.clear()
    with beam.Pipeline(options=options) as pipeline:
        _ = pipeline | stream | beam.ParDo(Total()) | beam.Map(record)
    assert sorted(TOTALS) == [("a", 28), ("b", 280)]
    # Once as built, once as the runner's pickled copies look, however many bundles (eight here).
    assert 1 <= inspected.count(Total) <= 2


def test_a_kept_view_reads_and_writes_what_every_view_shares() -> None:
    prepare_direct_runner()
    options = PipelineOptions(["--streaming"], runner=RUNNER)
    first = options.view_as(StandardOptions)
    assert options.view_as(StandardOptions) is first  # parsed once
    assert first.streaming is True and first.runner == RUNNER
    first.streaming = False
    assert PipelineOptions.view_as(options, StandardOptions).streaming is False
    other = PipelineOptions([], runner=RUNNER)
    assert other.view_as(StandardOptions) is not first  # one view per options object
    assert other.view_as(StandardOptions).streaming is False
