"""Commands for the Google Cloud side: the local emulators, `init`, `publish`, `stream`.

They work on `--store gcp://PROJECT`; against the emulators `receipts emulators up`
started for this `--home`, no variable needs to be exported.
"""

import time
from collections import Counter
from pathlib import Path

import click
from rich.progress import Progress

from receipts.producer.publisher import DEAD_LETTER_TOPIC, SUBSCRIPTION, TOPIC
from receipts.text import visible
from receipts_cli.console import pipeline_counts
from receipts_cli.emulators import DEFAULT_PROJECT, NAMES, EmulatorError, Emulators, answers, export_lines
from receipts_cli.home import Home, HomeBusy, store_of
from receipts_cli.terminal import err, shown

DEFAULT_STORE = f"gcp://{DEFAULT_PROJECT}"

signer_option = click.option(
    "--signer",
    default=None,
    envvar="RECEIPTS_SIGNER",
    help="Sign with this key instead of the home's key ring (env RECEIPTS_SIGNER): "
    "kms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N, file:///PATH/key.pem, or "
    "delegated://kms/…/cryptoKeyVersions/N?wrap=…/cryptoKeys/K&window=1d (daily keys the HSM key endorses; "
    "delegated://local/HOME/keys at home).",
)
kms_key_option = click.option(
    "--kms-key",
    "kms_keys",
    multiple=True,
    envvar="RECEIPTS_KMS_KEYS",
    metavar="VERSION",
    help="A Cloud KMS key version, projects/…/cryptoKeyVersions/N; repeat it for every version receipts were "
    "signed with, current first (env RECEIPTS_KMS_KEYS, separated by spaces).",
)


def kms_public_key(name: str):
    """A KMS key version's checked public key; a ClickException saying what to fix otherwise."""
    from google.api_core import exceptions as api_exceptions

    from receipts.stores.gcp.kms import KmsIntegrityError, fetch_public_key, kms_client

    try:
        return fetch_public_key(kms_client(), name)
    except (ValueError, KmsIntegrityError) as error:
        raise click.ClickException(str(error)) from error
    except api_exceptions.GoogleAPICallError as error:
        raise click.ClickException(
            f"Cloud KMS refused GetPublicKey for {name}: {error.message}. Check the name and that you may "
            "view its public key (roles/cloudkms.publicKeyViewer)."
        ) from error


def kms_jwks(names: tuple[str, ...]) -> dict:
    """The JWKS of KMS key versions, in the order given."""
    return {"keys": [kms_public_key(name).jwk for name in names]}


def gcp_location(home: Home):
    """The store's GcpLocation; a usage error when the store is not gcp://."""
    from receipts.stores.gcp.location import GcpLocation

    if not home.is_gcp:
        raise click.UsageError(
            f"this command needs a Google Cloud store: pass --store {DEFAULT_STORE} (or env RECEIPTS_STORE)"
        )
    try:
        return GcpLocation.parse(home.store_url)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@click.group()
def emulators() -> None:
    """The local Google Cloud: Pub/Sub, Spanner, Firestore and Cloud Storage emulators."""


@emulators.command("up")
@click.option("--project", default=DEFAULT_PROJECT, show_default=True, help="Project id the emulators serve.")
@click.option(
    "--port",
    "ports",
    multiple=True,
    metavar="NAME=PORT",
    help=f"Fixed port for one emulator ({', '.join(NAMES)}); default: free ports.",
)
@click.pass_obj
def emulators_up(home: Home, project: str, ports: tuple[str, ...]) -> None:
    """Start the four emulators (those not running yet) and wait until each answers.
    Prints one `export NAME=value` line per variable; later commands find them anyway."""
    wanted = {}
    for item in ports:
        name, _, port = item.partition("=")
        if name not in NAMES or not port.isdigit():
            raise click.BadParameter(
                f"{item!r}: use NAME=PORT with NAME one of {', '.join(NAMES)}", param_hint="--port"
            )
        wanted[name] = int(port)
    try:
        with err.status("Starting the emulators…") as status:
            running = Emulators(home.emulators).up(
                project, wanted, progress=lambda text: status.update(shown(text) + "…")
            )
    except EmulatorError as error:
        raise click.ClickException(str(error)) from error
    for item in running.values():
        err.print(shown(f"{item.name:<10} pid {item.pid:<8} {item.value:<28} log {item.log}"))
    click.echo("\n".join(map(visible, export_lines(Emulators(home.emulators).environment()))))
    err.print(f"Next: receipts --home {shown(home.root)} --store gcp://{shown(project)} init")


@emulators.command("down")
@click.pass_obj
def emulators_down(home: Home) -> None:
    """Stop the emulators this home started."""
    stopped = Emulators(home.emulators).down()
    err.print(f"Stopped {shown(', '.join(stopped))}." if stopped else "No emulator of this home was running.")


@emulators.command("status")
@click.pass_obj
def emulators_status(home: Home) -> None:
    """Which emulators run, on which port, and whether each answers."""
    running = Emulators(home.emulators).running()
    for name in NAMES:
        item = running.get(name)
        if item is None:
            click.echo(f"{name:<10} stopped")
        else:
            state = "answering" if answers(item) else "NOT answering"
            click.echo(visible(f"{name:<10} {state:<14} pid {item.pid:<8} {item.variable}={item.value}"))
    if len(running) < len(NAMES):
        err.print(f"Start them with: receipts --home {shown(home.root)} emulators up")


@click.command()
@click.option(
    "--spanner-config", default=None, help="Spanner instance config (default: the emulator's, or regional-us-central1)."
)
@click.pass_obj
def init(home: Home, spanner_config: str | None) -> None:
    """Create the topic, subscription, dead-letter topic, Spanner instance and database,
    archive bucket and Firestore indexes. What exists is kept."""
    from receipts_cli.provision import init as provision

    location = gcp_location(home)
    provision(location, spanner_config=spanner_config, report=lambda line: err.print(shown(line)))
    ready = f"receipts --home {home.root} --store {home.store_url} publish --input EVENTS.jsonl"
    err.print(f"Ready. Publish with: {shown(ready)}")


@click.command()
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False), help="JSONL file.")
@click.option("--topic", default=TOPIC, show_default=True, help="Topic name or projects/P/topics/T.")
@click.pass_obj
def publish(home: Home, input_path: str, topic: str) -> None:
    """Publish each line as one Pub/Sub message (idempotent_key and customer_id as attributes)."""
    from receipts.producer.publisher import jsonl_messages, publish_lines

    location = gcp_location(home)
    lines = list(jsonl_messages(Path(input_path)))
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"Publishing to {shown(topic)}", total=len(lines))
        ids = publish_lines(location.project, topic, lines, lambda n: progress.advance(task, n))
    err.print(f"Published {len(ids)} message(s) from {shown(input_path)} to {shown(topic)}.")


@click.command()
@click.option("--subscription", default=SUBSCRIPTION, show_default=True, help="Name or projects/P/subscriptions/S.")
@click.option(
    "--dead-letter-topic", default=DEAD_LETTER_TOPIC, show_default=True, help="Where dead letters are published."
)
@click.option(
    "--run-for",
    type=click.FloatRange(min=1),
    default=None,
    help="Stop after this many seconds (default: until Ctrl-C).",
)
@click.option(
    "--until-receipts",
    type=click.IntRange(min=1),
    default=None,
    help="Stop once this many receipts are written (within --run-for, if given): work off a backlog.",
)
@click.option(
    "--archive-window",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Seconds per archive window: the archive catches up when one closes.",
)
@signer_option
@click.pass_obj
def stream(
    home: Home,
    subscription: str,
    dead_letter_topic: str,
    run_for: float | None,
    until_receipts: int | None,
    archive_window: int,
    signer: str | None,
) -> None:
    """Run the streaming pipeline (DirectRunner) until stopped, printing throughput."""
    try:
        with home.exclusive_run():
            counts = run_stream(
                home, subscription, dead_letter_topic, run_for, archive_window, signer, until_receipts=until_receipts
            )
    except (HomeBusy, ValueError) as error:  # ValueError: an unusable --signer
        raise click.ClickException(str(error)) from error
    from receipts_cli.archive import caught_up, unarchived_problem
    from receipts_cli.console import print_run_summary
    from receipts_cli.log import integrated, log_line, unlogged_problem

    store = store_of(home)
    drained = caught_up(store, gcp_location(home).archive_url, "Draining the open archive windows")
    counts["receipts_archived"] += drained.new
    logged = integrated(home, store, "Logging what the last interval stored")
    counts["receipts_logged"] += logged.logged
    print_run_summary(counts)
    if logged.ok:
        err.print(shown(log_line(logged)))
    problems = [p for p in (unarchived_problem(store, home, drained), unlogged_problem(store, home, logged)) if p]
    for problem in problems:
        err.print(f"[red]{shown(problem)}[/]")
    if problems:
        raise SystemExit(1)


def run_stream(
    home: Home,
    subscription: str,
    dead_letter_topic: str | None,
    run_for: float | None,
    archive_window: int = 300,
    signer: str | None = None,
    until_receipts: int | None = None,
):
    """Run the streaming job for `run_for` seconds (None: until interrupted), or until it has
    written `until_receipts` receipts; return its counts. It signs with `signer` (a signer
    URL) or the home's current key."""
    from pipelines.streaming import StreamSettings
    from pipelines.streaming import run_for as run_job
    from receipts_cli.log import log_identity

    location = gcp_location(home)
    log_origin, log_signer = log_identity(home, store_of(home))
    settings = StreamSettings(
        subscription=_path(location.project, "subscriptions", subscription),
        store=home.store_url,
        keys=str(home.keys),
        kid=None if signer else home.keyring().current_kid,
        archive=location.archive_url,
        dead_letter_topic=_path(location.project, "topics", dead_letter_topic) if dead_letter_topic else None,
        archive_window_seconds=archive_window,
        signer=signer,
        log_origin=log_origin,
        log_signer=log_signer,
        log_witnesses=home.log_witnesses,
        log_witness_quorum=home.log_witness_quorum,
    )
    started = time.monotonic()
    last: dict = {}

    def tick(result) -> None:
        counts = pipeline_counts(result)
        elapsed = max(time.monotonic() - started, 1e-9)
        events = counts["events_valid"] + counts["events_invalid"]
        err.print(
            f"{elapsed:6.0f} s  events {events} ({events / elapsed:.1f}/s)  receipts {counts['receipts_written']}  "
            f"accepted {counts['receipts_accepted']}  rejected {counts['receipts_rejected']}  "
            f"duplicates {counts['duplicates']}  dead letters {counts['dead_letters']}  "
            f"archived {counts['receipts_archived']}  logged {counts['receipts_logged']}"
        )
        last["counts"] = counts

    err.print(
        f"Streaming from {shown(settings.subscription)} into {shown(home.store_url)}"
        + (f" for {run_for:.0f} s" if run_for else "")
        + (f" until {until_receipts} receipts are written" if until_receipts else "")
        + ("" if run_for or until_receipts else "; Ctrl-C stops")
        + "."
    )

    def done(result) -> bool:
        return until_receipts is not None and pipeline_counts(result)["receipts_written"] >= until_receipts

    try:
        result = run_job(settings, run_for, tick, every=1.0 if until_receipts else 5.0, done=done)
    except KeyboardInterrupt:
        err.print("Stopping…")
        return last.get("counts") or Counter()
    return pipeline_counts(result)


def _path(project: str, kind: str, name: str) -> str:
    return name if name.startswith("projects/") else f"projects/{project}/{kind}/{name}"


def register(main: click.Group) -> None:
    for command in (emulators, init, publish, stream):
        main.add_command(command)
