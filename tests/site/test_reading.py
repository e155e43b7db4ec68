"""Pages as a customer reads them: producer text that cannot reorder or hide what is
shown, a results page that says at the top how many receipts failed and links each one,
plain words for a rejected charge, and no tick for a check that did not run."""

import html as html_lib
import json
import re
from typing import Any

from receipts.api_keys import issue_api_key
from receipts.canonical import canonical_bytes
from receipts.jws import sign_payloads
from receipts.ledger import ChainState, Entitlement
from receipts.records import SignedReceipt
from receipts.stores.signers import LocalKeySigner
from tests.conftest import PROCESSED_AT, make_event
from tests.site.conftest import Site, signed_chain

BIDI = "refund \u202e0001 DSU\u202c \u2066isolated\u2069 \x1b[2J bell\x07 line\u2028end"
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2028\u2029\x00-\x08\x0b-\x1f\x7f]")


def jsonl(receipts: list[dict[str, Any]]) -> str:
    return "".join(canonical_bytes(receipt).decode() + "\n" for receipt in receipts)


def store(site: Site, signer: LocalKeySigner, customer: str, charges: list[dict[str, Any]], limit: int | None = None):
    """Sign `charges` for `customer` into the site's store; an API key for them; the exports."""
    state = ChainState(customer)
    entitlement = Entitlement(customer, "ent_1", limit, "USD") if limit is not None else None
    signed = []
    for index, charge in enumerate(charges):
        fields = {"idempotent_key": f"{customer}-{index}", "customer_id": customer, "amount": "1.00", **charge}
        if entitlement:
            fields["entitlement_id"] = "ent_1"
        chained = state.append(make_event(**fields), entitlement, signer.kid, PROCESSED_AT)
        signed.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    site.store.write_receipts(signed)
    key = issue_api_key(site.store, customer)[0]
    response = site.client.post("/lookup", data={"receipt_id": signed[0].receipt_id, "api_key": key})
    assert response.status_code == 303
    return [receipt.export() for receipt in signed]


def page(site: Site, receipt: dict[str, Any]) -> str:
    response = site.client.get(f"/receipts/{receipt['receipt_id']}")
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


# -- producer text -------------------------------------------------------------------------


def test_bidi_overrides_and_controls_in_producer_text_are_shown_as_escapes(site: Site, signer: LocalKeySigner) -> None:
    receipts = store(site, signer, "cust_bidi", [{"usage_description": BIDI}, {"usage_description": "plain"}])
    html = page(site, receipts[0])
    assert not INVISIBLE.search(html), INVISIBLE.search(html)
    shown = "refund \\u202e0001 DSU\\u202c \\u2066isolated\\u2069 \\u001b[2J bell\\u0007 line\\u2028end"
    assert f'<dd id="description"><bdi>{shown}</bdi></dd>' in html
    # The data the browser verifier gets is still exactly the receipts: JSON escapes, not visible ones.
    holder = re.search(r'data-receipts="([^"]*)"', html)
    assert holder is not None
    assert json.loads(html_lib.unescape(holder.group(1))) == receipts


def test_the_evidence_page_shows_producer_text_as_escapes_too(site: Site, signer: LocalKeySigner) -> None:
    receipts = store(site, signer, "cust_bidi", [{"usage_description": BIDI}])
    response = site.client.get(f"/receipts/{receipts[0]['receipt_id']}/evidence")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and not INVISIBLE.search(html)
    pre = re.search(r'<pre class="wrap">(\{.*?\})</pre>', html, re.S)
    assert pre is not None and json.loads(html_lib.unescape(pre.group(1))) == receipts[0]  # exact JSON, readable
    assert "-----BEGIN PUBLIC KEY-----\n" in html  # trusted multi-line text keeps its lines


def test_text_quoted_from_a_pasted_receipt_is_shown_as_escapes(site: Site) -> None:
    receipt = {**site.receipts["cust_1"][0], "receipt_id": "r_\u202eevil", "customer_id": "c\u2066x"}
    response = site.client.post("/verify", data={"receipts": jsonl([receipt])})
    results = section(response.get_data(as_text=True), "server-results")
    assert not INVISIBLE.search(results)
    assert "r_\\u202eevil" in results and "<bdi>" in results


def test_the_pasted_text_comes_back_exactly_in_the_form(site: Site) -> None:
    text = jsonl(site.receipts["cust_1"][:2]) + "not json\n"
    html = site.client.post("/verify", data={"receipts": text}).get_data(as_text=True)
    echoed = re.search(r'<textarea id="receipts"[^>]*>(.*?)</textarea>', html, re.S)
    assert echoed is not None and html_lib.unescape(echoed.group(1)) == text  # to edit and send again


# -- a page of results -----------------------------------------------------------------------


def test_many_receipts_with_a_few_bad_ones_say_how_many_failed_and_link_each(site: Site, signer) -> None:
    chain = [receipt.export() for receipt in signed_chain(signer, "cust_many", [f"call {n}" for n in range(39)])]
    foreign_signature = chain[20]["signature"].rsplit(".", 1)[0] + "." + chain[21]["signature"].rsplit(".", 1)[1]
    bad = {
        5: {"amount": "0.01"},
        12: {"receipt_hash": "0" * 64},
        20: {"signature": foreign_signature},
        33: {"kid": "k"},
    }
    for index, edit in bad.items():
        chain[index] = {**chain[index], **edit}
    response = site.client.post("/verify", data={"receipts": jsonl(chain)})
    html = response.get_data(as_text=True)
    results = section(html, "server-results")
    verdict = re.search(r'<p class="verdict fail"[^>]*>(.*?)</p>', results, re.S)
    assert verdict is not None and "4 of 39 receipts failed" in " ".join(verdict.group(1).split())
    links = re.findall(r'<a href="#(server-receipt-\d+)">', results)
    assert links == [f"server-receipt-{index + 1}" for index in sorted(bad)]
    for target in links:
        assert f'id="{target}"' in results
    listed = results[: results.index('id="server-receipt-1"')]
    for words in ("failed canonical form", "failed hash", "failed signature"):  # what failed, at the top
        assert words in listed


def test_the_verdict_names_only_the_checks_that_ran(site: Site) -> None:
    segment = site.receipts["cust_1"][1:]  # starts at sequence 2: its first link cannot be checked
    results = section(
        site.client.post("/verify", data={"receipts": jsonl(segment)}).get_data(as_text=True), "server-results"
    )
    verdict = " ".join(re.search(r'<p class="verdict pass"[^>]*>(.*?)</p>', results, re.S).group(1).split())
    assert "2 receipts" in verdict and "Not checked for 1 receipt" in verdict
    assert re.search(r"Not checked for 1 receipt[^.]*sequence, chain link and balance", verdict), verdict
    first = results[results.index('id="server-receipt-1"') : results.index('id="server-receipt-2"')]
    assert '<li class="check unchecked" data-check="chain_link">' in first and "✓" not in first.split("chain_link")[1]
    assert "not checked: the receipt before this one was not given" in first
    second = results[results.index('id="server-receipt-2"') :]
    assert '<li class="check pass" data-check="chain_link">' in second


def test_checks_skipped_after_an_early_failure_are_not_shown_as_failed_or_passed(site: Site) -> None:
    broken = {**site.receipts["cust_2"][0], "signature": 5}
    results = section(
        site.client.post("/verify", data={"receipts": jsonl([broken])}).get_data(as_text=True), "server-results"
    )
    assert '<li class="check fail" data-check="signature">' in results
    for key in ("hash", "chain_link"):
        assert f'<li class="check unchecked" data-check="{key}">' in results
    assert results.count("not checked: an earlier check failed") == 2


# -- a receipt's page --------------------------------------------------------------------------


def test_a_rejected_receipt_says_nothing_was_charged(site: Site, signer: LocalKeySigner) -> None:
    receipts = store(site, signer, "cust_capped", [{"amount": "5.00"}, {"amount": "12.00"}], limit=1000)
    assert [r["status"] for r in receipts] == ["accepted", "rejected"]
    html = page(site, receipts[1])
    assert "Rejected — nothing charged (12.00 USD asked, quota_exceeded)" in html
    assert "Rejected: 12.00 USD" not in html
    assert '<dd id="amount">12.00 USD asked, not charged</dd>' in html
    assert "Charged 5.00 USD" in page(site, receipts[0])
    evidence = site.client.get(f"/receipts/{receipts[1]['receipt_id']}/evidence").get_data(as_text=True)
    assert "Rejected — nothing charged (12.00 USD asked, quota_exceeded)" in evidence


def test_the_first_receipt_of_a_chain_reads_plainly(site: Site) -> None:
    site.sign_in()
    html = page(site, site.receipts["cust_1"][0])
    assert "in the input" not in html
    assert "sequence 1: the start of this customer&#39;s chain" in html
