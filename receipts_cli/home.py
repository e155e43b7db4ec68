"""Where the embedded default keeps things: one folder (`--home`, `RECEIPTS_HOME`)."""

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from receipts.stores import open_store
from receipts.stores.keyring import KeyRing


class HomeBusy(RuntimeError):
    """Another process is running the pipeline on this home."""


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` whole: written to a temporary file of its own in the same
    folder (created with `mode`), synced, then renamed over it. A reader, or a concurrent
    writer, sees the old file or the new one, never a mix or an empty file."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Home:
    root: Path
    store_url_override: str | None = None
    log_origin_override: str | None = None  # --log-origin (env RECEIPTS_LOG_ORIGIN)
    log_signer_override: str | None = None  # --log-signer (env RECEIPTS_LOG_SIGNER)
    log_witnesses: tuple[str, ...] = ()  # --log-witness VKEY@URL (env RECEIPTS_LOG_WITNESS)
    log_witness_quorum: int | None = None  # --log-witness-quorum (default: every witness)

    @property
    def store_url(self) -> str:
        return self.store_url_override or f"sqlite:///{(self.root / 'receipts.db').resolve()}"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def is_gcp(self) -> bool:
        return self.store_url.startswith("gcp://")

    @property
    def archive_url(self) -> str:
        """Where the pipeline archives receipts: the store's bucket for gcp://, else archive/."""
        if self.is_gcp:
            from receipts.stores.gcp.location import GcpLocation

            return GcpLocation.parse(self.store_url).archive_url
        return str(self.archive)

    @property
    def log_url(self) -> str:
        """Where the log's tiles and checkpoints go: beside the archive (archive/log, or gs://BUCKET/log)."""
        from receipts.stores.log_locations import log_url

        return log_url(self.archive_url)

    @property
    def log_folder(self) -> Path:
        """The home's log identity: `origin` (its default origin) and `log.key` (mode 0600)."""
        return self.root / "log"

    @property
    def emulators(self) -> Path:
        return self.root / "emulators"

    def use_running_emulators(self) -> dict[str, str]:
        """Point this process at the emulators `receipts emulators up` started for this home,
        unless the variables are set already; return what was set."""
        from receipts_cli.emulators import Emulators

        applied = {}
        for name, value in Emulators(self.emulators).environment().items():
            if not os.environ.get(name):
                os.environ[name] = value
                applied[name] = value
        return applied

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    def keyring(self) -> KeyRing:
        """The signing key ring; the first key is created on first use (mode 0600)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return KeyRing(self.keys)

    @contextmanager
    def taking_turns(self, name: str) -> Iterator[None]:
        """Hold the home's lock `name`, waiting for it: short steps that concurrent commands
        on one home must take one at a time (the demo's API key: create or reuse)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield  # closing the file releases the lock

    @contextmanager
    def exclusive_run(self) -> Iterator[None]:
        """Hold the home's run lock: one pipeline run at a time chains its customers.

        Two runs would both continue each customer's chain from the same head; the store
        refuses the loser's receipts (kept as dead letters), but refusing to start is clearer.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "run.lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.seek(0)
                holder = lock.read().strip() or "another process"
                raise HomeBusy(
                    f"{holder} is already running the pipeline on {self.root}; wait for it to finish"
                ) from None
            lock.truncate(0)
            lock.write(f"pid {os.getpid()}")
            lock.flush()
            try:
                yield
            finally:
                lock.truncate(0)


def store_of(home: Home):
    """The home's store; a usage error saying what is wrong with its URL otherwise."""
    try:
        return open_store(home.store_url)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
