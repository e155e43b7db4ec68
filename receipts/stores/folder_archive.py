"""The local archive: every receipt as a JSONL line (export format) in one file per
hour of event time. A file's name depends only on its window, and its content only on
the receipts in it, so replaying input rewrites identical files."""

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

WINDOW_FORMAT = "receipts-{date}T{hour}.jsonl"


def window_name(event_timestamp: str) -> str:
    """File name of the hourly window holding a receipt with this `event_timestamp`."""
    date, time = event_timestamp[:10], event_timestamp[11:13]
    return WINDOW_FORMAT.format(date=date, hour=time)


def merge_into(folder: Path, name: str, lines: Iterable[bytes]) -> int:
    """Merge export lines into one window file, atomically; return how many were new. A
    replay (every line there already, byte for byte) leaves the file untouched."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        records = dict(_keyed(_read_lines(path)))
        before = len(records)
        incoming = dict(_keyed(lines))
        if all(records.get(receipt_id) == record for receipt_id, record in incoming.items()):
            return 0
        records.update(incoming)
        ordered = sorted(records.values(), key=_order)
        temporary = path.with_name(f".{name}.tmp")
        with open(temporary, "wb") as handle:
            handle.writelines(line for _, line in ordered)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        return len(records) - before


def read_archive(folder: Path) -> Iterator[dict[str, Any]]:
    """Every archived receipt, file by file."""
    for path in window_files(folder):
        for line in _read_lines(path):
            yield json.loads(line)


def window_files(folder: Path) -> list[Path]:
    """The archive's window files, in name (time) order."""
    return sorted(Path(folder).glob("receipts-*.jsonl"))


class FolderArchive:
    """The folder read file by file, the way `BucketArchive` reads its objects."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def objects(self) -> list[str]:
        return [str(path) for path in window_files(self.folder)]

    def read(self, name: str) -> bytes:
        return Path(name).read_bytes()

    def where(self, name: str) -> str:
        return Path(name).name


def _read_lines(path: Path) -> Iterator[bytes]:
    if not path.exists():
        return
    for line in path.read_bytes().split(b"\n"):  # "\n" only: U+2028 may sit inside a string
        if line:
            yield line + b"\n"


def _keyed(lines: Iterable[bytes]) -> Iterator[tuple[str, tuple[tuple[str, int], bytes]]]:
    for line in lines:
        record = json.loads(line)
        yield record["receipt_id"], ((record["customer_id"], record["sequence"]), line)


def _order(item: tuple[tuple[str, int], bytes]) -> tuple[str, int]:
    return item[0]
