"""Where the log's public files go (C2SP tlog-tiles below one root): tiles, entry bundles and
checkpoints, beside the archive: `<archive folder>/log/` locally, `gs://<bucket>/log/` on
Google Cloud. Every tile and bundle path is written once: the bytes of a path depend only on
the committed tree, so a path that exists with the same bytes is a replay, and one with
other bytes (another log's folder, a store reset under a kept archive) is refused, never
overwritten. Checkpoints are kept by size (`checkpoints/<size>`, written once); a folder
also has the latest at `checkpoint`, replaced as the log grows (a retention-locked bucket
cannot replace an object: the site serves the latest from the store)."""

import fcntl
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from receipts.tlog.checkpoints import parse_checkpoint
from receipts.tlog.tiles import Tile


class LogFileConflict(RuntimeError):
    """A log file exists with other bytes than the committed tree gives: nothing was overwritten."""


class LogFiles(Protocol):
    def write_once(self, path: str, data: bytes) -> bool:
        """Create `path` (below the log's root) holding `data`; False when it held these
        bytes already; LogFileConflict when it holds others."""
        ...

    def write_all(self, files: Mapping[str, bytes]) -> int:
        """write_once for each file (in any order, maybe at once); how many were new."""
        ...

    def publish_checkpoint(self, size: int, note: bytes) -> None:
        """Keep the signed checkpoint of `size` at checkpoints/<size> (and as the latest, where
        a file can be replaced)."""
        ...

    def read(self, path: str) -> bytes | None:
        """A file's bytes, None when absent."""
        ...

    def paths(self) -> list[str]:
        """Every file below the log's root (tiles, bundles, checkpoints/<size>), for a restore."""
        ...

    def where(self, path: str = "") -> str:
        """How messages name a file (or, with no path, the log's root)."""
        ...


def tile_fetcher(files: LogFiles) -> Callable[[Tile], bytes]:
    """The `fetch` a receipts.tlog TileHashReader takes, over published files: an absent
    tile reads as no bytes, which the reader refuses as it refuses any wrong tile."""
    return lambda tile: files.read(tile.path) or b""


def checkpoint_path(size: int) -> str:
    return f"checkpoints/{size}"


class FolderLogFiles:
    """The log in a local folder, laid out as a static tlog-tiles server serves it."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, path: str) -> Path:
        target = (self.folder / path).resolve()
        if self.folder.resolve() not in target.parents:
            raise ValueError(f"{path!r} is not a path below the log's folder")
        return target

    def write_once(self, path: str, data: bytes) -> bool:
        target = self._path(path)
        if target.exists():
            return self._same(path, target, data)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)  # public files: tiles and checkpoints hold no customer data
            try:
                os.link(temporary, target)  # whole or not at all, and never over an existing file
            except FileExistsError:
                return self._same(path, target, data)
        finally:
            Path(temporary).unlink(missing_ok=True)
        return True

    def _same(self, path: str, target: Path, data: bytes) -> bool:
        if target.read_bytes() != data:
            raise LogFileConflict(
                f"{target} holds other bytes than this log's {path}: the folder holds another log (or the store "
                "was reset under a kept archive). Nothing was overwritten; move the folder aside."
            )
        return False

    def write_all(self, files: Mapping[str, bytes]) -> int:
        return sum(self.write_once(path, data) for path, data in sorted(files.items()))

    def publish_checkpoint(self, size: int, note: bytes) -> None:
        self.write_once(checkpoint_path(size), note)
        latest = self.folder / "checkpoint"
        with open(self.folder / ".checkpoint.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two sequencers: the larger checkpoint stays the latest
            if latest.exists() and _size_of(latest.read_bytes()) >= size:
                return
            descriptor, temporary = tempfile.mkstemp(prefix=".checkpoint.", suffix=".tmp", dir=self.folder)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(note)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, latest)

    def read(self, path: str) -> bytes | None:
        target = self._path(path)
        return target.read_bytes() if target.is_file() else None

    def paths(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        found = (path.relative_to(self.folder).as_posix() for path in self.folder.rglob("*") if path.is_file())
        return sorted(path for path in found if not any(part.startswith(".") for part in path.split("/")))

    def where(self, path: str = "") -> str:
        return str(self.folder / path) if path else str(self.folder)


def _size_of(note: bytes) -> int:
    """The tree size a published checkpoint names (-1 when it is not one)."""
    text, _, _ = note.decode("utf-8", "replace").partition("\n\n")
    try:
        return parse_checkpoint(text + "\n").size
    except ValueError:
        return -1
