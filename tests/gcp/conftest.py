"""Fixtures for tests on the official Google Cloud emulators, started here on free ports.

All emulator tests run in one xdist group (one worker), sharing one set of emulators for
the session; each test gets its own project id, so its topics, database, ledger and
bucket are its own. Where the Cloud SDK is missing, every test here is skipped with a
reason that names what to install.
"""

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from receipts.stores.gcp.location import GcpLocation
from receipts.stores.gcp.store import SpannerFirestoreStore
from receipts.stores.keyring import KeyRing
from receipts_cli.emulators import Emulators, missing_tools
from receipts_cli.provision import init

_projects = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/gcp/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.emulators)
            item.add_marker(pytest.mark.xdist_group("emulators"))


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    problems = missing_tools()
    if problems:
        pytest.skip("Google Cloud emulators unavailable: " + "; ".join(problems))
    running = Emulators(tmp_path_factory.mktemp("emulators"))
    running.up()
    saved = {name: os.environ.get(name) for name in running.environment()}
    os.environ.update(running.environment())
    try:
        yield running
    finally:
        running.down()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class Cloud:
    """One test's own project on the emulators, initialized like `receipts init` does."""

    project: str
    url: str
    location: GcpLocation
    keys: KeyRing
    folder: Path

    def store(self) -> SpannerFirestoreStore:
        return SpannerFirestoreStore(self.url)

    def subscription(self, name: str = "billing-events-sub") -> str:
        return f"projects/{self.project}/subscriptions/{name}"

    def topic(self, name: str = "billing-events") -> str:
        return f"projects/{self.project}/topics/{name}"


@pytest.fixture
def cloud(emulators: Emulators, tmp_path: Path, keyring: KeyRing) -> Cloud:
    project = f"receipts-test-{os.getpid()}-{next(_projects)}"[:30]
    url = f"gcp://{project}"
    location = GcpLocation.parse(url)
    init(location, report=lambda _: None)
    return Cloud(project, url, location, keyring, tmp_path)
