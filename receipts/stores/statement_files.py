"""The archive of statements: one write-once object per statement, its export line, at
`statements/PERIOD/STATEMENT_ID.jsonl` beside the receipts' archive: `<archive folder>/statements/`
for a home (FolderStatements), `gs://BUCKET/statements/` for the Google Cloud store
(receipts.stores.gcp.bucket_statements). `receipts statements close` writes each statement
there after its store commit; `receipts restore` reads them back (receipts.stores.statements_restore).

Write-once, never overwritten: a statement is never amended, so its object's bytes are
fixed. The same bytes again (a rerun, a retry whose answer was lost) are a replay; other
bytes under the name are a StatementArchiveConflict naming the object, and nothing is written.
"""

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from receipts.records import export_line
from receipts.statements.periods import Period

STATEMENTS = "statements"  # the folder (or bucket prefix) beside the receipts' archive
SYNCS = 16  # concurrent fsyncs of a batch's files: a journal commits them together
BATCH = 64  # statements per write_all of a catch-up
_STATEMENT_ID = re.compile(r"s_[a-z2-7]{26}")


class StatementArchiveConflict(RuntimeError):
    """The archive holds other bytes under a statement's name: nothing was overwritten."""


class StatementArchive(Protocol):
    def write_once(self, path: str, data: bytes) -> bool:
        """Create `path` (PERIOD/STATEMENT_ID.jsonl) holding `data`; False when it held these
        bytes already; StatementArchiveConflict when it holds others."""
        ...

    def write_all(self, files: Mapping[str, bytes]) -> int:
        """write_once for each file (maybe at once); how many were new."""
        ...

    def paths(self) -> list[str]:
        """Every object below the archive's root, in name order (a restore reads them all)."""
        ...

    def read(self, path: str) -> bytes: ...

    def where(self, path: str = "") -> str:
        """How messages name an object (or, with no path, the archive's root)."""
        ...


def statements_url(archive_url: str) -> str:
    """Where the statements of the archive at `archive_url` go: `<folder>/statements`, or, for
    gs://bucket/prefix, gs://bucket/statements (beside the receipts' objects, as the log is)."""
    if archive_url.startswith("gs://"):
        return f"gs://{urlparse(archive_url).netloc}/{STATEMENTS}"
    return str(Path(archive_url) / STATEMENTS)


def statement_path(statement: dict[str, Any]) -> str:
    """`2026-11/s_….jsonl`: named by what the statement is, so writing it again names the same
    object. A statement whose period or id could name another path is refused."""
    period, statement_id = statement.get("period"), statement.get("statement_id")
    if not isinstance(statement_id, str) or not _STATEMENT_ID.fullmatch(statement_id):
        raise ValueError(f"not a statement id: {str(statement_id)[:40]!r}")
    return f"{Period.parse(str(period))}/{statement_id}.jsonl"


def archive_statements(statements: Iterable[dict[str, Any]], archive: StatementArchive) -> int:
    """Archive each statement the archive lacks (`receipts archive catch-up`: statements closed
    before the archive held them, or a close killed between its commits and its archive
    writes); how many were new. StatementArchiveConflict on one that differs."""
    written, batch = 0, {}
    for statement in statements:
        batch[statement_path(statement)] = export_line(statement)
        if len(batch) >= BATCH:
            written, batch = written + archive.write_all(batch), {}
    return written + (archive.write_all(batch) if batch else 0)


def conflict(where: str) -> StatementArchiveConflict:
    return StatementArchiveConflict(
        f"{where} holds another statement than the one stored under its name: nothing was overwritten. "
        "A statement is never amended: compare the two (`receipts statements export`) before anything else."
    )


class FolderStatements:
    """The statements' archive in a local folder (a home's `archive/statements/`). Files are
    created whole (a temporary file linked into place, which fails if the name exists) and
    private: statements hold customers' totals."""

    SUFFIX = ".jsonl"  # what paths() lists (the key documents' archive lists .jws)

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def conflict(self, where: str) -> RuntimeError:
        return conflict(where)

    def _path(self, path: str) -> Path:
        target = (self.folder / path).resolve()
        if self.folder.resolve() not in target.parents:
            raise ValueError(f"{path!r} is not a path below the statements' archive")
        return target

    def write_once(self, path: str, data: bytes) -> bool:
        return self.write_all({path: data}) == 1

    def write_all(self, files: Mapping[str, bytes]) -> int:
        """Each file's bytes to a synced temporary file (the syncs at once: one at a time would
        wait a disk flush each), then linked into place, which fails if the name exists: a
        file is there whole or not at all, and never over another."""
        new = {}
        for path, data in sorted(files.items()):
            target = self._path(path)
            if not (target.exists() and not self._same(path, target, data)):
                new[path] = target
        if not new:
            return 0
        temporaries = {}
        try:
            for path, target in new.items():
                target.parent.mkdir(parents=True, exist_ok=True)
                descriptor, temporaries[path] = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
                )
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(files[path])
            with ThreadPoolExecutor(min(SYNCS, len(new)), thread_name_prefix="statement-sync") as pool:
                list(pool.map(_sync, temporaries.values()))
            written = 0
            for path, target in new.items():
                try:
                    os.link(temporaries[path], target)
                    written += 1
                except FileExistsError:  # another writer of the same close got there first
                    self._same(path, target, files[path])
            return written
        finally:
            for temporary in temporaries.values():
                Path(temporary).unlink(missing_ok=True)

    def _same(self, path: str, target: Path, data: bytes) -> bool:
        if target.read_bytes() != data:
            raise self.conflict(self.where(path))
        return False

    def paths(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(str(path.relative_to(self.folder)) for path in self.folder.rglob(f"*{self.SUFFIX}"))

    def read(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def where(self, path: str = "") -> str:
        return str(self.folder / path) if path else str(self.folder)


def _sync(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
