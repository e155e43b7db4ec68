"""Live counts beside the Beam counters, for a runner that reports counters only at the end.

The FnApiRunner (`receipts run`'s runner, pipelines/workers.py) hands a job's Beam counters
back once the job is done, and with several worker processes they live in those processes
until then: a progress bar that polls them would stand still. A `TalliedCounter` counts
into its Beam counter as before and, while the job's tally folder is set (the variable
TALLY_FOLDER_VARIABLE, which the launching process sets before the runner starts its
workers, so every worker inherits it), also into a per-process tally that a thread writes to
`<folder>/<pid>.json` every FLUSH_SECONDS (replaced whole, so a reader never sees half a
file). The launcher sums the files. The tally only feeds the bar: the run's summary reads
the Beam counters of the finished job.
"""

import json
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from apache_beam.metrics import Metrics

TALLY_FOLDER_VARIABLE = "RECEIPTS_TALLY_FOLDER"
FLUSH_SECONDS = 0.25
NAMESPACE = "receipts"

_lock = threading.Lock()
_tallies: dict[str, "_ProcessTally"] = {}


class TalliedCounter:
    """A Beam counter in the "receipts" namespace that also counts into the job's tally."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counter = Metrics.counter(NAMESPACE, name)

    def inc(self, n: int = 1) -> None:
        self.counter.inc(n)
        folder = os.environ.get(TALLY_FOLDER_VARIABLE)
        if folder:
            _tally_in(folder).add(self.name, n)


def _tally_in(folder: str) -> "_ProcessTally":
    tally = _tallies.get(folder)
    if tally is None:
        with _lock:
            tally = _tallies.get(folder)
            if tally is None:
                tally = _tallies[folder] = _ProcessTally(Path(folder))
    return tally


class _ProcessTally:
    """This process's counts for one job; a daemon thread writes them while they change, and
    stops once the folder is gone (the job is over and its launcher removed it)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.counts, self.changed = folder, Counter(), False
        self.lock = threading.Lock()
        threading.Thread(target=self._write_while_the_folder_lasts, name="receipts-tally", daemon=True).start()

    def add(self, name: str, n: int) -> None:
        with self.lock:
            self.counts[name] += n
            self.changed = True

    def _write_while_the_folder_lasts(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            if not self.write():
                return

    def write(self) -> bool:
        """Write the counts if they changed; False once the folder is gone."""
        with self.lock:
            if not self.changed:
                return self.folder.is_dir()
            data, self.changed = json.dumps(self.counts).encode(), False
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=".tally.", dir=self.folder)
        except FileNotFoundError:
            return False
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        try:
            os.replace(temporary, self.folder / f"{os.getpid()}.json")
        except FileNotFoundError:
            return False
        return True


def read_tally(folder: str | Path) -> Counter:
    """The counts every process of a job has written to `folder` so far, summed."""
    counts: Counter = Counter()
    for path in Path(folder).glob("*.json"):
        try:
            counts.update(json.loads(path.read_bytes()))
        except (FileNotFoundError, ValueError):
            continue  # a file replaced or removed while we read: the next poll has it
    return counts
