"""The pages in real headless Chromium (Debian's `chromium`, driven by Playwright): look a
receipt up, verify it in the browser with WebCrypto, and see tampered receipts fail with
the reason. The app runs on a free localhost port (tests/site/conftest.py)."""

import json
from pathlib import Path

import pytest

from receipts.canonical import canonical_bytes
from receipts.text import visible
from receipts.tlog.note_keys import NoteSigner, generate_key
from tests.site.conftest import Site, results_of, serve, signed_chain

pytestmark = pytest.mark.browser


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
    assert "Verified in your browser: 3 receipts; every check passed" in result["text"]
    focus = page.locator(f".browser-result[data-receipt-id='{receipt['receipt_id']}']")
    assert focus.get_attribute("data-ok") == "true"
    for check in ("signature", "hash", "chain_link"):
        assert "pass" in focus.locator(f"li.check[data-check='{check}']").get_attribute("class")
    assert "RS256 by key" in focus.inner_text() and "(this receipt)" in focus.inner_text()
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
    assert "canonical: exported field 'amount' differs from the signed body" in result["text"]
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


def test_a_neighbour_whose_link_was_not_checked_gets_no_tick(site: Site, served: str, page) -> None:
    receipt = site.receipts["cust_1"][2]  # its page checks it with receipt 2, whose own link is not given
    page.goto(f"{served}/")
    page.fill("#receipt_id", receipt["receipt_id"])
    page.fill("#api_key", site.api_keys["cust_1"])
    page.click("#lookup-form button[type=submit]")
    page.wait_for_url(f"{served}/receipts/{receipt['receipt_id']}")
    page.click("#verify-in-browser")
    result = results_of(page, "#browser-results")
    assert result["state"] == "pass", result["text"]
    assert "Not checked for 1 receipt, with no earlier receipt given to compare with" in result["text"]
    neighbour = page.locator("#browser-receipt-1 li.check[data-check='chain_link']")
    assert neighbour.get_attribute("class") == "check unchecked" and neighbour.locator(".mark").inner_text() == "–"
    assert "not checked: the receipt before this one was not given" in neighbour.inner_text()
    this = page.locator("#browser-receipt-2 li.check[data-check='chain_link']")
    assert this.get_attribute("class") == "check pass" and this.locator(".mark").inner_text() == "✓"
    assert page.problems == []


def test_many_receipts_with_a_few_bad_ones_in_the_browser(site: Site, served: str, page, signer) -> None:
    chain = [receipt.export() for receipt in signed_chain(signer, "cust_many", [f"call {n}" for n in range(39)])]
    for index, field in ((5, "amount"), (12, "receipt_hash"), (20, "kid"), (33, "currency")):
        chain[index] = {**chain[index], field: "0.01"}
    page.goto(f"{served}/verify")
    page.fill("#receipts", "".join(canonical_bytes(r).decode() + "\n" for r in chain))
    page.click("#verify-button")
    result = results_of(page, "#verify-results")
    assert result["text"].startswith("Verification FAILED in your browser: 4 of 39 receipts failed.")
    links = page.locator("#verify-results ol.failures a")
    assert links.count() == 4
    targets = [links.nth(n).get_attribute("href") for n in range(4)]
    assert targets == ["#browser-receipt-6", "#browser-receipt-13", "#browser-receipt-21", "#browser-receipt-34"]
    assert "failed canonical form" in page.inner_text("#verify-results ol.failures")
    links.nth(2).click()
    assert page.evaluate("location.hash") == "#browser-receipt-21"
    assert page.locator("#browser-receipt-21").get_attribute("data-ok") == "false"
    assert page.problems == []


def test_producer_text_in_browser_results_is_shown_as_escapes(site: Site, served: str, page) -> None:
    receipt = {**site.receipts["cust_2"][0], "receipt_id": "r_\u202eevil", "customer_id": "c\u2066x"}
    page.goto(f"{served}/verify")
    page.fill("#receipts", json.dumps(receipt, ensure_ascii=False))
    page.click("#verify-button")
    text = results_of(page, "#verify-results")["text"]
    assert "r_\\u202eevil" in text and "c\\u2066x" in text
    assert "\u202e" not in text and "\u2066" not in text
    assert page.locator("#verify-results bdi").count() > 0
    assert page.problems == []


def test_the_receipts_inclusion_in_the_log_is_checked_in_the_browser(log_site: Site, page) -> None:
    receipt = log_site.receipts["cust_1"][2]
    for base in serve(log_site.app):
        log_site.sign_in_browser(page, base, receipt)
        page.click("#verify-in-browser")
        result = results_of(page, "#browser-results")
        assert result["state"] == "pass", result["text"]
        found = page.inner_text("#browser-log")
        assert "inclusion: leaf 2 of the tree of 5 leaves the log billing.test/log signed" in found
        assert "cosigned by 0 witnesses" in found
        assert page.problems == []


def test_a_log_key_the_checkpoint_does_not_match_fails_in_the_browser(log_site: Site, page) -> None:
    """The browser trusts the key it fetched, not the server's verdict: another key, and the proof fails."""
    receipt = log_site.receipts["cust_1"][0]
    other = NoteSigner(generate_key("billing.test/log")).verifier.key.vkey
    info = log_site.client.get("/v1/log").json
    for base in serve(log_site.app):
        page.route(
            "**/v1/log",
            lambda route: route.fulfill(json={**info, "vkey": other}, headers={"Cache-Control": "no-store"}),
        )
        log_site.sign_in_browser(page, base, receipt)
        page.click("#verify-in-browser")
        result = results_of(page, "#browser-results")
        assert result["state"] == "fail"
        assert "inclusion: no known key signed the note" in page.inner_text("#browser-log")
