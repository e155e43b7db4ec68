"""The batch job on several cores: Beam's portable FnApiRunner, its workers in processes.

Why this runner: the BundleBasedDirectRunner runs every step in one process, under one
GIL, and spends about 45% of the job in its own bookkeeping (docs/PERFORMANCE.md); the
FnApiRunner runs the same job stage by stage with much less per-element cost, and with
`direct_running_mode=multi_processing` it splits each stage's input over
`direct_num_workers` SDK worker processes (a GroupByKey's output by key, so each customer's
events reach exactly one process: one writer per customer's chain). It runs a stateful stage
in one worker only, so the batch job charges without Beam state (transforms.chain.
ChargeCustomerOnce): with the chain in state, signing never left one process. One worker is
the same runner in this process (`in_memory`). What it costs: a few seconds to start the
workers, and every element between stages crosses gRPC to this process, which groups
them. Prism would download a binary (PITFALLS.md); a multiprocessing pool of our own
would redo what the runner's stages already do (sharding, the wait for every write before the archive and the log).

What makes N processes safe on the embedded store: SQLite in WAL mode with a 60 s busy
timeout and every write in BEGIN IMMEDIATE (receipts.stores.sqlite), so writers queue and
readers never block; a customer's receipts are written by the one process its key went to;
the archive's catch-up and the log's integration are single-element stages after every
write, so one process writes the archive files and the log; the home's run lock is held by
the launching process for the whole job (its workers do not inherit the descriptor).
And what makes the results the same bytes: a customer's chain depends only on its events
(in their order) and processed_at (transforms.chain.FixedClock fixes it for a
comparison); the archive and the log read the store in (customer, sequence) order.

The runner returns from `run()` only when the job is done and hands back its counters then:
`BackgroundRun` runs it in a thread, and the progress bar reads the job's tally
(transforms.tally) meanwhile.
"""

import logging
import os
import shlex
import shutil
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from transforms.tally import TALLY_FOLDER_VARIABLE, read_tally

PARALLEL_FROM = 10_000  # events: below, starting worker processes costs more than they save


def default_workers(events: int | None = None) -> int:
    """One worker per core this process may use; one, in this process, for a job of fewer
    than PARALLEL_FROM events, where starting the workers (a few seconds: each loads Beam)
    costs more than a second core saves (docs/PERFORMANCE.md)."""
    if events is not None and events < PARALLEL_FROM:
        return 1
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def job_folder() -> Path:
    """A folder for one job: its tally (transforms.tally) and its workers' log."""
    return Path(tempfile.mkdtemp(prefix="receipts-job-"))


def worker_runner(workers: int, folder: Path) -> tuple[object, dict]:
    """(the FnApiRunner, its PipelineOptions) for `workers` processes (1: this process). The
    workers are the runner's own `multi_processing` command with their stderr in
    `folder/workers.log`: their INFO lines (they set INFO before reading any option) would
    tear the progress bar, and what goes wrong in a worker reaches this process through the
    runner's logging service and its error anyway."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if workers == 1:
        return FnApiRunner(), {"direct_running_mode": "in_memory", "direct_num_workers": 1}
    log = shlex.quote(str(folder / "workers.log"))
    command = f"{shlex.quote(sys.executable)} -m apache_beam.runners.worker.sdk_worker_main 2>>{log}"
    environment = SubprocessSDKEnvironment.from_command_string(command_string=command)
    # No running mode: "multi_processing" would replace this environment with the same command
    # unredirected, and "in_memory" warns that N workers need another mode.
    return FnApiRunner(default_environment=environment), {"direct_running_mode": None, "direct_num_workers": workers}


class BackgroundRun:
    """A pipeline run on a thread of its own, shaped like a PipelineResult for the waiting
    (pipelines.progress.wait_reporting): `counts()` is the job's tally while it runs and its
    Beam counters once it is done. The tally folder is named to the workers through the
    environment (transforms.tally), so one BackgroundRun at a time per process."""

    def __init__(self, pipeline, folder: Path) -> None:
        """Run `pipeline` with `folder` (job_folder) as its tally; the folder is removed when
        the job succeeds, kept (and named in the log) when it fails."""
        self._pipeline, self._result, self._failure = pipeline, None, None
        self._folder = str(folder)
        self._previous = os.environ.get(TALLY_FOLDER_VARIABLE)
        os.environ[TALLY_FOLDER_VARIABLE] = self._folder  # before the runner starts its workers
        self._thread = threading.Thread(target=self._run, name="job-run", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._pipeline.run()
        except BaseException as error:  # raised by wait_until_finish, in the caller's thread
            self._failure = error
            logging.getLogger(__name__).error("the job failed; its workers' log: %s/workers.log", self._folder)
        finally:
            if self._previous is None:
                os.environ.pop(TALLY_FOLDER_VARIABLE, None)
            else:
                os.environ[TALLY_FOLDER_VARIABLE] = self._previous
            if self._failure is None:
                shutil.rmtree(self._folder, ignore_errors=True)

    def wait_until_finish(self, duration=None):
        self._thread.join(None if duration is None else duration / 1000)
        if self._thread.is_alive():
            return None
        if self._failure is not None:
            raise self._failure
        return self._result.state

    def metrics(self):
        """The finished job's Beam metrics."""
        self.wait_until_finish()
        return self._result.metrics()

    def counts(self) -> Counter:
        """How far the job is: its tally while it runs, its "receipts" counters when done."""
        if self._thread.is_alive():
            return read_tally(self._folder)
        from pipelines.progress import job_counts

        return job_counts(self, ("receipts",))
