"""Waiting for a local job while telling a command how far it is: the job's Beam counters,
polled from the caller's thread while another thread waits for the job to finish."""

import threading
from collections import Counter
from collections.abc import Callable, Iterable


def job_counts(result, namespaces: Iterable[str]) -> Counter:
    """The job's counters in `namespaces` (Beam metrics), summed over steps."""
    from apache_beam.metrics.metric import MetricsFilter

    counts: Counter = Counter()
    for namespace in namespaces:
        for counter in result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]:
            counts[counter.key.metric.name] += counter.committed or 0
    return counts


def wait_reporting(
    result,
    counts: Callable[[object], Counter],
    on_progress: Callable[[Counter], None] | None = None,
    every: float = 0.25,
):
    """Wait for `result` to finish, calling `on_progress(counts(result))` every `every`
    seconds and once at the end; a failure of the job is raised here, in the caller's thread."""
    finished = threading.Event()
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            result.wait_until_finish()
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)
        finally:
            finished.set()

    waiter = threading.Thread(target=wait, name="job-wait", daemon=True)
    waiter.start()
    while not finished.wait(every):
        if on_progress:
            on_progress(counts(result))
    waiter.join()
    if failure:
        raise failure[0]
    if on_progress:
        on_progress(counts(result))
    return result
