"""The receipt's page says where the receipt is in the log ("in the log at index i of N,
cosigned by K witnesses") and hands the browser its proof to check; a receipt not logged
yet says so, and a broken log never breaks the page."""

import html
import json
import re
from collections.abc import Callable

from receipts.api_keys import issue_api_key
from tests.site.conftest import Site, signed_chain
from tests.site.logs import new_log


def page(site: Site, receipt: dict) -> str:
    site.sign_in(receipt["customer_id"], receipt["receipt_id"])
    response = site.client.get(f"/receipts/{receipt['receipt_id']}")
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def log_line(text: str) -> str:
    found = re.search(r'<dd id="log-status">(.*?)</dd>', text, re.S)
    assert found, "no log line"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_the_page_says_where_the_receipt_is_in_the_log(make_site: Callable[..., Site], tmp_path) -> None:
    log = new_log(tmp_path / "log", witnesses=2)
    site = make_site(**log.config(quorum=1))
    log.integrate(site.store)
    text = page(site, site.receipts["cust_2"][0])
    assert log_line(text) == "In the log at index 3 of 5, cosigned by 2 witnesses. checkpoint"
    proof = json.loads(html.unescape(re.search(r'data-log-proof="([^"]*)"', text).group(1)))
    assert (proof["leaf_index"], proof["tree_size"]) == (3, 5)
    assert 'data-log-url="/v1/log"' in text


def test_without_witnesses_the_page_says_none_cosigned(log_site: Site) -> None:
    assert "cosigned by 0 witnesses" in log_line(page(log_site, log_site.receipts["cust_1"][0]))


def test_one_witness_is_singular(make_site: Callable[..., Site], tmp_path) -> None:
    log = new_log(tmp_path / "log", witnesses=2)
    site = make_site(**log.config())
    log.integrate(site.store, cosigned_by=log.witnesses[:1])
    assert log_line(page(site, site.receipts["cust_1"][0])).startswith(
        "In the log at index 0 of 5, cosigned by 1 witness."
    )


def test_a_receipt_not_logged_yet_says_so(log_site: Site, signer) -> None:
    log_site.store.write_receipts(signed_chain(signer, "cust_1b", ["later"]))
    log_site.api_keys["cust_1b"] = issue_api_key(log_site.store, "cust_1b")[0]
    receipt = next(log_site.store.receipts("cust_1b"))
    text = page(log_site, receipt)
    assert log_line(text).startswith("Not in the transparency log yet")
    assert "data-log-proof" not in text


def test_a_site_without_a_log_shows_the_receipt_all_the_same(site: Site) -> None:
    text = page(site, site.receipts["cust_1"][1])
    assert log_line(text).startswith("Not in the transparency log yet")


def test_a_damaged_log_is_reported_on_the_page_not_a_crash(log_site: Site) -> None:
    with log_site.store._transaction():
        log_site.store._db.execute("UPDATE log_hashes SET hash = zeroblob(32)")
    text = page(log_site, log_site.receipts["cust_1"][0])
    assert log_line(text).startswith("The log could not be checked: the log's stored hashes do not prove")


def test_the_printable_evidence_shows_the_logs_proof(log_site: Site) -> None:
    receipt = log_site.receipts["cust_1"][1]
    log_site.sign_in("cust_1", receipt["receipt_id"])
    text = log_site.client.get(f"/receipts/{receipt['receipt_id']}/evidence").get_data(as_text=True)
    assert "Leaf 1 of the tree of 5 leaves of the log" in text and "c2sp.org/tlog-proof@v1" in text
    assert html.escape(log_site.extra["log"].vkey) in text
