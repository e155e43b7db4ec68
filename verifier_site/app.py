"""The verifier site's app factory: configuration comes from the argument, never globals,
so tests (and several apps in one process) each get their own store, keys and limits."""

import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from receipts.events import MAX_MESSAGE_BYTES
from receipts.submissions import DEFAULT_RETENTION_DAYS
from verifier_site import (
    bodies,
    errors,
    ingest,
    ingest_wait,
    intake,
    metrics,
    ratelimit,
    security,
    submissions,
    text,
    transparency,
)
from verifier_site.blueprints import account, api, keys, log, lookup, ops, statements, verify
from verifier_site.blueprints import ingest as ingest_api
from verifier_site.key_source import KeyRingSource, KmsKeySource, WithDelegatedKeys, store_key_documents
from verifier_site.session_cookies import SessionCookies
from verifier_site.verified_keys import VerifiedKeys

DEFAULTS: dict[str, Any] = {
    "STORE_URL": None,  # required: e.g. sqlite:///HOME/receipts.db
    "KEY_SOURCE": None,  # a KeySource; or KMS_KEY_VERSIONS (Cloud KMS), or KEYS_FOLDER (a local key ring)
    "KMS_KEY_VERSIONS": None,  # [projects/…/cryptoKeyVersions/N, …]: every version receipts were signed with
    "KEYS_FOLDER": None,
    "KEYS_CACHE_SECONDS": 60.0,  # a rotated key shows in the JWKS within this time
    # Request bodies, however framed (verifier_site/bodies.py): over its route's limit, 413.
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # receipts to verify (POST /v1/verify, the /verify form)
    "MAX_FORM_BYTES": 8 * 1024,  # every other route: the sign-in and sign-out forms
    "MAX_EVENT_BYTES": MAX_MESSAGE_BYTES,  # POST /v1/events: one event, the pipeline's own limit
    "INGEST_MAX_BATCH_BYTES": 1024 * 1024,  # POST /v1/events:batch
    "MAX_VERIFY_RECEIPTS": 1000,  # receipts per verification request
    "PAGE_LIMIT_DEFAULT": 100,
    "PAGE_LIMIT_MAX": 500,
    "RATE_LIMIT_IP": (120, 10.0),  # (burst, tokens per second) per client IP; None: off
    "RATE_LIMIT_KEY": (60, 5.0),  # per API key (and per signed-in session's key)
    "RATE_LIMIT_TRACKED": 10_000,  # buckets kept per limit; the least recently used go first
    # A bearer key the store accepted is trusted this long per process (verifier_site/verified_keys.py):
    # a revoked key is refused within this time; 0 reads the key on every request.
    "API_KEY_CACHE_SECONDS": 1.0,
    "API_KEY_CACHE_CLOCK": None,  # monotonic seconds for that cache (tests inject a manual clock)
    "TRUSTED_PROXIES": 0,  # X-Forwarded-* hops to trust for the client IP and scheme
    "HSTS_MAX_AGE": 31_536_000,  # browsers honour it over HTTPS only; 0 leaves the header out
    "SESSION_COOKIE_SECURE": False,  # True behind HTTPS
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Strict",
    "SESSION_MINUTES": 30,  # a session unused for this long ends (sliding)
    "SESSION_MAX_HOURS": 12,  # and every session ends this long after sign-in (hard), in the store
    "SESSION_CLOCK": None,  # () -> an aware UTC datetime for session lifetimes (tests inject one)
    # The producers' API (POST /v1/events): without a topic or publisher it answers 503.
    "INGEST_TOPIC": None,  # projects/P/topics/T: where accepted events are published
    "INGEST_PUBLISHER": None,  # a verifier_site.ingest.Transport to use instead (tests inject slow or failing ones)
    "INGEST_CLOCK": None,  # monotonic seconds for the outage cool-down (tests inject a manual clock)
    "INGEST_MAX_IN_FLIGHT": 1000,  # unconfirmed publishes per process (the seed's bound); then 429
    "INGEST_MAX_IN_FLIGHT_PER_CUSTOMER": 100,  # per customer and process, so one flood cannot fill the rest
    # Ingest requests of one customer being processed at once per process; then 429. Each
    # holds a server thread while it waits for Pub/Sub: `receipts serve` sets a quarter of its threads.
    "INGEST_MAX_REQUESTS_PER_CUSTOMER": 8,
    "INGEST_PUBLISH_TIMEOUT": 5.0,  # seconds Pub/Sub may take to confirm, retries included; then 503
    "INGEST_OUTAGE_COOLDOWN": 2.0,  # after a failed publish, answer 503 at once for this long
    "INGEST_MAX_BATCH": 500,  # events per POST /v1/events:batch
    "INGEST_MAX_FUTURE_SECONDS": 3600,  # an event timestamped further ahead: 400 timestamp_in_future
    # POST /v1/events?wait=S (S <= 10): requests waiting for their receipt, per process and per
    # customer; each holds a server thread while it polls the store. Past either, 429 at once.
    "INGEST_MAX_WAITING": 8,  # `receipts serve` sets a quarter of its threads
    "INGEST_MAX_WAITING_PER_CUSTOMER": 2,
    "INGEST_WAIT_SLEEP": None,  # (seconds) -> None between polls (tests inject one that moves INGEST_CLOCK)
    # Who submitted each accepted event (verifier_site/submissions.py): the key id is kept, the
    # client address (personal data) only this many days.
    "SUBMISSION_ADDRESS_DAYS": DEFAULT_RETENTION_DAYS,
    "SUBMISSION_CLOCK": None,  # () -> an aware UTC datetime for submissions (tests inject one)
    # Intake (receipts intake freeze|resume): while frozen, ingest answers 503 intake_frozen.
    "INTAKE_CACHE_SECONDS": 2.0,  # the store's state is read at most this often per process
    "INTAKE_CLOCK": None,  # monotonic seconds for that cache (tests inject a manual clock)
    # The transparency log (verifier_site/transparency.py): checkpoints and hashes come from the store.
    "LOG_URL": None,  # the log's files (tiles, entry bundles): log_url(archive) = HOME/archive/log or gs://B/log
    "LOG_VKEY": None,  # the log's verifier key, <origin>+<key id>+<base64>: served, and checks the checkpoints
    "LOG_WITNESSES": (),  # the witnesses' cosignature/v1 vkeys
    "LOG_WITNESS_QUORUM": 0,  # how many of them a verifier should require (0: none)
    "LOG_CACHE_SECONDS": 2.0,  # the latest checkpoint is read at most this often per process
    "LOG_CLOCK": None,  # monotonic seconds for that cache (tests inject a manual clock)
}


class SiteFlask(Flask):
    """Flask, with two per-request costs paid once: the session cookie's serializer
    (verifier_site/session_cookies.py), and `ensure_sync`, which Flask asks of every hook
    and view on every request (inspect.iscoroutinefunction, ~4% of a receipt lookup)."""

    session_interface = SessionCookies()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced[func] = super().ensure_sync(func)
        return synced


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the site for one store and one key source (see DEFAULTS for every setting)."""
    app = SiteFlask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    if not app.config["STORE_URL"]:
        raise ValueError("the verifier site needs STORE_URL (e.g. sqlite:///path/receipts.db)")
    if app.config["KEY_SOURCE"] is None and app.config["KMS_KEY_VERSIONS"]:
        app.config["KEY_SOURCE"] = KmsKeySource(app.config["KMS_KEY_VERSIONS"])
    if app.config["KEY_SOURCE"] is None:
        if not app.config["KEYS_FOLDER"]:
            raise ValueError(
                "the verifier site needs KEY_SOURCE, KMS_KEY_VERSIONS or KEYS_FOLDER (the signing key ring's folder)"
            )
        app.config["KEY_SOURCE"] = KeyRingSource(Path(app.config["KEYS_FOLDER"]), app.config["KEYS_CACHE_SECONDS"])
    if not isinstance(app.config["KEY_SOURCE"], WithDelegatedKeys):  # and the store's delegated keys
        app.config["KEY_SOURCE"] = WithDelegatedKeys(
            app.config["KEY_SOURCE"], store_key_documents, app.config["KEYS_CACHE_SECONDS"]
        )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_bytes(32)  # sessions end with the process
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    app.config["PERMANENT_SESSION_LIFETIME"] = 60 * app.config["SESSION_MINUTES"]
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    app.extensions["verified_keys"] = VerifiedKeys(
        app.config["API_KEY_CACHE_SECONDS"], app.config["API_KEY_CACHE_CLOCK"] or time.monotonic
    )
    metrics.init_app(app)  # first, so that it times everything after it
    bodies.init_app(app)  # before anything could read a body
    ratelimit.init_app(app)
    ingest.init_app(app)
    ingest_wait.init_app(app)
    intake.init_app(app)
    submissions.init_app(app)
    transparency.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.jinja_env.finalize = text.shown  # every {{ value }}: untrusted text made visible (verifier_site/text.py)
    app.add_template_filter(text.json_text)
    app.add_template_filter(text.exact)
    app.add_template_global(text.outcome)
    for module in (lookup, verify, api, statements, account, ingest_api, keys, log, ops):
        app.register_blueprint(module.blueprint)
    return app
