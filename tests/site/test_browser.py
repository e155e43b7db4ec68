"""The pages in real headless Chromium (Debian's `chromium`, driven by Playwright): look a
receipt up, verify it in the browser with WebCrypto, and see tampered receipts fail with
the reason. The app runs on a free localhost port in a background thread."""

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from receipts.canonical import canonical_bytes
from receipts.text import visible
from tests.site.conftest import Site

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("headless Chromium is missing: install the Debian package chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULT_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator["sync_api.Browser"]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(site: Site) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(browser) -> Iterator["sync_api.Page"]:
    context = browser.new_context()
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda message: message.type == "error" and problems.append(message.text))
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))  # an alert() would mean XSS
    opened.problems = problems  # type: ignore[attr-defined]
    yield opened
    context.close()


def results_of(page, container: str) -> dict[str, str]:
    page.wait_for_selector(f"{container}[data-state='pass'], {container}[data-state='fail']", timeout=RESULT_TIMEOUT_MS)
    return {
        "state": page.get_attribute(container, "data-state"),
        "text": page.inner_text(container),
    }


def test_look_up_a_receipt_and_verify_it_in_the_browser(site: Site, served: str, page) -> None:
    receipt = site.receipts["cust_1"][1]  # the one with hostile text in its description
    page.goto(f"{served}/")
    page.fill("#receipt_id", receipt["receipt_id"])
    page.fill("#api_key", site.api_keys["cust_1"])
    page.click("#lookup-form button[type=submit]")
    page.wait_for_url(f"{served}/receipts/{receipt['receipt_id']}")
    assert page.inner_text("#amount") == f"{receipt['amount']} USD"
    assert page.inner_text("#description") == visible(receipt["usage_description"])  # text, U+2028 made visible
    page.click("#verify-in-browser")
    result = results_of(page, "#browser-results")
    assert result["state"] == "pass", result["text"]
    assert "Verified in your browser: 3 receipt(s)" in result["text"]
    focus = page.locator(f".browser-result[data-receipt-id='{receipt['receipt_id']}']")
    assert focus.get_attribute("data-ok") == "true"
    for check in ("signature", "hash", "chain_link"):
        assert "pass" in focus.locator(f"li.check[data-check='{check}']").get_attribute("class")
    assert "RS256 by key" in focus.inner_text()
    assert f"previous_receipt_hash is the hash of #{receipt['sequence'] - 1}" in focus.inner_text()
    assert page.problems == []  # no CSP violation, no script error, no alert()


def test_a_tampered_receipt_fails_in_the_browser_with_the_reason(site: Site, served: str, page) -> None:
    tampered = dict(site.receipts["cust_2"][0])
    tampered["amount"] = "0.01"
    page.goto(f"{served}/verify")
    page.fill("#receipts", json.dumps(tampered))
    page.click("#verify-button")
    result = results_of(page, "#verify-results")
    assert result["state"] == "fail"
    assert "Verification FAILED in your browser" in result["text"]
    assert 'canonical: exported field "amount" differs from the signed body' in result["text"]
    signature = page.locator("li.check[data-check='signature']")
    assert "pass" in signature.get_attribute("class")  # the JWS is intact; the exported copy lies
    assert page.problems == []


def test_a_forged_signature_and_a_broken_chain_fail_in_the_browser(site: Site, served: str, page) -> None:
    first, second, third = (dict(receipt) for receipt in site.receipts["cust_1"])
    head, payload, signature = second["signature"].split(".")
    second["signature"] = f"{head}.{payload}.{signature[:20]}{'A' if signature[20] != 'A' else 'B'}{signature[21:]}"
    segment = "".join(canonical_bytes(r).decode() + "\n" for r in (first, second, third))
    page.goto(f"{served}/verify")
    page.fill("#receipts", segment)
    page.click("#verify-button")
    assert results_of(page, "#verify-results")["state"] == "fail"
    forged = page.locator(f".browser-result[data-receipt-id='{second['receipt_id']}']").inner_text()
    assert "RS256 signature does not verify with key" in forged
    page.fill("#receipts", canonical_bytes(first).decode() + "\n" + canonical_bytes(third).decode() + "\n")
    page.click("#verify-button")
    assert results_of(page, "#verify-results")["state"] == "fail"
    broken = page.locator(f".browser-result[data-receipt-id='{third['receipt_id']}']").inner_text()
    assert "sequence 3 follows 1; expected 2" in broken
    assert "is not the hash of the receipt before it, sequence 1" in broken


def test_an_uploaded_chain_segment_verifies_in_the_browser(site: Site, served: str, page, tmp_path: Path) -> None:
    export = tmp_path / "receipts.jsonl"
    export.write_bytes(b"".join(canonical_bytes(r) + b"\n" for r in site.receipts["cust_1"]))
    page.goto(f"{served}/")
    page.set_input_files("#file", str(export))
    page.click("#verify-button")
    result = results_of(page, "#verify-results")
    assert result["state"] == "pass", result["text"]
    assert page.locator(".browser-result[data-ok='true']").count() == 3
    assert page.problems == []
