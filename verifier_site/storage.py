"""One store connection per request, closed when the request ends (flaskr's get_db):
a SQLite connection is never shared between a server's threads."""

from flask import Flask, current_app, g

from receipts.store import Store, open_store


def get_store() -> Store:
    if "store" not in g:
        g.store = open_store(current_app.config["STORE_URL"])
    return g.store


def close_store(_error: BaseException | None = None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_store)
