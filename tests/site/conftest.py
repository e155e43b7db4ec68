"""Fixtures for the verifier site: a store with real signed chains for two customers, an
API key for each, and the app built by its factory against them (no globals); and for
the page tests, headless Chromium and the app served on a free localhost port."""

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from receipts.api_keys import issue_api_key
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.stores.sqlite import SqliteStore
from tests.conftest import PROCESSED_AT, make_event
from tests.site.logs import SiteLog, new_log
from tests.site.publishers import InstantPublisher
from verifier_site import create_app

HOSTILE = "</script><img src=x onerror=alert(1)>\u2028"


def signed_chain(signer: LocalKeySigner, customer: str, descriptions: list[str | None]) -> list[SignedReceipt]:
    """One receipt per description, chained and signed with the domain code."""
    state = ChainState(customer)
    chain = []
    for index, description in enumerate(descriptions):
        event = make_event(
            idempotent_key=f"{customer}-{index}",
            customer_id=customer,
            amount=f"{index + 1}.25",
            timestamp=f"2026-01-25T10:{index:02d}:00Z",
            usage_description=description,
        )
        chained = state.append(event, None, signer.kid, PROCESSED_AT)
        chain.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return chain


@dataclass
class Site:
    app: Flask
    client: FlaskClient
    store: SqliteStore
    keys_folder: Path
    receipts: dict[str, list[dict[str, Any]]]  # customer -> exported receipts in chain order
    api_keys: dict[str, str]  # customer -> key text
    extra: dict[str, Any] = field(default_factory=dict)

    def bearer(self, customer: str = "cust_1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_keys[customer]}"}

    def sign_in(self, customer: str = "cust_1", receipt_id: str | None = None) -> None:
        receipt_id = receipt_id or self.receipts[customer][0]["receipt_id"]
        response = self.client.post("/lookup", data={"receipt_id": receipt_id, "api_key": self.api_keys[customer]})
        assert response.status_code == 303, response.data

    def sign_in_browser(self, page: Any, base: str, receipt: dict[str, Any]) -> None:
        """Look the receipt up in the browser with its customer's key: its page is open after."""
        page.goto(f"{base}/")
        page.fill("#receipt_id", receipt["receipt_id"])
        page.fill("#api_key", self.api_keys[receipt["customer_id"]])
        page.click("#lookup-form button[type=submit]")
        page.wait_for_url(f"{base}/receipts/{receipt['receipt_id']}")


@pytest.fixture
def make_site(tmp_path: Path, keyring: KeyRing, signer: LocalKeySigner) -> Callable[..., Site]:
    """make_site(**config) -> a Site whose store holds cust_1 (3 receipts, the second with
    hostile text) and cust_2 (2 receipts), with one API key each."""

    def build(**config: Any) -> Site:
        store = SqliteStore(f"sqlite:///{tmp_path / 'site.db'}")
        if not list(store.receipts()):
            store.write_receipts(signed_chain(signer, "cust_1", ["first", HOSTILE, None]))
            store.write_receipts(signed_chain(signer, "cust_2", ["other customer", "again"]))
        keys = {customer: issue_api_key(store, customer)[0] for customer in ("cust_1", "cust_2")}
        settings = {
            "STORE_URL": store.url,
            "KEYS_FOLDER": str(keyring.folder),
            "TESTING": True,
            "SECRET_KEY": b"test-secret",
            **config,
        }
        app = create_app(settings)
        receipts = {customer: list(store.receipts(customer)) for customer in ("cust_1", "cust_2")}
        return Site(app, app.test_client(), store, keyring.folder, receipts, keys)

    return build


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


# -- headless Chromium (Debian's `chromium`, driven by Playwright) for the page tests -------

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULT_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, or a skip saying what to install."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium is missing: install the Debian package chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def serve(app: Flask) -> Iterator[str]:
    """The app on a free localhost port in a background thread: a secure context, so
    WebCrypto is there."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def serve_empty_site(folder: Path, keys_folder: Path) -> Iterator[str]:
    """An empty site (a store of its own, the given key ring) served for a browser to run
    the shared vectors in its /verify page."""
    app = create_app(
        {"STORE_URL": f"sqlite:///{folder / 'site.db'}", "KEYS_FOLDER": str(keys_folder), "SECRET_KEY": b"x"}
    )
    yield from serve(app)


def run_in_verify_page(browser: Any, origin: str, scripts: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """Each named (script, argument) evaluated in one /verify page; with "problems": every
    console and page error it logged."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{origin}/verify")
    found = {name: page.evaluate(script, argument) for name, (script, argument) in scripts.items()}
    found["problems"] = problems
    context.close()
    return found


@pytest.fixture
def served(site: Site) -> Iterator[str]:
    yield from serve(site.app)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records every console error, page error and dialog."""
    context = browser.new_context()
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda message: message.type == "error" and problems.append(message.text))
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))  # an alert() would mean XSS
    opened.problems = problems
    yield opened
    context.close()


def results_of(page: Any, container: str) -> dict[str, str]:
    page.wait_for_selector(f"{container}[data-state='pass'], {container}[data-state='fail']", timeout=RESULT_TIMEOUT_MS)
    return {
        "state": page.get_attribute(container, "data-state"),
        "text": page.inner_text(container),
    }


@pytest.fixture
def instant() -> InstantPublisher:
    """Pub/Sub confirming at once, keeping what it was given (tests/site/publishers.py)."""
    return InstantPublisher()


@pytest.fixture
def ingest_site(make_site: Callable[..., Site], instant: InstantPublisher) -> Site:
    """The site with ingest on, publishing to `instant`."""
    return make_site(INGEST_PUBLISHER=instant)


# -- the transparency log (tests/site/logs.py) ----------------------------------------


@pytest.fixture
def site_log(tmp_path: Path) -> SiteLog:
    return new_log(tmp_path / "archive" / "log")


@pytest.fixture
def log_site(make_site: Callable[..., Site], site_log: SiteLog) -> Site:
    """The site over a log of its store's five receipts (cust_1's three, then cust_2's two)."""
    built = make_site(**site_log.config())
    assert site_log.integrate(built.store) == 5
    built.extra["log"] = site_log
    return built
