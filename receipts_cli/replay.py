"""`receipts dead-letters replay`: charge what was parked and can be charged now.

Two reasons park an event that nothing is wrong with: `intake_frozen` (held while intake
was frozen) and `receipt_conflict` (a receipt the store refused; its raw message is the
event). Such a dead letter is replayable while the store holds no receipt for its key; it
is already charged when the store holds one for the same event. Every other dead letter
is invalid input or a conflict, listed with why it cannot be replayed.

Replayable messages go through the charging steps again (pipelines/replay.py), or to a
Pub/Sub topic a streaming job reads (`--topic`), with the same idempotency: replaying
twice charges once, and a message that dead-letters again is still one dead letter.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import click
from rich.table import Table

from receipts import events
from receipts.events import Event, parse_event
from receipts.records import INTAKE_FROZEN, RECEIPT_CONFLICT, DeadLetter, Message
from receipts_cli.cloud import gcp_location, signer_option, store_of
from receipts_cli.home import Home, HomeBusy
from receipts_cli.terminal import err, out, shown

REPLAYABLE_REASONS = frozenset({INTAKE_FROZEN, RECEIPT_CONFLICT})
INVALID_INPUT = frozenset(
    {
        events.INVALID_ENCODING,
        events.MESSAGE_TOO_LARGE,
        events.MALFORMED_JSON,
        events.NOT_AN_OBJECT,
        events.MISSING_FIELD,
        events.UNKNOWN_FIELD,
        events.INVALID_IDEMPOTENT_KEY,
        events.INVALID_CUSTOMER_ID,
        events.INVALID_AMOUNT,
        events.TOO_MANY_FRACTION_DIGITS,
        events.UNKNOWN_CURRENCY,
        events.INVALID_TIMESTAMP,
        events.TIMESTAMP_IN_FUTURE,
        events.INVALID_ENTITLEMENT_ID,
        events.INVALID_USAGE_DESCRIPTION,
    }
)

REPLAYABLE, ALREADY_CHARGED, NOT_REPLAYABLE = "replayable", "already charged", "not replayable"
REPLAYED, PUBLISHED, NOT_CHARGED = "replayed", "published", "not charged"


@dataclass(frozen=True)
class Parked:
    """One dead letter and what replay makes of it: `outcome` with `why` (or the receipt id)."""

    dead_letter_id: str
    letter: DeadLetter
    outcome: str
    why: str = ""


@dataclass
class ReplayReport:
    """What a replay found and did, one entry per selected dead letter; `unknown_ids` are
    the --id values no dead letter has."""

    parked: list[Parked] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    topic: str | None = None
    dry_run: bool = False

    def having(self, outcome: str) -> list[Parked]:
        return [item for item in self.parked if item.outcome == outcome]


def classify(letter: DeadLetter, store, dead_letter_id: str) -> Parked:
    """Can this dead letter be charged now? Asks the store's idempotency rows only."""
    if letter.reason in INVALID_INPUT:
        why = f"invalid input ({letter.reason}): the producer must fix the message and send it again"
        return Parked(dead_letter_id, letter, NOT_REPLAYABLE, why)
    if letter.reason == events.IDEMPOTENCY_CONFLICT:
        why = "its key was charged for another payload: send it again under a new idempotent_key"
        return Parked(dead_letter_id, letter, NOT_REPLAYABLE, why)
    if letter.reason not in REPLAYABLE_REASONS:
        return Parked(dead_letter_id, letter, NOT_REPLAYABLE, f"reason {letter.reason} is not one replay knows")
    event = parse_event(letter.raw, datetime.now(UTC))
    if not isinstance(event, Event):
        why = f"its message is not a valid event ({event.reason}): the producer must fix it and send it again"
        return Parked(dead_letter_id, letter, NOT_REPLAYABLE, why)
    held = store.lookup_idempotency(event.customer_id, event.idempotent_key)
    if held is None:
        return Parked(dead_letter_id, letter, REPLAYABLE)
    if held.event_sha256 == event.event_sha256:
        return Parked(dead_letter_id, letter, ALREADY_CHARGED, f"receipt {held.receipt_id}")
    why = f"its key is held by a different event (receipt {held.receipt_id}): send it under a new idempotent_key"
    return Parked(dead_letter_id, letter, NOT_REPLAYABLE, why)


def selected(records: Iterable[dict], reasons: Collection[str], ids: Collection[str]) -> list[tuple[str, DeadLetter]]:
    """(id, letter) of the dead letters with one of `reasons` and one of `ids` (empty: any)."""
    chosen = []
    for record in records:
        letter = DeadLetter.from_export(record)
        dead_letter_id = record.get("dead_letter_id") or letter.dead_letter_id
        if (not reasons or letter.reason in reasons) and (not ids or dead_letter_id in ids):
            chosen.append((dead_letter_id, letter))
    return chosen


def replay_dead_letters(
    home: Home,
    reasons: Collection[str] = (),
    ids: Collection[str] = (),
    topic: str | None = None,
    signer: str | None = None,
    dry_run: bool = False,
) -> ReplayReport:
    """Classify the selected dead letters and replay the replayable ones: through the replay
    job (holding the home's run lock), or published to `topic` (a gcp:// store only).
    Raises HomeBusy when another run holds the home, ValueError for an unusable signer."""
    store = store_of(home)
    try:
        chosen = selected(store.dead_letters(), set(reasons), set(ids))
        known = {dead_letter_id for dead_letter_id, _ in chosen}
        report = ReplayReport(unknown_ids=[i for i in ids if i not in known], topic=topic, dry_run=dry_run)
        report.parked = [classify(letter, store, dead_letter_id) for dead_letter_id, letter in chosen]
        ready = report.having(REPLAYABLE)
        if dry_run or not ready:
            return report
        if topic is not None:
            _publish(home, topic, ready)
            report.parked = [_now(i, PUBLISHED, f"to {topic}") if i.outcome == REPLAYABLE else i for i in report.parked]
            return report
        _charge(home, ready, signer)
        report.parked = [_checked(i, store) if i.outcome == REPLAYABLE else i for i in report.parked]
        return report
    finally:
        store.close()


def _now(item: Parked, outcome: str, why: str) -> Parked:
    return Parked(item.dead_letter_id, item.letter, outcome, why)


def _checked(item: Parked, store) -> Parked:
    """After the replay job: charged (the receipt holds its key) or parked again, and why."""
    after = classify(item.letter, store, item.dead_letter_id)
    if after.outcome == ALREADY_CHARGED:
        return _now(item, REPLAYED, after.why)
    why = after.why or "the replay parked it again: see `receipts dead-letters`"
    return _now(item, NOT_CHARGED, why)


def _messages(items: list[Parked]) -> list[Message]:
    """The raw messages in their recorded order, which dedup keeps for a key's events."""
    return [Message(item.letter.message_id, item.letter.raw, position) for position, item in enumerate(items, 1)]


def _charge(home: Home, items: list[Parked], signer: str | None) -> None:
    with (
        home.exclusive_run(),
        err.status(f"Replaying {len(items)} dead letter(s) through the charging steps (Beam, batch)…"),
    ):
        from pipelines.replay import ReplaySettings, run  # Beam loads only for commands that run it
        from receipts_cli.log import log_identity

        kid = None if signer else home.keyring().current_kid
        log_origin, log_signer = log_identity(home, store_of(home))
        settings = ReplaySettings(
            home.store_url,
            str(home.keys),
            kid,
            home.archive_url,
            signer=signer,
            log_origin=log_origin,
            log_signer=log_signer,
            log_witnesses=home.log_witnesses,
            log_witness_quorum=home.log_witness_quorum,
        )
        run(_messages(items), settings)


def _publish(home: Home, topic: str, items: list[Parked]) -> None:
    from receipts.producer.publisher import publish_lines

    location = gcp_location(home)
    with err.status(f"Publishing {len(items)} dead letter(s) to {shown(topic)}…"):
        publish_lines(location.project, topic, [item.letter.raw for item in items])


def print_report(report: ReplayReport) -> None:
    """One row per dead letter, its outcome and why; every value from a dead letter shown as text."""
    table = Table("dead letter", "reason", "customer", "idempotent key", "outcome", "why / receipt", title="Replay")
    for item in report.parked:
        letter = item.letter
        row = (item.dead_letter_id, letter.reason, letter.customer_id or "", letter.idempotent_key or "")
        table.add_row(*map(shown, (*row, item.outcome, item.why)))
    out.print(table)
    counts = {name: len(report.having(name)) for name in (REPLAYED, PUBLISHED, ALREADY_CHARGED, NOT_CHARGED)}
    counts[REPLAYABLE] = len(report.having(REPLAYABLE))
    counts[NOT_REPLAYABLE] = len(report.having(NOT_REPLAYABLE))
    summary = ", ".join(f"{count} {name}" for name, count in counts.items() if count)
    err.print(f"{len(report.parked)} dead letter(s): {summary or 'nothing to replay'}.")
    if report.dry_run and counts[REPLAYABLE]:
        err.print("Dry run: nothing was replayed. Run it again without --dry-run to charge them.")
    if counts[PUBLISHED]:
        err.print(f"Published to {shown(report.topic)}: the streaming job charges them once.")


@click.command("replay")
@click.option("--reason", "reasons", multiple=True, metavar="REASON", help="Only dead letters with this reason.")
@click.option("--id", "ids", multiple=True, metavar="ID", help="Only this dead letter (its dead_letter_id).")
@click.option(
    "--topic",
    default=None,
    help="Publish the replayable messages to this Pub/Sub topic (name or projects/P/topics/T) for the "
    "streaming job to charge, instead of charging them here (gcp:// stores only).",
)
@click.option("--dry-run", is_flag=True, help="Only classify and print; replay nothing.")
@signer_option
@click.pass_obj
def replay(
    home: Home, reasons: tuple[str, ...], ids: tuple[str, ...], topic: str | None, dry_run: bool, signer: str | None
) -> None:
    """Charge the dead letters that can be charged now (intake_frozen; receipt_conflict whose
    key is still free), with the same idempotency: replaying twice charges once. The others
    are listed with why. --reason and --id narrow the selection (repeat them)."""
    if topic is not None and not home.is_gcp:
        gcp_location(home)  # a usage error naming the store to pass
    try:
        report = replay_dead_letters(home, reasons, ids, topic=topic, signer=signer, dry_run=dry_run)
    except click.ClickException:
        raise
    except (HomeBusy, ValueError) as error:  # ValueError: an unusable --signer
        raise click.ClickException(str(error)) from error
    except Exception as error:  # the job or the publishing failed: say so, exit 1
        raise click.ClickException(
            f"the replay failed: {error}. Nothing was charged twice: fix the cause and run it again"
        ) from error
    for unknown in report.unknown_ids:
        err.print(f"No dead letter has id {shown(unknown)}: list them with `receipts dead-letters`.")
    print_report(report)


def register(group: click.Group) -> None:
    group.add_command(replay)
