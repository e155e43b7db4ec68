"""The `receipts` command: run the pipeline, export, verify, manage keys and entitlements."""

import json
import logging
import sys
from pathlib import Path

import click
from rich.table import Table

from receipts.cli_cloud import kms_key_option, signer_option
from receipts.cli_cloud import register as register_cloud_commands
from receipts.cli_reconcile import register as register_reconcile_command
from receipts.console import print_run_summary, report_verification, run_pipeline
from receipts.currencies import MINOR_UNITS
from receipts.events import ID_PATTERN
from receipts.home import Home, HomeBusy
from receipts.keys import KeyRing
from receipts.ledger import Entitlement
from receipts.money import AmountError, parse_amount
from receipts.reading import Unreadable, read_receipts
from receipts.records import dumps_line, export_line
from receipts.store import open_store
from receipts.terminal import TerminalGroup, err, out, shown
from receipts.verify import Jwks, verify_chain


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
@click.version_option(package_name="verifiable-receipts")
@click.pass_context
def main(context: click.Context, home: Path, store_url: str | None) -> None:
    """Verifiable billing receipts: hash-chained, RS256-signed, checkable with public math."""
    logging.basicConfig(level=logging.ERROR)  # Beam's import-time chatter is not for users
    context.obj = Home(home, store_url)
    if context.obj.is_gcp:
        context.obj.use_running_emulators()


def _store(home: Home):
    try:
        return open_store(home.store_url)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@main.command()
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL file: one raw event message per line.",
)
@signer_option
@click.pass_obj
def run(home: Home, input_path: str, signer: str | None) -> None:
    """Run the Beam pipeline in batch mode over a JSONL file of events."""
    try:
        counts = run_pipeline(home, input_path, signer)
    except HomeBusy as error:
        raise click.ClickException(str(error)) from error
    except ValueError as error:  # an unusable --signer
        raise click.ClickException(str(error)) from error
    print_run_summary(counts)


@main.command()
@click.option("--customer", default=None, help="Only this customer's receipts.")
@click.pass_obj
def export(home: Home, customer: str | None) -> None:
    """Every receipt as one JSON object per line: body fields, receipt_hash, signature."""
    store = _store(home)
    out = sys.stdout.buffer
    for record in store.receipts(customer):
        out.write(export_line(record))
    out.flush()


@main.command("dead-letters")
@click.pass_obj
def dead_letters(home: Home) -> None:
    """Every dead letter as one JSON object per line, with its reason and raw message
    (ASCII: other characters as JSON escapes, so none reaches a terminal raw)."""
    for record in _store(home).dead_letters():
        click.echo(dumps_line(record))


@main.command()
@click.pass_obj
def balances(home: Home) -> None:
    """Balances per customer and currency, as stored."""
    table = Table("customer", "currency", "balance", "as of sequence")
    for balance in _store(home).balances():
        table.add_row(*map(shown, (balance.customer_id, balance.currency, balance.balance, balance.as_of_sequence)))
    out.print(table)


@main.group()
def keys() -> None:
    """Signing keys: the JWKS, PEMs and rotation."""


@keys.command("jwks")
@kms_key_option
@click.pass_obj
def keys_jwks(home: Home, kms_keys: tuple[str, ...]) -> None:
    """The JWKS (RFC 7517) of every signing key, current and retired; with --kms-key, of
    those Cloud KMS key versions instead (list every version receipts were signed with)."""
    if kms_keys:
        from receipts.cli_cloud import kms_jwks

        click.echo(json.dumps(kms_jwks(kms_keys), indent=2))
        return
    click.echo(json.dumps(home.keyring().jwks(), indent=2))


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
        from receipts.cli_cloud import kms_public_key

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
    _store(home).set_entitlement(cap)
    err.print(f"Entitlement {shown(entitlement)} of {shown(customer)}: limit {cap.limit} {shown(currency)}.")


@entitlements.command("list")
@click.pass_obj
def entitlements_list(home: Home) -> None:
    """Every entitlement with its limit and usage."""
    store = _store(home)
    table = Table("customer", "entitlement", "limit", "currency")
    for cap in store.entitlements():
        table.add_row(*map(shown, (cap.customer_id, cap.entitlement_id, cap.limit, cap.currency)))
    out.print(table)


@main.command()
@click.argument("file", type=click.File("rb"))
@click.option(
    "--jwks",
    "jwks_file",
    type=click.File("rb"),
    default=None,
    help="JWKS to verify against (default: this home's keys).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print failures only.")
@click.pass_obj
def verify(home: Home, file, jwks_file, quiet: bool) -> None:
    """Verify exported receipts offline: signatures, canonical payloads, hashes, chain
    links, sequences and balances. Exit status 1 names every failing receipt."""
    if jwks_file is None and not KeyRing(home.keys).exists():
        raise click.UsageError(f"no signing keys in {home.root}: pass --jwks FILE (e.g. the site's jwks.json)")
    try:
        jwks = Jwks.from_json(jwks_file.read()) if jwks_file else Jwks(home.keyring().jwks())
    except ValueError as error:
        raise click.ClickException(f"cannot read the JWKS: {error}") from error
    try:
        items = list(read_receipts(file.read()))
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file.name} is not UTF-8 text: {error}") from error
    receipts = [item for item in items if not isinstance(item, Unreadable)]
    unreadable = [item for item in items if isinstance(item, Unreadable)]
    with err.status(f"Verifying {len(receipts)} receipt(s)…"):
        results = verify_chain(receipts, jwks)
    failed = report_verification(results, unreadable, quiet)
    sys.exit(1 if failed else 0)


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
    from receipts.demo_run import run_demo

    try:
        status = run_demo(home, events_per_customer, emulators=use_emulators)
    except HomeBusy as error:
        raise click.ClickException(str(error)) from error
    sys.exit(status)


# -- The verifier site: `serve` and API keys -------------------------------------------
# Kept together at the end of the file. Flask and gunicorn load only when `serve` runs.


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes (rate limits and metrics are per worker).",
)
@kms_key_option
@click.option(
    "--trusted-proxies",
    default=0,
    show_default=True,
    envvar="RECEIPTS_TRUSTED_PROXIES",
    type=click.IntRange(0, 5),
    help="X-Forwarded-For hops to trust for the client IP (env RECEIPTS_TRUSTED_PROXIES): 1 on Cloud Run, "
    "2 behind Google's HTTPS load balancer.",
)
@click.option(
    "--https",
    "https_only",
    is_flag=True,
    envvar="RECEIPTS_HTTPS",
    help="Browsers reach the site over HTTPS only (env RECEIPTS_HTTPS): session cookies are marked Secure.",
)
@click.option(
    "--topic",
    default=None,
    help="Pub/Sub topic POST /v1/events publishes to (name or projects/P/topics/T). "
    "Default with --store gcp://P: billing-events of P; otherwise ingest is off (503).",
)
@click.option(
    "--max-in-flight",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Unconfirmed publishes per worker process; past it POST /v1/events answers 429.",
)
@click.option(
    "--max-in-flight-per-customer",
    default=100,
    show_default=True,
    type=click.IntRange(1),
    help="The same bound per customer, so one customer's flood leaves room for the rest.",
)
@click.pass_obj
def serve(
    home: Home,
    host: str,
    port: int,
    workers: int,
    kms_keys: tuple[str, ...],
    trusted_proxies: int,
    https_only: bool,
    topic: str | None,
    max_in_flight: int,
    max_in_flight_per_customer: int,
) -> None:
    """Run the verifier site under gunicorn against this home's store and public keys (or
    the Cloud KMS key versions given). The session secret is RECEIPTS_SITE_SECRET when set."""
    from verifier_site.server import ingest_config
    from verifier_site.server import serve as serve_site

    if not kms_keys and not KeyRing(home.keys).exists():
        err.print(f"[yellow]No signing keys in {shown(home.root)} yet: the site will publish an empty JWKS.[/]")
    try:
        ingest = ingest_config(home, topic, max_in_flight, max_in_flight_per_customer)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    err.print(f"Verifier site for {shown(home.store_url)}: open http://{shown(host)}:{port}/ (Ctrl-C stops it)")
    err.print(
        f"POST /v1/events publishes to {shown(ingest['INGEST_TOPIC'])}"
        if ingest
        else "Ingest is off: POST /v1/events answers 503 (pass --topic, or --store gcp://PROJECT)"
    )
    overrides = {"TRUSTED_PROXIES": trusted_proxies, "SESSION_COOKIE_SECURE": https_only, **ingest}
    if kms_keys:
        overrides["KMS_KEY_VERSIONS"] = list(kms_keys)
    serve_site(home, host, port, workers, overrides=overrides)


@main.group("api-keys")
def api_keys() -> None:
    """API keys of the verifier site: each sees one customer's receipts."""


@api_keys.command("create")
@click.option("--customer", required=True, help="The customer whose receipts the key may read.")
@click.pass_obj
def api_keys_create(home: Home, customer: str) -> None:
    """Create a key and print it once: only its hash is stored."""
    from receipts.api_keys import issue_api_key

    if not ID_PATTERN.fullmatch(customer):
        raise click.BadParameter("must match [A-Za-z0-9_-]{1,64}", param_hint="--customer")
    key, record = issue_api_key(_store(home), customer)
    err.print(
        f"API key {shown(record.key_id)} for {shown(customer)}. It is shown only now: keep it secret. "
        f"Revoke it with `receipts api-keys revoke {record.key_id}`."
    )
    click.echo(key)


@api_keys.command("revoke")
@click.argument("key_id")
@click.pass_obj
def api_keys_revoke(home: Home, key_id: str) -> None:
    """Revoke a key by its id (the 16 hex digits after sk_); it stops working at once."""
    from receipts.api_keys import now_utc

    store = _store(home)
    if store.revoke_api_key(key_id, now_utc()):
        err.print(f"Revoked API key {shown(key_id)}.")
        return
    record = store.api_key(key_id)
    if record is None:
        raise click.ClickException(f"no API key {key_id}; see `receipts api-keys list`")
    err.print(f"API key {shown(key_id)} was already revoked on {shown(record.revoked_at)}.")


@api_keys.command("list")
@click.option("--customer", default=None, help="Only this customer's keys.")
@click.pass_obj
def api_keys_list(home: Home, customer: str | None) -> None:
    """Every key with its customer and state (the keys themselves are not stored)."""
    table = Table("key id", "customer", "created", "revoked")
    for record in _store(home).api_keys(customer):
        table.add_row(
            *map(shown, (record.key_id, record.customer_id, record.created_at, record.revoked_at or "active"))
        )
    out.print(table)


register_cloud_commands(main)
register_reconcile_command(main)
