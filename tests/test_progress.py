"""wait_reporting: progress read while a local job runs."""

from collections import Counter

from pipelines.progress import wait_reporting


class FinishesAfter:
    """A PipelineResult stand-in that finishes after a short wait."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def wait_until_finish(self) -> None:
        import time

        time.sleep(self.seconds)


def test_a_counter_read_racing_a_commit_skips_that_tick_not_the_job() -> None:
    reads, shown = [], []

    def counts(_result) -> Counter:
        reads.append(1)
        if len(reads) == 1:  # what the DirectRunner's metrics raise mid-commit
            raise RuntimeError("dictionary changed size during iteration")
        return Counter(done=len(reads))

    result = FinishesAfter(0.3)
    assert wait_reporting(result, counts, shown.append, every=0.05) is result
    assert len(reads) >= 2 and shown[-1] == Counter(done=len(reads))


def test_a_failing_count_after_the_job_finished_is_raised() -> None:
    def counts(_result) -> Counter:
        raise RuntimeError("broken")

    try:
        wait_reporting(FinishesAfter(0.0), counts, lambda _: None, every=10)
    except RuntimeError as error:
        assert str(error) == "broken"
    else:
        raise AssertionError("the final count's error was swallowed")
