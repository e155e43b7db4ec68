"""`receipts intake freeze|resume|status`: stop charging new usage while the ledger is in
doubt, and start again; and `receipts intake scrub`: drop the client addresses of API
submissions past their retention, keeping who (the key id) and when. Intake's state is one
row in the store (SQLite, or Spanner on gcp://) that every part reads: the site answers
503 `intake_frozen`, the pipelines keep each event that arrives meanwhile as an
`intake_frozen` dead letter, charged after resume by
`receipts dead-letters replay --reason intake_frozen`."""

from datetime import UTC, datetime, timedelta

import click

from receipts.producer.publisher import TOPIC
from receipts.records import INTAKE_FROZEN
from receipts.rows import IntakeState
from receipts_cli.cloud import gcp_location, signer_option, store_of
from receipts_cli.home import Home, HomeBusy
from receipts_cli.terminal import err, out, shown

MAX_REASON = 500
REPLAY = f"receipts dead-letters replay --reason {INTAKE_FROZEN}"
RESUME = "receipts intake resume"


def checked_reason(reason: str) -> str:
    """The reason as given: 1..500 printable characters (it is shown to customers on the site)."""
    if not reason.strip() or len(reason) > MAX_REASON or not reason.isprintable():
        raise click.BadParameter(
            f"give 1 to {MAX_REASON} printable characters (no newlines or control characters)", param_hint="--reason"
        )
    return reason


def checked_name(name: str) -> str:
    if not name.strip() or len(name) > 200 or not name.isprintable():
        raise click.BadParameter("give 1 to 200 printable characters", param_hint="--by")
    return name


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def freeze_intake(store, reason: str, by: str) -> IntakeState:
    """Freeze intake with `reason`; freezing again replaces the reason and the time."""
    state = IntakeState(True, reason, now(), by)
    store.set_intake(state)
    return state


def held_count(store) -> int:
    """Dead letters held while intake was frozen, not yet charged."""
    return sum(1 for letter in store.dead_letters() if letter.get("reason") == INTAKE_FROZEN)


def refuse_while_frozen(home: Home) -> None:
    """For `receipts run`: a frozen store refuses a new batch at once (exit 1), before any
    event is read."""
    state = store_of(home).intake()
    if state.frozen:
        raise click.ClickException(
            f"intake is frozen since {state.changed_at} by {state.changed_by}: {state.reason}. "
            f"Nothing was read or charged. Resume with `{RESUME}` once the ledger is sound, then run again."
        )


def print_state(state: IntakeState) -> None:
    if state.frozen:
        out.print(f"[red]frozen[/] since {shown(state.changed_at)} by {shown(state.changed_by)}")
        out.print(f"reason: {shown(state.reason)}", soft_wrap=True)
    elif state.changed_at:
        out.print(f"[green]open[/] since {shown(state.changed_at)} by {shown(state.changed_by)}")
    else:
        out.print("[green]open[/] (never frozen)")


@click.group()
def intake() -> None:
    """Freeze or resume intake: while frozen nothing new is charged and nothing sent is lost."""


@intake.command()
@click.option("--reason", required=True, help="Why (1-500 printable characters): customers see it on the site.")
@click.option("--by", "by", default="operator", show_default=True, help="Who freezes (kept with the state).")
@click.pass_obj
def freeze(home: Home, reason: str, by: str) -> None:
    """Stop charging: the site answers 503 intake_frozen and the pipelines hold new events."""
    state = freeze_intake(store_of(home), checked_reason(reason), checked_name(by))
    out.print(
        f"Intake [red]frozen[/] at {shown(state.changed_at)} by {shown(state.changed_by)}: {shown(reason)}",
        soft_wrap=True,
    )
    err.print(
        "New events are answered 503 by the site and kept as dead letters by the pipelines; "
        f"nothing is charged until `{RESUME}`.",
        soft_wrap=True,
    )


@intake.command()
@click.option("--by", "by", default="operator", show_default=True, help="Who resumes (kept with the state).")
@click.option(
    "--replay/--no-replay",
    default=True,
    show_default=True,
    help="Charge the events held while frozen now (`receipts dead-letters replay --reason intake_frozen`).",
)
@click.option(
    "--topic",
    default=None,
    help="Replay by publishing the held events to this topic, for the streaming job to charge (default for a "
    "gcp:// store: its billing-events topic; the embedded store replays through the batch steps).",
)
@signer_option
@click.pass_obj
def resume(home: Home, by: str, replay: bool, topic: str | None, signer: str | None) -> None:
    """Start charging again, then charge the events held while frozen, each once."""
    store = store_of(home)
    was = store.intake()
    state = IntakeState(False, "", now(), checked_name(by))
    store.set_intake(state)
    if was.frozen:
        out.print(f"Intake [green]open[/] at {shown(state.changed_at)} by {shown(state.changed_by)}.")
    else:
        out.print(f"Intake was not frozen; it is [green]open[/] ({shown(state.changed_at)}).")
    held = held_count(store)
    if not held:
        out.print(f"No events were held while frozen (`{REPLAY}` would find none).", soft_wrap=True)
        return
    if not replay:
        out.print(
            f"{held} event(s) held while frozen wait as dead letters; charge them with `{REPLAY}`.", soft_wrap=True
        )
        return
    from receipts_cli.replay import print_report, replay_dead_letters

    if topic is None and home.is_gcp:
        topic = f"projects/{gcp_location(home).project}/topics/{TOPIC}"
    out.print(f"Charging the {held} event(s) held while frozen" + (f" through {shown(topic)}" if topic else "") + "…")
    try:
        report = replay_dead_letters(home, [INTAKE_FROZEN], topic=topic, signer=signer)
    except (HomeBusy, ValueError) as error:
        raise click.ClickException(f"{error}; intake is open, run `{REPLAY}` to charge the held events") from error
    print_report(report)


@intake.command()
@click.pass_obj
def status(home: Home) -> None:
    """Whether intake is frozen, why, since when and by whom (exit 0 either way)."""
    print_state(store_of(home).intake())


@intake.command()
@click.option(
    "--retention-days",
    default=None,
    type=click.IntRange(1, 3650),
    help="Also drop every address older than this many days (after shortening the site's "
    "--address-retention-days): each address is otherwise kept until the deadline set when it was recorded.",
)
@click.pass_obj
def scrub(home: Home, retention_days: int | None) -> None:
    """Drop the client addresses of API submissions whose retention has passed; the key id,
    time and event hash of each submission stay. Safe to run at any time, and again."""
    moment = datetime.now(UTC)
    before = moment - timedelta(days=retention_days) if retention_days else None
    dropped = store_of(home).scrub_submission_addresses(moment, before)
    scope = f" or older than {retention_days} days" if retention_days else ""
    out.print(f"Dropped {dropped} client address(es) past their retention{scope}; every key id is kept.")


def register(main: click.Group) -> None:
    main.add_command(intake)
