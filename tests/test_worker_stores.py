"""One store client per worker process for stores whose clients are thread-safe; a store of
its own for every user otherwise (SQLite)."""

from pathlib import Path
from typing import ClassVar

import pytest

from receipts.stores import worker_stores
from receipts.stores.sqlite import SqliteStore
from receipts.stores.worker_stores import acquire_store, release_store


class Shareable:
    shareable = True
    opened: ClassVar[list["Shareable"]] = []

    def __init__(self, url: str) -> None:
        self.url, self.closed = url, False
        Shareable.opened.append(self)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def shareable(monkeypatch):
    Shareable.opened = []
    monkeypatch.setattr(worker_stores, "store_class", lambda url: Shareable)
    monkeypatch.setattr(worker_stores, "open_store", Shareable)
    return Shareable


def test_a_shareable_store_is_opened_once_per_process_and_closed_by_its_last_user(shareable) -> None:
    first, second = acquire_store("gcp://p"), acquire_store("gcp://p")
    assert first is second and len(shareable.opened) == 1
    release_store(first)
    assert not first.closed
    release_store(second)
    assert first.closed
    third = acquire_store("gcp://p")
    assert third is not first and not third.closed  # a new client once the last one closed
    release_store(third)


def test_other_urls_and_other_emulators_get_clients_of_their_own(shareable, monkeypatch) -> None:
    one = acquire_store("gcp://p")
    other = acquire_store("gcp://q")
    monkeypatch.setenv("SPANNER_EMULATOR_HOST", "localhost:1")
    moved = acquire_store("gcp://p")
    assert len({id(one), id(other), id(moved)}) == 3
    for store in (one, other, moved):
        release_store(store)
    assert all(store.closed for store in shareable.opened)


def test_sqlite_stores_are_never_shared(tmp_path: Path) -> None:
    """One SQLite connection runs one transaction at a time: two threads must not share it."""
    url = f"sqlite:///{tmp_path / 'receipts.db'}"
    first, second = acquire_store(url), acquire_store(url)
    assert isinstance(first, SqliteStore) and first is not second
    release_store(first)
    assert second.load_chain("cust_1").sequence == 0  # the other one still open
    release_store(second)
