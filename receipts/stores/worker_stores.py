"""One store client per worker process, shared by the DoFn instances in it.

A Dataflow worker runs each step's DoFn in many threads at once, one instance per thread;
a client per instance means dozens of Spanner session pools and gRPC channels per process.
A store whose clients are safe to share between threads (`shareable = True`: Spanner and
Firestore clients are) is opened once per process and URL, and closed when its last user
releases it; any other store (SQLite: one connection, one transaction at a time) is
opened per user, as before. The emulator hosts are part of the key, so a test process
that points at new emulators never gets a client of the old ones.
"""

import os
import threading

from receipts.stores import Store, open_store, store_class
from receipts.stores.gcp.location import EMULATOR_VARIABLES

_lock = threading.Lock()
_shared: dict[tuple[str, ...], list] = {}  # key -> [store, users]


def _key(url: str) -> tuple[str, ...]:
    return (url, *(os.environ.get(name, "") for name in EMULATOR_VARIABLES))


def acquire_store(url: str) -> Store:
    """The process's store for `url` (opened on first use), or a new one if it cannot be shared."""
    if not getattr(store_class(url), "shareable", False):
        return open_store(url)
    with _lock:
        entry = _shared.get(_key(url))
        if entry is None:
            entry = _shared[_key(url)] = [open_store(url), 0]
        entry[1] += 1
        return entry[0]


def release_store(store: Store) -> None:
    """Done with a store from acquire_store: closed now, or when its last user is done."""
    with _lock:
        for key, entry in list(_shared.items()):
            if entry[0] is store:
                entry[1] -= 1
                if entry[1] > 0:
                    return
                del _shared[key]
                break
    store.close()
