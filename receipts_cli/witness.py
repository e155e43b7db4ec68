"""`receipts witness key|serve`: a C2SP tlog-witness for logs given by their vkeys. The
witness's key and its state live in the home's `witness/` folder (mode 0700; the key and
the state file 0600): a restarted witness keeps its key and every size it cosigned."""

import os
import socket
from pathlib import Path

import click

from receipts.stores.witness_state import FileWitnessState
from receipts.tlog.cosignatures import CosignatureSigner
from receipts.tlog.note_keys import COSIGNATURE_V1, NoteKeyError, generate_key, parse_private_key
from receipts.tlog.notes import is_valid_key_name
from receipts.tlog.witness import MAX_REQUEST_BYTES, Witness
from receipts_cli.home import Home
from receipts_cli.terminal import err, shown


def witness_folder(home: Home) -> Path:
    folder = home.root / "witness"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def default_name() -> str:
    return f"{socket.gethostname().lower() or 'localhost'}/witness"


def ensure_key(home: Home, name: str) -> tuple[CosignatureSigner, bool]:
    """The home's witness key, created (mode 0600) if absent; and whether it was created."""
    path = witness_folder(home) / "key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key(home), False
    with os.fdopen(descriptor, "w") as handle:
        handle.write(generate_key(name, COSIGNATURE_V1).private_key_string + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return load_key(home), True


def load_key(home: Home) -> CosignatureSigner:
    path = home.root / "witness" / "key"
    try:
        return CosignatureSigner(parse_private_key(path.read_text()))
    except FileNotFoundError:
        raise click.ClickException(f"no witness key in {path.parent}: run `receipts witness key` first") from None
    except (NoteKeyError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path} is not a witness key: {error}") from error


@click.group()
def witness() -> None:
    """A tlog-witness: cosigns the logs' checkpoints that are consistent with what it saw."""


@witness.command("key")
@click.option("--name", default=None, help="The witness's name when the key is created (default: HOSTNAME/witness).")
@click.pass_obj
def witness_key(home: Home, name: str | None) -> None:
    """Create the witness key in the home if absent (mode 0600); print its vkey."""
    name = name or default_name()
    if not is_valid_key_name(name):
        raise click.BadParameter("a name has no spaces, plus signs or control characters", param_hint="--name")
    signer, created = ensure_key(home, name)
    if created:
        err.print(f"Created the witness key {shown(signer.name)} in {shown(home.root / 'witness')}.")
    elif signer.name != name and name != default_name():
        err.print(f"The witness key exists already, named {shown(signer.name)}: kept.")
    click.echo(signer.vkey)


@witness.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--log",
    "log_vkeys",
    multiple=True,
    required=True,
    metavar="VKEY",
    help="A log to witness, by its checkpoint key (name+id+key; the name is its origin). Repeat for more.",
)
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Request threads.")
@click.pass_obj
def witness_serve(home: Home, host: str, port: int, log_vkeys: tuple[str, ...], threads: int) -> None:
    """Serve POST /add-checkpoint (and GET /<sha256 of origin>/checkpoint) until Ctrl-C."""
    from waitress import serve

    from receipts_cli.witness_server import create_witness_app

    signer = load_key(home)
    try:
        witness_ = Witness.for_vkeys(signer, log_vkeys, FileWitnessState(witness_folder(home) / "state.json"))
    except NoteKeyError as error:
        raise click.BadParameter(f"not a log's vkey: {error}", param_hint="--log") from error
    err.print(f"Witness {shown(signer.vkey)} for {shown(', '.join(witness_.logs))} on http://{shown(host)}:{port}")
    serve(
        create_witness_app(witness_),
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_REQUEST_BYTES,
        ident="receipts-witness",
    )


def register(main: click.Group) -> None:
    main.add_command(witness)
