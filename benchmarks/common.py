"""What every benchmark shares: its entry in results.json, percentiles, and emulators of
its own. No Beam import here: ingest_load.py's server process loads this file too."""

import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")


def record(name: str, entry: dict[str, Any]) -> None:
    """Put `entry` under `name` in results.json, keeping the other benchmarks' entries."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[name] = entry
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def percentile(values: Iterable[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def emulators_in(folder: Path, names: Iterable[str] | None = None) -> Iterator[Any]:
    """Start the Cloud SDK emulators (all, or `names`) in `folder`, point this process at
    them, and stop them on the way out. Yields the receipts_cli.emulators.Emulators."""
    from receipts_cli.emulators import NAMES, Emulators

    emulators = Emulators(folder)
    emulators.up(names=tuple(names or NAMES))
    os.environ.update(emulators.environment())
    try:
        yield emulators
    finally:
        emulators.down()


def wait_for_receipts(store: Any, count: int, seconds: float = 300) -> None:
    """Until `store` holds `count` receipts; a RuntimeError after `seconds` (an event that
    became a dead letter, or a stuck job, must not hang a benchmark)."""
    deadline = time.monotonic() + seconds
    while (held := sum(1 for _ in store.receipts())) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{held} of {count} receipts after {seconds:.0f} s")
        time.sleep(0.5)
