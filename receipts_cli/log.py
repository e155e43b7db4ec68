"""`receipts log integrate|info`: the transparency log of every stored receipt (docs/LOG.md),
and the log identity a home gives the jobs: its origin and its checkpoint key.

The origin is, in order: --log-origin (env RECEIPTS_LOG_ORIGIN), the home's own (HOME/log/
origin), the origin the store's log already has, or a new `receipts.local/<12 hex>` kept in
HOME/log/origin. The key is --log-signer (env RECEIPTS_LOG_SIGNER) or HOME/log/log.key, a
note key named for the origin, made on first use (mode 0600). `receipts run` and `stream`
end with the same check as `archive`: a run that could not log what it stored exits 1 and
names the command that finishes the job.
"""

import base64
import json
import os
import secrets
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from receipts.stores.log_locations import open_log_files
from receipts.stores.log_sequencer import LogOriginMismatch, LogRun, integrate_log
from receipts.stores.log_signers import create_key_file, log_signer_from_url, vkey_of
from receipts.stores.witnessing import Witnesses, WitnessPolicy, witnessed_line
from receipts.tlog.checkpoints import origin_problem
from receipts_cli.home import Home, store_of
from receipts_cli.terminal import err, out, shown

INTEGRATE = "receipts log integrate"
DEFAULT_DOMAIN = "receipts.local"


def log_origin(home: Home, store) -> str:
    """The log's origin for this home and store (the module's docstring says in what order)."""
    if home.log_origin_override:
        problem = origin_problem(home.log_origin_override)
        if problem:
            raise click.BadParameter(problem, param_hint="--log-origin")
        return home.log_origin_override
    path = home.log_folder / "origin"
    if not path.exists():
        state = store.log_state()
        _create_once(path, (state.origin if state else f"{DEFAULT_DOMAIN}/{secrets.token_hex(6)}") + "\n")
    return path.read_text().strip()


def log_signer_url(home: Home, origin: str) -> str:
    """--log-signer, or the home's note key for `origin` (made on first use, mode 0600)."""
    if home.log_signer_override:
        return home.log_signer_override
    key = home.log_folder / "log.key"
    create_key_file(key, origin)
    return key.resolve().as_uri()


def log_identity(home: Home, store) -> tuple[str, str]:
    """(origin, signer URL) of the log the jobs of this home integrate; a usage error when
    the store's log has another origin (one store, one log)."""
    origin = log_origin(home, store)
    state = store.log_state()
    if state is not None and state.origin != origin:
        raise click.UsageError(
            f"the store's log is {state.origin!r}, not {origin!r}: pass --log-origin {state.origin} (or leave it out)"
        )
    return origin, log_signer_url(home, origin)


def log_vkey(home: Home, store) -> str:
    """The verifier key (vkey) of the log this home's jobs integrate."""
    origin, signer_url = log_identity(home, store)
    try:
        return vkey_of(log_signer_from_url(signer_url, origin))
    except ValueError as error:  # an unusable --log-signer: say which
        raise click.ClickException(str(error)) from error


def _create_once(path: Path, text: str) -> None:
    """Write `path` whole unless it exists: concurrent first uses agree on one origin."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_text(text)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def integrated(home: Home, store, what: str = "Logging") -> LogRun:
    """Integrate everything stored and not logged, with a progress bar of the receipts logged."""
    origin, signer_url = log_identity(home, store)
    try:
        signer = log_signer_from_url(signer_url, origin)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    files = open_log_files(home.log_url)
    witnesses = Witnesses(WitnessPolicy.parse(home.log_witnesses, home.log_witness_quorum))
    total = store.unlogged_count()
    if not total:  # nothing to show progress of: a checkpoint at most
        return integrate_log(store, files, signer, origin, witnesses=witnesses)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"{what} into {shown(home.log_url)}", total=total)
        return integrate_log(
            store,
            files,
            signer,
            origin,
            on_append=lambda appended: progress.advance(task, len(appended.leaves)),
            witnesses=witnesses,
        )


def unlogged_problem(store, home: Home, run: LogRun | None = None) -> str | None:
    """None when the log holds every stored receipt and a checkpoint of them; else what is
    missing, why if known, and the command that finishes the job."""
    left = store.unlogged_count()
    state = store.log_state()
    if left:
        missing = f"{left} receipt(s) are stored but not in the transparency log"
    elif state is not None and state.tiles_size < state.size:
        missing = f"the transparency log's tiles are published through {state.tiles_size} of its {state.size} entries"
    elif state is not None and store.checkpoint(state.size) is None:
        missing = f"the transparency log's checkpoint of its {state.size} entries is not signed yet"
    elif run is None or run.ok:
        return None
    else:
        missing = "the transparency log could not sign a checkpoint"
    why = f" (the last attempt: {run.failed[0]})" if run and run.failed else ""
    command = f"receipts --home {home.root}" + (f" --store {home.store_url}" if home.store_url_override else "")
    return f"{missing}{why}. Nothing is lost: the log is derived from the store. `{command} log integrate` finishes it."


def checkpoint_line(home: Home, store) -> str | None:
    """The log's size and its latest checkpoint's witnesses, for the end of a run; None
    before the first checkpoint."""
    state = store.log_state()
    note = store.checkpoint(state.size) if state is not None else None
    if note is None:
        return None
    witnessed = witnessed_line(note, WitnessPolicy.parse(home.log_witnesses, home.log_witness_quorum))
    return f"The transparency log holds {state.size} receipt(s); checkpoint signed for {state.size}.{witnessed}"


def log_line(run: LogRun) -> str:
    line = f"The transparency log holds {run.size} receipt(s) ({run.logged} new); checkpoint signed for {run.size}."
    witnessing = run.witnessing
    if witnessing is not None:
        line += f" Cosigned by {len(witnessing.cosigned_by)} witness(es) of the {witnessing.quorum} needed"
        line += "." if witnessing.quorum_met else f", below the quorum: {'; '.join(witnessing.failures.values())}."
    return line


def published_problem(home: Home, store, receipt_ids: list[str]) -> tuple[int, str | None]:
    """(size, None) when the latest checkpoint opens with the log's vkey, the published tiles
    make its root (every tile checked, as a client reads them) and every receipt id given is
    a leaf of it; else (size, what is wrong)."""
    from receipts.stores.log_files import tile_fetcher
    from receipts.tlog.monitor import LogMisbehaved, look
    from receipts.tlog.note_keys import NoteVerifier

    note = store.latest_checkpoint()
    if note is None:
        return 0, "no checkpoint is signed yet"
    files = open_log_files(home.log_url)
    try:
        verifier = NoteVerifier.from_vkey(log_vkey(home, store))
        checkpoint = look(note, tile_fetcher(files), [verifier], [], 0, log_origin(home, store)).witnessed.checkpoint
    except LogMisbehaved as error:
        return 0, error.reason
    except (ValueError, LookupError) as error:  # a note, key or tile that does not check out
        return 0, str(error)
    indexes = {rid: store.log_leaf_index(rid) for rid in receipt_ids}
    outside = [rid for rid, index in indexes.items() if index is None or index >= checkpoint.size]
    if outside:
        return checkpoint.size, f"{len(outside)} receipt(s) are not leaves of the checkpoint, e.g. {outside[0]}"
    return checkpoint.size, None


@click.group()
def log() -> None:
    """The transparency log: every stored receipt a leaf, checkpoints signed by the log's key."""


@log.command("integrate")
@click.pass_obj
def log_integrate(home: Home) -> None:
    """Log every stored receipt the log does not hold yet (receipts from before the log, a
    job killed between storing and logging), publish the tiles and sign a checkpoint. Safe
    at any time, beside a running job and twice: no receipt is logged twice. Exit 1 if
    anything is still not logged."""
    store = store_of(home)
    try:
        run = integrated(home, store)
    except LogOriginMismatch as error:  # another sequencer set it meanwhile
        raise click.UsageError(str(error)) from error
    if run.ok:
        err.print(shown(log_line(run)))
    problem = unlogged_problem(store, home, run)
    if problem:
        err.print(f"[red]{shown(problem)}[/]")
        sys.exit(1)
    err.print("[green]OK[/] the log holds every stored receipt.")


@log.command("info")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: origin, vkey, size, root, checkpoint, …")
@click.pass_obj
def log_info(home: Home, as_json: bool) -> None:
    """The log's origin, verifier key (vkey), size and latest checkpoint, and where its tiles are."""
    store = store_of(home)
    origin, vkey = log_origin(home, store), log_vkey(home, store)
    state = store.log_state()
    note = store.latest_checkpoint()
    described = {
        "origin": origin,
        "vkey": vkey,
        "size": state.size if state else 0,
        "root": base64.b64encode(state.root).decode() if state else None,
        "tiles": home.log_url,
        "unlogged": store.unlogged_count(),
        "checkpoint": note.decode("utf-8", "replace") if note else None,
    }
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    table = Table(show_header=False, title="Transparency log")
    for name in ("origin", "size", "root", "tiles", "unlogged"):
        table.add_row(name, shown(described[name] if described[name] is not None else "-"))
    out.print(table)
    out.print(f"Verifier key (vkey): {shown(vkey)}", soft_wrap=True)  # one line: copied whole
    if note:
        out.print("Latest checkpoint (signed note):")
        for line in described["checkpoint"].split("\n"):
            out.print(shown(line), soft_wrap=True)
    else:
        err.print(f"No checkpoint yet: `{INTEGRATE}` signs the first.")


def register(main: click.Group) -> None:
    main.add_command(log)
