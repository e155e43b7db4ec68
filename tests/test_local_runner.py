"""The DirectRunner metrics fix: user counters keep counting after the first bundle."""

import apache_beam as beam
import pytest
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream

from pipelines.local_runner import RUNNER, fix_direct_runner_metrics

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
