"""`receipts verify --log SITE_OR_HOME`: every receipt and statement of the file must be in
the transparency log, under a checkpoint the log's key signed and enough witnesses cosigned
(receipts.tlog.held_entries).

The log is read where any client reads it: a verifier site's public files (its /v1/log,
/log/checkpoint and /log/tile/…, as the monitor `receipts log verify --site` reads them:
receipts_cli.log_verify.SiteSource), or a home's published folder (HOME/archive/log, its
`checkpoint` as published) with the home's key (HOME/log/log.key). Only the key is trusted,
and it should be pinned (`--log-vkey`): a key the log names itself proves only that the log
is consistent with itself; the output says which key was trusted.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from receipts.stores.log_files import FolderLogFiles, tile_fetcher
from receipts.stores.witnessing import WitnessPolicy
from receipts.tlog.checkpoints import CheckpointError
from receipts.tlog.cosignatures import CosignatureVerifier
from receipts.tlog.held_entries import Cosigned, Inclusion, cosigned, opened_checkpoint, prove_entries
from receipts.tlog.note_keys import NoteKeyError, NoteVerifier, parse_private_key
from receipts.tlog.notes import InvalidSignature, NoteError, UnverifiedNote
from receipts.tlog.tile_reader import TileError
from receipts.tlog.tiles import Tile
from receipts.verify import Check
from receipts_cli.home import Home
from receipts_cli.log_verify import MAX_FETCH_BYTES, LogUnreachable, SiteSource, Source
from receipts_cli.terminal import err, out, shown

MAX_RETRIES = 20  # rate limited answers waited out per fetch
MAX_RETRY_SECONDS = 10.0


class LogSite(SiteSource):
    """A site's log as `verify` reads it: a tile or bundle the site answers 404 for is absent
    (the reader then refuses the tree: the log's fault, exit 1), not an unreachable site; a
    429 is waited out as its Retry-After says (a large log is more bundles than the site's
    per-IP burst), a few times and never long."""

    def __init__(self, site: str) -> None:
        super().__init__(site)
        self.vkey_from = f"named by {self.site}/v1/log"

    def _get(self, path: str) -> bytes:
        for _ in range(MAX_RETRIES):
            try:
                return super()._get(path)
            except LogUnreachable as error:
                if error.status != 429:
                    raise
                time.sleep(_seconds(error.retry_after))
        return super()._get(path)

    def tile(self, tile: Tile) -> bytes:
        try:
            return super().tile(tile)
        except LogUnreachable as error:
            if error.status == 404:
                return b""
            raise


def _seconds(retry_after: str | None) -> float:
    """A Retry-After in seconds, bounded: what a hostile site says cannot stall us."""
    try:
        return min(max(float(retry_after or 1), 0.1), MAX_RETRY_SECONDS)
    except ValueError:
        return 1.0


class PublishedHome(Source):
    """A home's published log folder (HOME/archive/log) and its log key, read as files: no
    store is opened and no key is made."""

    def __init__(self, root: Path, witnesses: tuple[str, ...], quorum: int | None) -> None:
        self.files = FolderLogFiles(root / "archive" / "log")
        key = root / "log" / "log.key"
        self.vkey, self.vkey_from = "", f"{key} is missing"
        if key.is_file():
            try:
                self.vkey = parse_private_key(key.read_text()).public.vkey
            except (NoteKeyError, ValueError, UnicodeDecodeError) as error:
                raise click.ClickException(f"{key} is not a log key: {error}") from error
            self.vkey_from = f"the home's {key}"
        self.origin = self.vkey.partition("+")[0]
        policy = WitnessPolicy.parse(witnesses, quorum)
        self.witnesses, self.quorum = [witness.vkey for witness in policy.witnesses], policy.quorum
        fetch = tile_fetcher(self.files)
        self.tile = lambda tile: _capped(fetch(tile), self.files.where(tile.path))

    def checkpoint(self) -> bytes:
        note = self.files.read("checkpoint")
        if note is None:
            raise LogUnreachable(f"{self.files.where('checkpoint')} is missing: the home has published no checkpoint")
        return _capped(note, self.files.where("checkpoint"))


def _capped(data: bytes, where: str) -> bytes:
    if len(data) > MAX_FETCH_BYTES:
        raise LogUnreachable(f"{where} holds more than {MAX_FETCH_BYTES} bytes: no tile or checkpoint is that big")
    return data


LogSource = LogSite | PublishedHome


def open_source(location: str, home: Home) -> LogSource:
    """The log at `--log`: an http(s) URL is a verifier site, anything else a home's folder.
    Witnesses given with --log-witness replace the site's own (a pinned witness policy)."""
    if location.startswith(("https://", "http://")):
        source = LogSite(location)
        if home.log_witnesses:
            policy = WitnessPolicy.parse(home.log_witnesses, home.log_witness_quorum)
            source.witnesses, source.quorum = [witness.vkey for witness in policy.witnesses], policy.quorum
        return source
    if "://" in location:
        raise click.BadParameter("a verifier site's http(s) URL, or a home's folder", param_hint="--log")
    root = Path(location)
    if not root.is_dir():
        raise click.BadParameter(f"{location} is neither an http(s) URL nor a home's folder", param_hint="--log")
    return PublishedHome(root, home.log_witnesses, home.log_witness_quorum)


@dataclass
class LogReport:
    """What the log says of a file's entries: each entry's Inclusion (empty when the checkpoint
    could not be trusted), the log-level failures, and what was trusted."""

    inclusions: dict[bytes, Inclusion] = field(default_factory=dict)
    failures: list[Check] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    proven: bool = False  # the checkpoint was trusted and every entry looked up

    def checks_of(self, entry: bytes | None, before: Sequence[Check]) -> list[Check]:
        """The `log_inclusion` check of one receipt's or statement's entry, after `before`."""
        step = len(before) + 1
        inclusion = self.inclusions.get(entry) if entry is not None else None
        if inclusion is None:
            return [Check(step, "log_inclusion", False, "no hash to look up in the log")]
        if not inclusion.ok:
            return [Check(step, "log_inclusion", False, inclusion.problem or "")]
        return [Check(step, "log_inclusion", True, f"leaf {inclusion.index}")]


def check_log(source: LogSource, pinned_vkey: str | None, quorum: int | None, entries: set[bytes]) -> LogReport:
    """Open the source's checkpoint with the trusted key, count its cosignatures and prove
    every entry (not `proven` when the checkpoint or the tiles cannot be trusted)."""
    report = LogReport()
    vkey = pinned_vkey or source.vkey
    trusted = "pinned with --log-vkey" if pinned_vkey else f"{source.vkey_from}: not pinned, --log-vkey pins it"
    if not vkey:
        raise click.UsageError(f"no log key to trust ({source.vkey_from}): pass --log-vkey VKEY")
    try:
        verifier = NoteVerifier.from_vkey(vkey)
        witnesses = [CosignatureVerifier.from_vkey(witness) for witness in source.witnesses]
    except NoteKeyError as error:
        raise click.BadParameter(str(error), param_hint="--log-vkey" if pinned_vkey else "--log") from error
    if pinned_vkey and source.vkey and source.vkey != pinned_vkey:
        report.said.append(f"the log names another key, {source.vkey}; trusting the pinned one")
    report.said.append(f"trusted log key {vkey} ({trusted})")
    try:
        checkpoint, note = opened_checkpoint(source.checkpoint(), verifier, verifier.name)
    except InvalidSignature:
        return _failed(report, "log_checkpoint", f"bad signature: the log key {vkey} does not verify its signature")
    except UnverifiedNote:
        return _failed(report, "log_checkpoint", f"not signed by the trusted log key {vkey}")
    except (NoteError, CheckpointError, ValueError) as error:
        return _failed(report, "log_checkpoint", f"not a checkpoint of {verifier.name}: {error}")
    try:
        witnessed: Cosigned = cosigned(note, witnesses, source.quorum if quorum is None else quorum)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--quorum") from error
    if not witnessed.ok:
        report.failures.append(Check(0, "log_witnesses", False, witnessed.reason))
    report.said.append(f"checkpoint of {checkpoint.size} leaves of {verifier.name}, {witnessed.reason}")
    try:
        report.inclusions = prove_entries(checkpoint, source.tile, entries)
    except TileError as error:
        return _failed(report, "log_tiles", f"the log's tiles do not make its signed root: {error}")
    report.proven = True
    return report


def _failed(report: LogReport, check: str, reason: str) -> LogReport:
    report.failures.append(Check(0, check, False, reason))
    return report


def print_log_report(report: LogReport) -> None:
    """The log's own lines: what was trusted, and each log-level failure."""
    for line in report.said:
        err.print(f"log: {shown(line)}", soft_wrap=True)
    for check in report.failures:
        out.print(f"[red]FAIL[/] log: {check.check}: {shown(check.reason)}", soft_wrap=True)
