"""`receipts log verify`: a monitor of the transparency log (receipts.tlog.monitor), of a
site (`--site URL`: its /v1/log, /log/checkpoint and /log/tile/… as any client fetches
them) or of this home (its store's checkpoint and its tile files).

Each look checks the checkpoint's signature with the log's vkey and the witness policy,
reads every tile back to the signed root, and checks consistency with the checkpoint the
monitor saw last (kept in `--state`, written only after a look that passed). A fork or a
rollback is reported with both signed notes, which together prove it, and exits 2;
anything else that fails exits 1.
"""

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import click

from receipts.stores.log_files import tile_fetcher
from receipts.stores.log_locations import open_log_files
from receipts.stores.witnessing import WitnessPolicy
from receipts.tlog.cosignatures import CosignatureVerifier
from receipts.tlog.monitor import LogMisbehaved, Seen, look
from receipts.tlog.note_keys import NoteKeyError, NoteVerifier
from receipts.tlog.notes import NoteError
from receipts.tlog.tile_reader import TileError
from receipts.tlog.tiles import Tile
from receipts_cli.home import Home, store_of, write_atomically
from receipts_cli.log import log, log_origin, log_vkey
from receipts_cli.terminal import err, shown, visible_lines

MAX_FETCH_BYTES = 1 << 20  # a tile is 8 KiB, a checkpoint a few: anything bigger is not one
TIMEOUT_SECONDS = 30


class LogUnreachable(click.ClickException):
    """The site could not be asked (or would not answer): nothing about the log is known.
    `status` is the HTTP status of an answer that was an error, None when there was none."""

    def __init__(self, message: str, status: int | None = None, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


class Source:
    """Where a monitor reads the log: origin, vkey, witnesses, quorum, checkpoint, tiles."""

    origin: str
    vkey: str
    witnesses: list[str]
    quorum: int

    def checkpoint(self) -> bytes: ...

    def tile(self, tile: Tile) -> bytes: ...


class SiteSource(Source):
    def __init__(self, site: str) -> None:
        self.site = site.rstrip("/")
        try:
            described = json.loads(self._get("/v1/log"))
            self.origin, self.vkey = described["origin"], described["vkey"]
            self.witnesses = [witness["vkey"] for witness in described.get("witnesses") or []]
            self.quorum = int(described.get("quorum") or 0)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise LogUnreachable(f"{self.site}/v1/log does not describe a log: {error!r}") from error
        if not self.vkey:
            raise LogUnreachable(f"{self.site}/v1/log names no log key: the site has no log yet")

    def _get(self, path: str) -> bytes:
        try:
            with urllib.request.urlopen(self.site + path, timeout=TIMEOUT_SECONDS) as response:
                data = response.read(MAX_FETCH_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise LogUnreachable(f"{self.site}{path}: {error}", error.code, error.headers.get("Retry-After")) from error
        except (urllib.error.URLError, OSError) as error:
            raise LogUnreachable(f"{self.site}{path}: {error}") from error
        if len(data) > MAX_FETCH_BYTES:
            raise LogUnreachable(f"{self.site}{path} answered more than {MAX_FETCH_BYTES} bytes")
        return data

    def checkpoint(self) -> bytes:
        return self._get("/log/checkpoint")

    def tile(self, tile: Tile) -> bytes:
        return self._get("/log/" + tile.path)


class HomeSource(Source):
    def __init__(self, home: Home) -> None:
        self.store = store_of(home)
        self.origin, self.vkey = log_origin(home, self.store), log_vkey(home, self.store)
        policy = WitnessPolicy.parse(home.log_witnesses, home.log_witness_quorum)
        self.witnesses, self.quorum = [w.vkey for w in policy.witnesses], policy.quorum
        self.tile = tile_fetcher(open_log_files(home.log_url))

    def checkpoint(self) -> bytes:
        note = self.store.latest_checkpoint()
        if note is None:
            raise click.ClickException("the log has no checkpoint yet: `receipts log integrate` signs one")
        return note


def _previous(state: Path) -> Seen | None:
    if not state.exists():
        return None
    try:
        return Seen.from_json(json.loads(state.read_text()))
    except (ValueError, KeyError, TypeError) as error:
        raise click.ClickException(f"{state} is not a monitor's state: {error}") from error


@click.command("verify")
@click.option("--site", default=None, help="The verifier site to monitor (default: this home's log).")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the monitor keeps the last checkpoint it accepted (default: HOME/log/monitor.json).",
)
@click.option("--quorum", type=click.IntRange(min=0), default=None, help="Cosignatures required (default: the log's).")
@click.pass_obj
def log_verify(home: Home, site: str | None, state: Path | None, quorum: int | None) -> None:
    """Check the log's latest checkpoint, every tile and consistency with the last look."""
    source: Source = SiteSource(site) if site else HomeSource(home)
    state = state or home.log_folder / "monitor.json"
    previous = _previous(state)
    if previous is not None and previous.origin != source.origin:
        raise click.ClickException(f"{state} follows {previous.origin!r}, not {source.origin!r}: use another --state")
    try:
        witnesses = [CosignatureVerifier.from_vkey(vkey) for vkey in source.witnesses]
        looked = look(
            source.checkpoint(),
            source.tile,
            [NoteVerifier.from_vkey(source.vkey)],
            witnesses,
            source.quorum if quorum is None else quorum,
            source.origin,
            previous,
        )
    except LogMisbehaved as misbehaved:
        err.print(f"[red]The log misbehaved: {shown(misbehaved.reason)}[/]. The two signed checkpoints prove it:")
        for note in (misbehaved.earlier, misbehaved.later):  # line by line as signed, whatever it holds made visible
            err.print(visible_lines(note.decode("utf-8", "replace")), markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except (NoteError, NoteKeyError, TileError, ValueError) as error:
        err.print(f"[red]The log does not check out: {shown(error)}[/]")
        sys.exit(1)
    state.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(state, json.dumps(looked.seen.as_json(), indent=2).encode())
    cosigned = ", ".join(sorted(looked.witnessed.cosigned_by)) or "no witness"
    if not source.witnesses:
        cosigned = "no witness (none is configured: --log-witness)"
    since = f"{looked.grown_by} new since the last look" if previous else "the first look"
    err.print(
        f"[green]OK[/] {shown(source.origin)}: {looked.seen.size} leaves ({since}), every tile makes the signed "
        f"root, cosigned by {shown(cosigned)}."
    )


def register() -> None:
    """`log verify` in the `log` group (receipts_cli.log)."""
    log.add_command(log_verify)
