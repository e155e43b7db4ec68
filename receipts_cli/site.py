"""The verifier site's commands: `serve` and `api-keys`, and the site's settings a home
gives. Sessions are signed with a secret kept in the home, so every worker and every
restart accepts the same cookies. Flask and gunicorn load only when `serve` runs."""

import os
from typing import Any

import click
from rich.table import Table

from receipts.events import ID_PATTERN
from receipts.producer.publisher import TOPIC, topic_path
from receipts.stores.keyring import KeyRing
from receipts.stores.witnessing import WitnessPolicy
from receipts_cli.cloud import kms_key_option, store_of
from receipts_cli.home import Home
from receipts_cli.terminal import err, out, shown

SECRET_FILE = "site-secret"
# In production (Cloud Run) every instance must sign sessions with the same secret: it comes
# from Secret Manager in this variable, and the home's file is not used.
SECRET_ENV = "RECEIPTS_SITE_SECRET"


def session_secret(home: Home) -> bytes:
    """RECEIPTS_SITE_SECRET when set, else the home's session-signing secret, created on
    first use (mode 0600)."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode()
    path = home.root / SECRET_FILE
    home.root.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(os.urandom(32))
    return path.read_bytes()


def site_config(home: Home) -> dict[str, Any]:
    """The site's settings for this home: its store, keys, session secret, and the log's files
    (beside the archive: HOME/archive/log, or gs://BUCKET/log for a gcp:// store)."""
    return {
        "STORE_URL": home.store_url,
        "KEYS_FOLDER": str(home.keys),
        "SECRET_KEY": session_secret(home),
        "LOG_URL": home.log_url,
    }


def home_log_vkey(home: Home) -> str | None:
    """The verifier key of the home's log key (--log-signer, else HOME/log/log.key), None
    while the home has none: serving never creates a key (`receipts log integrate` does)."""
    from receipts.stores.log_signers import log_signer_from_url, vkey_of
    from receipts.tlog.note_keys import parse_private_key

    if home.log_signer_override is None:
        key = home.log_folder / "log.key"
        return parse_private_key(key.read_text()).public.vkey if key.exists() else None
    origin_file = home.log_folder / "origin"
    state = store_of(home).log_state()
    origin = home.log_origin_override or (
        origin_file.read_text().strip() if origin_file.exists() else state.origin if state else None
    )
    return vkey_of(log_signer_from_url(home.log_signer_override, origin)) if origin else None


def log_config(vkey: str | None, witnesses: tuple[str, ...], quorum: int) -> dict[str, Any]:
    """The log's public identity the site serves (/v1/log) and checks its checkpoints with."""
    from verifier_site.transparency import LogSettings

    if quorum > len(witnesses):
        raise ValueError(f"--log-quorum {quorum} needs at least as many --log-witness keys")
    config = {"LOG_VKEY": vkey, "LOG_WITNESSES": list(witnesses), "LOG_WITNESS_QUORUM": quorum}
    LogSettings.from_config(config)  # a mistyped key stops here, with what is wrong
    return config


def ingest_config(
    home: Home,
    topic: str | None,
    max_in_flight: int = 1000,
    max_in_flight_per_customer: int = 100,
    max_requests_per_customer: int = 8,
) -> dict[str, Any]:
    """The ingest settings for `receipts serve`: the topic given (a bare name needs a gcp://
    store for its project), else billing-events of a gcp:// store; {} leaves ingest off."""
    if topic is None and not home.is_gcp:
        return {}
    if not (topic or "").startswith("projects/"):
        if not home.is_gcp:
            raise ValueError(f"--topic {topic} needs --store gcp://PROJECT (its project) or projects/P/topics/T")
        from receipts.stores.gcp.location import GcpLocation

        topic = topic_path(GcpLocation.parse(home.store_url).project, topic or TOPIC)
    return {
        "INGEST_TOPIC": topic,
        "INGEST_MAX_IN_FLIGHT": max_in_flight,
        "INGEST_MAX_IN_FLIGHT_PER_CUSTOMER": max_in_flight_per_customer,
        "INGEST_MAX_REQUESTS_PER_CUSTOMER": max_requests_per_customer,
    }


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
@click.option(
    "--max-waiting",
    default=None,
    type=click.IntRange(1),
    help="POST /v1/events?wait requests waiting for their receipt per worker; past it 429 (default: --threads / 4).",
)
@click.option(
    "--address-retention-days",
    default=90,
    show_default=True,
    envvar="RECEIPTS_ADDRESS_RETENTION_DAYS",
    type=click.IntRange(1, 3650),
    help="Days the client address of each API submission is kept (env RECEIPTS_ADDRESS_RETENTION_DAYS); "
    "the key id stays. Drop older ones now with `receipts intake scrub`.",
)
@click.option(
    "--log-vkey",
    envvar="RECEIPTS_LOG_VKEY",
    default=None,
    help="The transparency log's verifier key, <origin>+<key id>+<base64> (env RECEIPTS_LOG_VKEY): served at "
    "/v1/log, and the checkpoints are checked with it. Default: the key of --log-signer or HOME/log/log.key.",
)
@click.option(
    "--log-witness",
    "log_witnesses",
    multiple=True,
    help="A witness's cosignature vkey, listed at /v1/log (repeat for each witness). Default: the vkeys of "
    "`receipts --log-witness VKEY@URL`, with its quorum.",
)
@click.option(
    "--log-quorum",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="How many of the --log-witness keys a verifier should require.",
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
    max_waiting: int | None,
    address_retention_days: int,
    log_vkey: str | None,
    log_witnesses: tuple[str, ...],
    log_quorum: int,
) -> None:
    """Run the verifier site under gunicorn against this home's store and public keys (or
    the Cloud KMS key versions given). The session secret is RECEIPTS_SITE_SECRET when set."""
    from verifier_site.server import requests_per_customer
    from verifier_site.server import serve as serve_site

    if not kms_keys and not KeyRing(home.keys).exists():
        err.print(f"[yellow]No signing keys in {shown(home.root)} yet: the site will publish an empty JWKS.[/]")
    try:
        per_customer = max_requests_per_customer or requests_per_customer(threads)
        ingest = ingest_config(home, topic, max_in_flight, max_in_flight_per_customer, per_customer)
        if not log_witnesses and home.log_witnesses:  # the witnesses the log submits to (--log-witness VKEY@URL)
            policy = WitnessPolicy.parse(home.log_witnesses, home.log_witness_quorum)
            log_witnesses, log_quorum = tuple(witness.vkey for witness in policy.witnesses), policy.quorum
        log = log_config(log_vkey or home_log_vkey(home), log_witnesses, log_quorum)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    err.print(f"Verifier site for {shown(home.store_url)}: open http://{shown(host)}:{port}/ (Ctrl-C stops it)")
    err.print(
        f"POST /v1/events publishes to {shown(ingest['INGEST_TOPIC'])}"
        if ingest
        else "Ingest is off: POST /v1/events answers 503 (pass --topic, or --store gcp://PROJECT)"
    )
    waiting = max_waiting or requests_per_customer(threads)
    overrides = {
        "TRUSTED_PROXIES": trusted_proxies,
        "SESSION_COOKIE_SECURE": https_only,
        "INGEST_MAX_WAITING": waiting,
        "INGEST_MAX_WAITING_PER_CUSTOMER": max(1, waiting // 4),
        "SUBMISSION_ADDRESS_DAYS": address_retention_days,
        **ingest,
        **log,
    }
    if kms_keys:
        overrides["KMS_KEY_VERSIONS"] = list(kms_keys)
    serve_site({**site_config(home), **overrides}, host, port, workers, threads)


@click.group("api-keys")
def api_keys() -> None:
    """API keys of the verifier site: a customer key sees one customer's receipts and posts
    its charges; an operator key posts charges and credits for any customer and reads any."""


@api_keys.command("create")
@click.option("--customer", default=None, help="A customer key: reads this customer's receipts, posts its charges.")
@click.option(
    "--operator",
    is_flag=True,
    help="An operator key: posts charges and credits for any customer, reads any customer's receipts.",
)
@click.pass_obj
def api_keys_create(home: Home, customer: str | None, operator: bool) -> None:
    """Create a key and print it once: only its hash is stored."""
    from receipts.api_keys import CUSTOMER, OPERATOR, issue_api_key

    if operator == (customer is not None):
        raise click.UsageError("give --customer ID (a customer key) or --operator (an operator key), one of them")
    if customer is not None and not ID_PATTERN.fullmatch(customer):
        raise click.BadParameter("must match [A-Za-z0-9_-]{1,64}", param_hint="--customer")
    key, record = issue_api_key(store_of(home), customer, OPERATOR if operator else CUSTOMER)
    whose = "an operator (any customer, credits too)" if operator else shown(customer)
    err.print(
        f"API key {shown(record.key_id)} for {whose}. It is shown only now: keep it secret. "
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
    """Every key with its role, customer and state (the keys themselves are not stored)."""
    table = Table("key id", "role", "customer", "created", "revoked")
    for record in store_of(home).api_keys(customer):
        whose = record.customer_id or "any"
        table.add_row(
            *map(shown, (record.key_id, record.role, whose, record.created_at, record.revoked_at or "active"))
        )
    out.print(table)


def register(main: click.Group) -> None:
    for command in (serve, api_keys):
        main.add_command(command)
