"""One store per server thread, opened on its first request and kept: opening a store per
request (a SQLite connection and its schema check, or a Spanner and a Firestore client
with their gRPC channels) cost more than the lookup itself. A SQLite connection is still
never shared between threads."""

import threading

from flask import current_app

from receipts.stores import Store, open_store

_threads = threading.local()


def get_store() -> Store:
    stores: dict[str, Store] = _threads.__dict__.setdefault("stores", {})
    url = current_app.config["STORE_URL"]
    store = stores.get(url)
    if store is None:
        store = stores[url] = open_store(url)
    return store
