"""`receipts serve`: the site under gunicorn (a production WSGI server), with the settings
the command gives (receipts_cli.site: from the home and its flags)."""

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from verifier_site.app import create_app

THREADS = 32  # per worker: requests being processed at once (waiting on Pub/Sub, mostly)
CONNECTIONS = 1000  # per worker: open connections, slow and idle ones included


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


def serve(config: dict[str, Any], host: str, port: int, workers: int = 1, threads: int = THREADS) -> None:
    """Run until interrupted. Rate limits, in-flight bounds and metrics are per worker process.
    `config` are create_app settings (STORE_URL, KEYS_FOLDER, SECRET_KEY, KMS_KEY_VERSIONS,
    TRUSTED_PROXIES, INGEST_*). Each worker is verifier_site.worker.EventLoopWorker: slow
    clients hold no thread, and requests are served from a fair queue per caller."""
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
