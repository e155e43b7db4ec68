"""`receipts serve`: the site under gunicorn (a production WSGI server), configured from a
receipts home. Sessions are signed with a secret kept in the home, so every worker and
every restart accepts the same cookies."""

import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from receipts.home import Home
from receipts.producer.publisher import topic_path
from verifier_site.app import create_app

SECRET_FILE = "site-secret"
THREADS = 32  # per worker: requests being processed at once (waiting on Pub/Sub, mostly)
CONNECTIONS = 1000  # per worker: open connections, slow and idle ones included
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
    return {"STORE_URL": home.store_url, "KEYS_FOLDER": str(home.keys), "SECRET_KEY": session_secret(home)}


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
        from receipts.producer.publisher import TOPIC
        from receipts.stores.gcp.location import GcpLocation

        topic = topic_path(GcpLocation.parse(home.store_url).project, topic or TOPIC)
    return {
        "INGEST_TOPIC": topic,
        "INGEST_MAX_IN_FLIGHT": max_in_flight,
        "INGEST_MAX_IN_FLIGHT_PER_CUSTOMER": max_in_flight_per_customer,
        "INGEST_MAX_REQUESTS_PER_CUSTOMER": max_requests_per_customer,
    }


def requests_per_customer(threads: int) -> int:
    """The default bound on one customer's ingest requests in progress: a quarter of a
    worker's threads, so a flood from one customer always leaves three quarters to the rest."""
    return max(1, threads // 4)


class SiteServer(BaseApplication):
    """gunicorn's programmatic entry point: each worker builds its own app."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        return self._factory()


def serve(
    home: Home,
    host: str,
    port: int,
    workers: int = 1,
    threads: int = THREADS,
    overrides: dict[str, Any] | None = None,
) -> None:
    """Run until interrupted. Rate limits, in-flight bounds and metrics are per worker process.
    `overrides` are create_app settings on top of the home's (e.g. KMS_KEY_VERSIONS,
    TRUSTED_PROXIES, INGEST_*). Each worker is verifier_site.worker.EventLoopWorker: slow
    clients hold no thread, and requests are served from a fair queue per caller."""
    config = {**site_config(home), **(overrides or {})}
    create_app(config)  # fail here, with a clear message, rather than in every worker
    SiteServer(lambda: create_app(config), gunicorn_options(host, port, workers, threads)).run()


def gunicorn_options(host: str, port: int, workers: int = 1, threads: int = THREADS) -> dict[str, Any]:
    """How `receipts serve` runs gunicorn (the benchmarks run the same)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "verifier_site.worker.EventLoopWorker",
        "worker_connections": CONNECTIONS,
        "accesslog": "-",
        "timeout": 30,
        # gunicorn's control socket is one file per user ($HOME/.gunicorn/gunicorn.ctl): two
        # sites on one machine would fight over it, and nothing here uses it.
        "control_socket_disable": True,
    }
