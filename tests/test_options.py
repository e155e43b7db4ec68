"""Both jobs' options parse in one process (Beam puts every PipelineOptions in one parser)."""

from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.batch import Settings
from pipelines.streaming import StreamSettings


def test_batch_and_streaming_options_coexist() -> None:
    common = ["--store", "gcp://p-123456", "--keys", "k", "--kid", "K", "--archive", "gs://b/r"]
    options = PipelineOptions(
        [
            *common,
            "--input",
            "e.jsonl",
            "--subscription",
            "projects/p/subscriptions/s",
            "--archive_window_seconds",
            "60",
        ]
    )
    assert Settings.from_options(options) == Settings("e.jsonl", "gcp://p-123456", "k", "K", "gs://b/r")
    streaming = StreamSettings.from_options(options)
    assert (streaming.subscription, streaming.store, streaming.archive_window_seconds) == (
        "projects/p/subscriptions/s",
        "gcp://p-123456",
        60,
    )
