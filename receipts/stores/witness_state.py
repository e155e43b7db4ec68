"""A witness's state in one JSON file (receipts.tlog.witness.WitnessState): per log
origin, the last size, root and checkpoint it cosigned.

An update holds an exclusive lock (a lock file beside it, so every process and thread of
a host takes turns), reads the file, lets the witness decide, and only then replaces the
file whole: written to a temporary file (mode 0600), synced, renamed over the old one,
the folder synced. A crash leaves the old state or the new one, and an answer is sent
only once its state is on disk; a restarted witness starts where it stopped.
"""

import base64
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from receipts.tlog.witness import LogState

VERSION = 1


class WitnessStateError(RuntimeError):
    """A state file this version cannot read: never overwritten, never guessed at."""


def _state_of(record: dict[str, Any]) -> LogState:
    return LogState(
        size=int(record["size"]),
        root=base64.b64decode(record["root"], validate=True),
        checkpoint=record["checkpoint"].encode(),
        cosigned_at=int(record["cosigned_at"]),
    )


def _record_of(state: LogState) -> dict[str, Any]:
    return {
        "size": state.size,
        "root": base64.b64encode(state.root).decode(),
        "checkpoint": state.checkpoint.decode(),
        "cosigned_at": state.cosigned_at,
    }


class FileWitnessState:
    """The state at `path` (created on the first cosignature, mode 0600)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._threads = threading.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError as error:
            raise WitnessStateError(f"{self.path} is not a witness state file: {error}") from error
        if not isinstance(document, dict) or document.get("v") != VERSION or not isinstance(document.get("logs"), dict):
            raise WitnessStateError(f"{self.path} is not a version {VERSION} witness state file")
        return document["logs"]

    def latest(self, origin: str) -> LogState | None:
        record = self._read().get(origin)
        return None if record is None else _state_of(record)

    def update(self, origin: str, step: Callable[[LogState | None], LogState | None]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._threads, open(self.path.with_name(f".{self.path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            logs = self._read()
            record = logs.get(origin)
            new = step(None if record is None else _state_of(record))
            if new is not None:
                logs[origin] = _record_of(new)
                self._write({"v": VERSION, "logs": logs})

    def _write(self, document: dict[str, Any]) -> None:
        data = json.dumps(document, indent=1, sort_keys=True).encode()
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a crash
        finally:
            os.close(folder)
