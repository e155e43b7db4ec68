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
    seconds and once at the end; a failure of the job is raised here, in the caller's thread.
    While the job runs, the DirectRunner may commit a bundle's counters as they are read
    ("dictionary changed size during iteration"): that tick is skipped, not the job failed."""
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
            try:
                running = counts(result)
            except RuntimeError:  # the runner committed counters while we read them: next tick
                continue
            on_progress(running)
    waiter.join()
    if failure:
        raise failure[0]
    if on_progress:
        on_progress(counts(result))
    return result


def launch_or_wait(options, required: Iterable[str], what: str, build: Callable[[object], None]):
    """A batch job launched from the command line (or a Flex Template) on the runner its
    options name: on Dataflow, check the options it cannot run without, submit it and return
    None (the launcher must not wait); locally (the default runner), run it to the end and
    return its result. `build(pipeline)` adds the job's steps."""
    import logging

    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions

    from pipelines.local_runner import RUNNER, prepare_direct_runner
    from pipelines.options import missing_options

    standard = options.view_as(StandardOptions)
    remote = bool(standard.runner) and standard.runner.endswith("DataflowRunner")
    if remote:
        missing = missing_options(options, tuple(required))
        if missing:
            raise ValueError(f"the {what} job on Dataflow needs {', '.join(missing)}")
    else:
        standard.runner = standard.runner or RUNNER
        prepare_direct_runner()
    pipeline = beam.Pipeline(options=options)
    build(pipeline)
    result = pipeline.run()
    if remote:
        logging.getLogger(__name__).info("Launched the %s job: %s", what, getattr(result, "job_id", lambda: "?")())
        return None
    result.wait_until_finish()
    return result
