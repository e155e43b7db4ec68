"""The transparency log as the site serves it: where its public files are (LOG_URL: the
log folder beside the archive, receipts.stores.log_files.log_url), the log's verifier key
(LOG_VKEY, the signed-note vkey string), the witnesses' keys and the quorum a verifier
should ask for (LOG_WITNESSES, LOG_WITNESS_QUORUM). Checkpoints, stored hashes and leaf
indexes come from the store; the latest published checkpoint is read through a small
cache (LOG_CACHE_SECONDS), and its size is what "published" means for every tile, proof
and consistency request: nothing past it is served, whatever the files or the store hold.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

from receipts.stores.log_files import LogFiles
from receipts.stores.log_locations import open_log_files
from receipts.tlog.checkpoints import Checkpoint, open_checkpoint, parse_checkpoint
from receipts.tlog.cosignatures import CosignatureVerifier
from receipts.tlog.note_keys import ED25519, NoteKeyError, NoteVerifier, parse_vkey
from receipts.tlog.notes import NoteError, open_note
from verifier_site.errors import SiteError
from verifier_site.storage import get_store

_threads = threading.local()
LOG_URL_HINT = "the log's folder (LOG_URL, e.g. HOME/archive/log, or gs://BUCKET/log)"


@dataclass(frozen=True)
class Published:
    """A checkpoint the log published: its note as signed, and what it says."""

    note: bytes
    checkpoint: Checkpoint


@dataclass(frozen=True)
class LogSettings:
    """The log's public identity as this site knows it (validated once, in the app factory)."""

    files_url: str | None
    verifier: NoteVerifier | None
    witnesses: tuple[CosignatureVerifier, ...]
    quorum: int

    @classmethod
    def from_config(cls, config: dict) -> "LogSettings":
        vkey = config.get("LOG_VKEY")
        verifier = None
        if vkey:
            try:
                key = parse_vkey(vkey)
            except NoteKeyError as error:
                raise ValueError(f"LOG_VKEY is not a verifier key (<origin>+<key id>+<base64>): {error}") from None
            if key.key_type != ED25519:
                raise ValueError("LOG_VKEY is not an Ed25519 note key (type 0x01): a log signs checkpoints with one")
            verifier = NoteVerifier(key)
        witnesses = []
        for vkey in config.get("LOG_WITNESSES") or ():
            try:
                witnesses.append(CosignatureVerifier.from_vkey(vkey))
            except (NoteKeyError, ValueError) as error:
                raise ValueError(f"LOG_WITNESSES holds {vkey!r}, not a cosignature/v1 verifier key: {error}") from None
        quorum = config.get("LOG_WITNESS_QUORUM") or 0
        if not (isinstance(quorum, int) and 0 <= quorum <= len(witnesses)):
            raise ValueError(f"LOG_WITNESS_QUORUM is 0 to the number of LOG_WITNESSES ({len(witnesses)})")
        return cls(config.get("LOG_URL") or None, verifier, tuple(witnesses), quorum)

    @property
    def origin(self) -> str | None:
        return self.verifier.name if self.verifier else None

    def policy(self) -> str:
        """The trust policy (C2SP tlog-policy) a verifier of this log's proofs may use."""
        lines = [f"log {self.verifier.key.vkey}"] if self.verifier else []
        names = [f"witness-{number}" for number in range(1, len(self.witnesses) + 1)]
        lines += [f"witness {name} {witness.key.vkey}" for name, witness in zip(names, self.witnesses, strict=True)]
        if self.quorum:
            lines += [f"group witnesses {self.quorum} {' '.join(names)}", "quorum witnesses"]
        else:
            lines.append("quorum none")
        return "".join(line + "\n" for line in lines)


class LatestCache:
    """The latest checkpoint and when it was read; one reader at a time."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._lock = threading.Lock()
        self._value: Published | None = None
        self._read_at: float | None = None

    def get(self, read: Callable[[], Published | None]) -> Published | None:
        with self._lock:
            if self._read_at is None or self.clock() - self._read_at >= self.seconds:
                self._value = read()
                self._read_at = self.clock()
            return self._value


def settings() -> LogSettings:
    return current_app.extensions["log"]


def log_files() -> LogFiles:
    """The log's public files (tiles and entry bundles); 404 when the site has no LOG_URL."""
    url = settings().files_url
    if url is None:
        raise SiteError(404, f"this site serves no log tiles: set {LOG_URL_HINT}", code="no_log")
    opened: dict[str, LogFiles] = _threads.__dict__.setdefault("log_files", {})  # a bucket client per thread
    files = opened.get(url)
    if files is None:
        files = opened[url] = open_log_files(url)
    return files


def opened(note: bytes) -> Published:
    """A checkpoint note the store keeps, checked with the log's key when the site has it
    (a checkpoint this site would serve but its own key refuses is a configuration error)."""
    verifier = settings().verifier
    try:
        if verifier is not None:
            checkpoint, _ = open_checkpoint(note, [verifier], verifier.name)
        else:
            text, _, _ = note.decode("utf-8").rpartition("\n\n")
            checkpoint = parse_checkpoint(text + "\n")
    except (NoteError, ValueError, UnicodeDecodeError) as error:
        current_app.logger.error("the store's checkpoint does not open with LOG_VKEY: %s", error)
        raise SiteError(
            503, "the log's checkpoint does not verify with this site's log key: tell the operator", code="log_damaged"
        ) from None
    return Published(note, checkpoint)


def latest() -> Published | None:
    """The latest published checkpoint, at most LOG_CACHE_SECONDS old; None before the first."""
    cache: LatestCache = current_app.extensions["log_latest"]

    def read() -> Published | None:
        note = get_store().latest_checkpoint()
        return None if note is None else opened(note)

    return cache.get(read)


def published_size() -> int:
    """The size of the latest published checkpoint (0 before the first)."""
    found = latest()
    return found.checkpoint.size if found else 0


def at_size(size: int) -> Published | None:
    """The checkpoint published for tree size `size`, if one was."""
    found = latest()
    if found is not None and found.checkpoint.size == size:
        return found
    if found is None or size > found.checkpoint.size:
        return None  # nothing past the latest is published, whatever the store holds meanwhile
    note = get_store().checkpoint(size)
    return None if note is None else opened(note)


def cosigners(note: bytes) -> list[str]:
    """The names of this site's witnesses whose cosignatures of the note verify (each
    witness on its own: one bad cosignature does not hide the others)."""
    names = set()
    for witness in settings().witnesses:
        try:
            open_note(note, [witness])
        except NoteError:
            continue  # not cosigned by this witness, or its cosignature fails: it counts for nothing
        names.add(witness.name)
    return sorted(names)


def init_app(app: Flask) -> None:
    app.extensions["log"] = LogSettings.from_config(app.config)
    app.extensions["log_latest"] = LatestCache(
        app.config["LOG_CACHE_SECONDS"], app.config["LOG_CLOCK"] or time.monotonic
    )
