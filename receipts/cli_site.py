"""The verifier site's commands: `serve` and `api-keys`. Flask and gunicorn load only when
`serve` runs."""

import click
from rich.table import Table

from receipts.cli_cloud import kms_key_option, store_of
from receipts.events import ID_PATTERN
from receipts.home import Home
from receipts.stores.keyring import KeyRing
from receipts.terminal import err, out, shown


@click.command()
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
@click.option(
    "--threads",
    default=32,
    show_default=True,
    type=click.IntRange(1),
    help="Requests each worker processes at once; slow and idle connections hold none.",
)
@click.option(
    "--max-requests-per-customer",
    default=None,
    type=click.IntRange(1),
    help="Ingest requests of one customer in progress per worker; past it 429 at once (default: --threads / 4).",
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
    threads: int,
    max_requests_per_customer: int | None,
) -> None:
    """Run the verifier site under gunicorn against this home's store and public keys (or
    the Cloud KMS key versions given). The session secret is RECEIPTS_SITE_SECRET when set."""
    from verifier_site.server import ingest_config, requests_per_customer
    from verifier_site.server import serve as serve_site

    if not kms_keys and not KeyRing(home.keys).exists():
        err.print(f"[yellow]No signing keys in {shown(home.root)} yet: the site will publish an empty JWKS.[/]")
    try:
        per_customer = max_requests_per_customer or requests_per_customer(threads)
        ingest = ingest_config(home, topic, max_in_flight, max_in_flight_per_customer, per_customer)
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
    serve_site(home, host, port, workers, threads, overrides=overrides)


@click.group("api-keys")
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
    key, record = issue_api_key(store_of(home), customer)
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

    store = store_of(home)
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
    for record in store_of(home).api_keys(customer):
        table.add_row(
            *map(shown, (record.key_id, record.customer_id, record.created_at, record.revoked_at or "active"))
        )
    out.print(table)


def register(main: click.Group) -> None:
    for command in (serve, api_keys):
        main.add_command(command)
