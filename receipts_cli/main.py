"""The `receipts` command: run the pipeline, export, verify, manage keys and entitlements."""

import json
import logging
import sys
from pathlib import Path

import click
from rich.table import Table

from receipts.currencies import MINOR_UNITS
from receipts.events import ID_PATTERN
from receipts.ledger import Entitlement
from receipts.money import AmountError, parse_amount
from receipts.records import dumps_line, export_line
from receipts.stores.witnessing import WitnessPolicy
from receipts_cli.archive import register as register_archive_commands
from receipts_cli.cloud import kms_key_option, signer_option, store_of
from receipts_cli.cloud import register as register_cloud_commands
from receipts_cli.console import print_run_summary, run_pipeline
from receipts_cli.delegated_keys import register as register_delegated_key_commands
from receipts_cli.delegated_keys import with_delegated_keys
from receipts_cli.home import Home, HomeBusy
from receipts_cli.intake import refuse_while_frozen
from receipts_cli.intake import register as register_intake_commands
from receipts_cli.log import register as register_log_commands
from receipts_cli.log_verify import register as register_log_verify
from receipts_cli.reconcile import register as register_reconcile_command
from receipts_cli.replay import register as register_replay_command
from receipts_cli.restore import CannotRestore
from receipts_cli.restore import register as register_restore_command
from receipts_cli.restore_keys import register as register_key_restore
from receipts_cli.site import register as register_site_commands
from receipts_cli.statements import register as register_statement_commands
from receipts_cli.terminal import TerminalGroup, err, out, shown
from receipts_cli.verify import register as register_verify_command
from receipts_cli.witness import register as register_witness_commands


@click.group(cls=TerminalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RECEIPTS_HOME",
    default=Path(".receipts"),
    show_default=True,
    help="Folder for the SQLite store, the archive/ and the local signing keys (env RECEIPTS_HOME).",
)
@click.option(
    "--store",
    "store_url",
    envvar="RECEIPTS_STORE",
    default=None,
    help="Store URL (env RECEIPTS_STORE): sqlite:///PATH or gcp://PROJECT[?instance=&database=&bucket=]. "
    "Default: sqlite:///HOME/receipts.db",
)
@click.option(
    "--log-origin",
    "log_origin",
    envvar="RECEIPTS_LOG_ORIGIN",
    default=None,
    help="The transparency log's origin (env RECEIPTS_LOG_ORIGIN): a URL without scheme, no spaces or '+'. "
    "Default: the store's log, else this home's own (receipts.local/…, kept in HOME/log/origin).",
)
@click.option(
    "--log-signer",
    "log_signer",
    envvar="RECEIPTS_LOG_SIGNER",
    default=None,
    help="The log's checkpoint key (env RECEIPTS_LOG_SIGNER): kms://projects/…/cryptoKeyVersions/N "
    "(EC_SIGN_ED25519) or file:///PATH/log.key. Default: HOME/log/log.key, made on first use (0600).",
)
@click.option(
    "--log-witness",
    "log_witnesses",
    envvar="RECEIPTS_LOG_WITNESS",
    multiple=True,
    help="A witness that cosigns each checkpoint, as VKEY@URL (repeatable; env RECEIPTS_LOG_WITNESS, "
    "space-separated): its C2SP tlog-witness endpoint and its cosignature key.",
)
@click.option(
    "--log-witness-quorum",
    "log_witness_quorum",
    envvar="RECEIPTS_LOG_WITNESS_QUORUM",
    type=click.IntRange(min=0),
    default=None,
    help="Cosignatures a checkpoint needs (default: every witness); one with fewer is published, flagged.",
)
@click.version_option(package_name="verifiable-receipts")
@click.pass_context
def main(
    context: click.Context,
    home: Path,
    store_url: str | None,
    log_origin: str | None,
    log_signer: str | None,
    log_witnesses: tuple[str, ...],
    log_witness_quorum: int | None,
) -> None:
    """Verifiable billing receipts: hash-chained, RS256-signed, checkable with public math."""
    logging.basicConfig(level=logging.ERROR)  # Beam's import-time chatter is not for users
    try:
        WitnessPolicy.parse(log_witnesses, log_witness_quorum)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--log-witness") from error
    context.obj = Home(home, store_url, log_origin, log_signer, tuple(log_witnesses), log_witness_quorum)
    if context.obj.is_gcp:
        context.obj.use_running_emulators()


@main.command()
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL file: one raw event message per line.",
)
@signer_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per core, or 1 for a file of fewer than 10,000 events; 1: in this "
    "process). Same results for any number.",
)
@click.pass_obj
def run(home: Home, input_path: str, signer: str | None, workers: int | None) -> None:
    """Run the Beam pipeline in batch mode over a JSONL file of events (refused while
    intake is frozen: `receipts intake status`)."""
    refuse_while_frozen(home)
    try:
        counts = run_pipeline(home, input_path, signer, workers)
    except HomeBusy as error:
        raise click.ClickException(str(error)) from error
    except ValueError as error:  # an unusable --signer
        raise click.ClickException(str(error)) from error
    print_run_summary(counts)
    _exit_if_behind(home)


def _exit_if_behind(home: Home) -> None:
    """Say how big the log is; exit 1, saying how many and what finishes the job, when the
    archive or the transparency log lacks stored receipts."""
    from receipts_cli.archive import unarchived_problem
    from receipts_cli.log import checkpoint_line, integrated, unlogged_problem

    store = store_of(home)
    run = integrated(home, store) if unlogged_problem(store, home) else None  # once more: it may be passing, or say why
    line = checkpoint_line(home, store)
    if line:
        err.print(shown(line))
    problems = [p for p in (unarchived_problem(store, home), unlogged_problem(store, home, run)) if p]
    for problem in problems:
        err.print(f"[red]{shown(problem)}[/]")
    if problems:
        sys.exit(1)


@main.command()
@click.option("--customer", default=None, help="Only this customer's receipts.")
@click.pass_obj
def export(home: Home, customer: str | None) -> None:
    """Every receipt as one JSON object per line: body fields, receipt_hash, signature."""
    store = store_of(home)
    out = sys.stdout.buffer
    for record in store.receipts(customer):
        out.write(export_line(record))
    out.flush()


@main.group("dead-letters", invoke_without_command=True)
@click.pass_context
def dead_letters(context: click.Context) -> None:
    """Every dead letter as one JSON object per line, with its reason and raw message
    (ASCII: other characters as JSON escapes, so none reaches a terminal raw); `replay`
    charges those that can be charged now."""
    if context.invoked_subcommand is None:
        for record in store_of(context.obj).dead_letters():
            click.echo(dumps_line(record))


@main.command()
@click.pass_obj
def balances(home: Home) -> None:
    """Balances per customer and currency, as stored."""
    table = Table("customer", "currency", "balance", "as of sequence")
    for balance in store_of(home).balances():
        table.add_row(*map(shown, (balance.customer_id, balance.currency, balance.balance, balance.as_of_sequence)))
    out.print(table)


@main.group()
def keys() -> None:
    """Signing keys: the JWKS, PEMs and rotation."""


@keys.command("jwks")
@kms_key_option
@click.pass_obj
def keys_jwks(home: Home, kms_keys: tuple[str, ...]) -> None:
    """The JWKS (RFC 7517) of every signing key, current and retired, and the delegated keys
    this home's store endorsed; with --kms-key, of those Cloud KMS key versions instead (list
    every version receipts were signed with), and the delegated keys they endorsed."""
    if kms_keys:
        from receipts_cli.cloud import kms_jwks

        click.echo(json.dumps(with_delegated_keys(home, kms_jwks(kms_keys)), indent=2))
        return
    click.echo(json.dumps(with_delegated_keys(home, home.keyring().jwks()), indent=2))


@keys.command("rotate")
@click.pass_obj
def keys_rotate(home: Home) -> None:
    """Create a new current signing key; the old one stays published for old receipts."""
    ring = home.keyring()
    ring.ensure_current()  # so that rotating an empty ring retires the first key
    kid = ring.rotate()
    err.print(f"New current key {shown(kid)}; {len(ring.entries()) - 1} retired key(s) still published.")
    click.echo(kid)


@keys.command("list")
@click.pass_obj
def keys_list(home: Home) -> None:
    """Every key with its state."""
    table = Table("kid", "created", "retired")
    for info in home.keyring().entries():
        table.add_row(*map(shown, (info.kid, info.created_at, info.retired_at or "current")))
    out.print(table)


@keys.command("pem")
@click.argument("kid", required=False)
@click.option("--kms-key", "kms_key", default=None, help="A Cloud KMS key version (projects/…/cryptoKeyVersions/N).")
@click.pass_obj
def keys_pem(home: Home, kid: str | None, kms_key: str | None) -> None:
    """A public key as PEM (default: the current one), e.g. for `openssl dgst -verify`;
    with --kms-key, that Cloud KMS key version's."""
    if kms_key:
        from receipts_cli.cloud import kms_public_key

        click.echo(kms_public_key(kms_key).pem.decode(), nl=False)
        return
    ring = home.keyring()
    try:
        click.echo(ring.public_pem(kid or ring.current_kid).decode(), nl=False)
    except KeyError as error:
        raise click.ClickException(f"{error.args[0]}; see `receipts keys list`") from error


@main.group()
def entitlements() -> None:
    """Spending caps per customer entitlement."""


@entitlements.command("set")
@click.option("--customer", required=True)
@click.option("--entitlement", required=True)
@click.option("--limit", "limit_text", required=True, help="Decimal amount, e.g. 200.00")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. USD")
@click.pass_obj
def entitlements_set(home: Home, customer: str, entitlement: str, limit_text: str, currency: str) -> None:
    """Create or change an entitlement's limit."""
    for name, value in (("--customer", customer), ("--entitlement", entitlement)):
        if not ID_PATTERN.fullmatch(value):
            raise click.BadParameter("must match [A-Za-z0-9_-]{1,64}", param_hint=name)
    if currency not in MINOR_UNITS:
        raise click.BadParameter(f"{currency!r} is not an ISO 4217 code with minor units", param_hint="--currency")
    try:
        limit = parse_amount(limit_text, currency)
    except AmountError as error:
        raise click.BadParameter(error.detail, param_hint="--limit") from error
    cap = Entitlement(customer, entitlement, limit, currency)
    store_of(home).set_entitlement(cap)
    err.print(f"Entitlement {shown(entitlement)} of {shown(customer)}: limit {cap.limit} {shown(currency)}.")


@entitlements.command("list")
@click.pass_obj
def entitlements_list(home: Home) -> None:
    """Every entitlement with its limit and usage."""
    store = store_of(home)
    table = Table("customer", "entitlement", "limit", "currency")
    for cap in store.entitlements():
        table.add_row(*map(shown, (cap.customer_id, cap.entitlement_id, cap.limit, cap.currency)))
    out.print(table)


@main.command()
@click.option(
    "--events-per-customer",
    default=40,
    show_default=True,
    type=click.IntRange(min=10),
    help="Size of the generated sample (at least 10: it replays 8 events and makes one conflict).",
)
@click.option(
    "--emulators",
    "use_emulators",
    is_flag=True,
    help="Through Pub/Sub and the streaming job into Spanner, Firestore and Cloud Storage (local emulators).",
)
@click.pass_obj
def demo(home: Home, events_per_customer: int, use_emulators: bool) -> None:
    """Generate a sample, run the pipeline, summarize, and verify every receipt."""
    from receipts_cli.demo import run_demo

    try:
        status = run_demo(home, events_per_customer, emulators=use_emulators)
    except HomeBusy as error:
        raise click.ClickException(str(error)) from error
    sys.exit(status)


register_archive_commands(main)
register_delegated_key_commands(keys)
register_key_restore(keys, CannotRestore)  # `keys restore`: the key documents' step of `receipts restore`
register_cloud_commands(main)
register_intake_commands(main)
register_log_commands(main)
register_log_verify()
register_reconcile_command(main)
register_replay_command(dead_letters)
register_restore_command(main)
register_site_commands(main)
register_statement_commands(main)
register_verify_command(main)
register_witness_commands(main)
