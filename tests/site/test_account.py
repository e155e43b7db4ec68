"""The customer's account pages through the Flask test client: signed in and out, balances,
statements, filters, keyset pages and their boundaries, credits linked to their charges, the
chart, another customer's statement, hostile text, and no store write on any GET."""

import re
import sqlite3
from html.parser import HTMLParser
from typing import Any

import pytest

from receipts.api_keys import issue_api_key
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.statements import Period, statement_id
from receipts.statements.activity import ReceiptFilter, daily_totals
from receipts.stores import sqlite_account
from tests.conftest import make_event
from tests.site.accounts import CUSTOMER, add_account
from tests.site.conftest import HOSTILE, Site


@pytest.fixture
def account(site: Site, signer) -> dict[str, Any]:
    statements = add_account(site, signer)
    return {"site": site, "statements": statements, "receipts": site.receipts[CUSTOMER]}


def signed_in(account: dict[str, Any]) -> Site:
    site = account["site"]
    site.sign_in(CUSTOMER)
    return site


class Rows(HTMLParser):
    """The data-receipt-id of every receipt row of the account's list, and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.links: dict[str, str] = {}
        self.scripts: list[dict[str, str | None]] = []
        self._in_list = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "table" and named.get("id") == "receipt-list":
            self._in_list = True
        if tag == "tr" and self._in_list and named.get("data-receipt-id"):
            self.rows.append(named["data-receipt-id"] or "")
        if tag == "a" and named.get("id"):
            self.links[named["id"] or ""] = named.get("href") or ""
        if tag == "script":
            self.scripts.append(named)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_list = False


def parsed(html: str) -> Rows:
    rows = Rows()
    rows.feed(html)
    return rows


def listed(site: Site, query: str = "") -> tuple[list[int], Rows]:
    response = site.client.get(f"/account{query}")
    assert response.status_code == 200, response.data
    found = parsed(response.get_data(as_text=True))
    sequences = {r["receipt_id"]: r["sequence"] for r in site.receipts[CUSTOMER]}
    return [sequences[receipt_id] for receipt_id in found.rows], found


def test_signed_out_the_account_answers_the_sign_in_form(account: dict[str, Any]) -> None:
    site = account["site"]
    january = account["statements"]["2026-01"]["statement_id"]
    for path in ("/account", f"/account/statements/{january}"):
        response = site.client.get(path)
        assert response.status_code == 401
        assert 'id="account-sign-in"' in response.get_data(as_text=True)
    data = site.client.get(f"/account/statements/{january}/data")
    assert data.status_code == 401 and "sign" in data.get_data(as_text=True).lower()


def test_the_account_form_signs_in_and_refuses_bad_keys_and_other_sites(account: dict[str, Any]) -> None:
    site = account["site"]
    key = site.api_keys[CUSTOMER]
    assert site.client.post("/account/sign-in", data={"api_key": "sk_nope_nope"}).status_code == 401
    assert site.client.post("/account/sign-in", data={"api_key": " "}).status_code == 401
    foreign = site.client.post("/account/sign-in", data={"api_key": key}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert site.client.get("/account").status_code == 401  # neither opened a session
    response = site.client.post("/account/sign-in", data={"api_key": key}, headers={"Origin": "http://localhost"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    page = site.client.get("/account")
    assert page.status_code == 200 and f"<bdi>{CUSTOMER}</bdi>" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_balances_statements_and_the_csp(account: dict[str, Any]) -> None:
    site = signed_in(account)
    response = site.client.get("/account")
    html = response.get_data(as_text=True)
    assert '<tr data-currency="JPY"><td>JPY</td><td class="amount">100 JPY</td><td>#4</td></tr>' in html
    assert '<tr data-currency="USD"><td>USD</td><td class="amount">15.50 USD</td><td>#7</td></tr>' in html
    for period in ("2026-01", "2026-02"):
        statement = account["statements"][period]
        assert f'<a href="/account/statements/{statement["statement_id"]}">{period}</a>' in html
    assert "USD: 12.50, 3.00, net 9.50" in html and "USD: 7.25, 1.25, net 6.00" in html
    assert account["statements"]["other"]["statement_id"] not in html  # cust_2's
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert all(script.get("src") for script in parsed(html).scripts)  # no inline script


def test_filters_by_status_type_and_period(account: dict[str, Any]) -> None:
    site = signed_in(account)
    assert listed(site)[0] == [1, 2, 3, 4, 5, 6, 7]
    assert listed(site, "?status=rejected")[0] == [5]
    assert listed(site, "?status=accepted")[0] == [1, 2, 3, 4, 6, 7]
    assert listed(site, "?type=credit")[0] == [3, 5, 7]
    assert listed(site, "?type=charge")[0] == [1, 2, 4, 6]
    assert listed(site, "?period=2026-02")[0] == [6, 7]
    assert listed(site, "?period=2026-01&type=credit&status=accepted")[0] == [3]
    nothing, _ = listed(site, "?period=2025-12")
    assert nothing == []
    assert "No receipt matches here" in site.client.get("/account?period=2025-12").get_data(as_text=True)
    for bad in ("period=2026-13", "period=26-01", "status=pending", "type=refund", "period=%3Cb%3E"):
        response = site.client.get(f"/account?{bad}")
        assert response.status_code == 400, bad
        assert "<b>" not in response.get_data(as_text=True)


def test_pages_are_keyset_by_sequence_with_bounded_sizes(account: dict[str, Any]) -> None:
    site = signed_in(account)
    seen, query = [], "?limit=3"
    while True:
        sequences, found = listed(site, query)
        seen.append(sequences)
        if "next-page" not in found.links:
            break
        query = found.links["next-page"].removeprefix("/account")
        assert "first-page" in parsed(site.client.get(f"/account{query}").get_data(as_text=True)).links
    assert seen == [[1, 2, 3], [4, 5, 6], [7]]
    # A page that ends exactly at the last receipt has no next page (limit + 1 is read, not guessed).
    assert "next-page" not in listed(site, "?limit=7")[1].links
    assert "next-page" in listed(site, "?limit=6")[1].links
    assert listed(site, "?after=6&limit=1")[0] == [7]
    assert listed(site, "?after=7")[0] == []
    assert listed(site, "?after=9223372036854775807")[0] == []
    # Filters carry over to the next page.
    first, found = listed(site, "?type=credit&limit=1")
    assert first == [3] and "type=credit" in found.links["next-page"]
    assert listed(site, found.links["next-page"].removeprefix("/account"))[0] == [5]
    for bad in ("limit=0", "limit=101", "limit=-1", "after=-1", "after=x", "after=9223372036854775808", "limit=٣"):
        assert site.client.get(f"/account?{bad}").status_code == 400, bad
    assert len(listed(site, "?limit=100")[0]) == 7


def test_credits_link_to_their_charges_and_charges_list_their_credits(account: dict[str, Any]) -> None:
    site = signed_in(account)
    html = site.client.get("/account").get_data(as_text=True)
    charge, hostile_charge, credit, _, refused, feb_charge, feb_credit = account["receipts"]

    def row(receipt: dict[str, Any]) -> str:
        match = re.search(rf'<tr data-receipt-id="{receipt["receipt_id"]}".*?</tr>', html, re.S)
        assert match
        return match.group(0)

    assert f'corrects <a class="corrects" href="/receipts/{charge["receipt_id"]}">' in row(credit)
    assert f'href="/receipts/{credit["receipt_id"]}"' in row(charge) and "3.00 USD accepted" in row(charge)
    assert f'href="/receipts/{refused["receipt_id"]}"' in row(hostile_charge) and "50.00 USD rejected" in row(
        hostile_charge
    )
    assert "credit_exceeds_charge" in row(refused)
    assert f'href="/receipts/{feb_credit["receipt_id"]}"' in row(feb_charge)
    # The credit's charge is on another page: still linked both ways.
    page = site.client.get(f"/account?after={feb_charge['sequence']}").get_data(as_text=True)
    assert f'href="/receipts/{feb_charge["receipt_id"]}"' in page


def test_the_chart_draws_each_day_per_currency_and_says_when_there_is_nothing(account: dict[str, Any]) -> None:
    site = signed_in(account)
    html = site.client.get("/account?period=2026-01").get_data(as_text=True)
    assert "Charges and credits per day, 2026-01" in html
    assert 'data-currency="JPY"' in html and 'data-currency="USD"' in html
    titles = re.findall(r"<rect class=\"bar (\w+)\"[^>]*><title>([^<]*)</title>", html)
    assert titles == [
        ("charge", "2026-01-07: charged 100 JPY"),
        ("charge", "2026-01-05: charged 12.50 USD"),
        ("credit", "2026-01-07: credited 3.00 USD"),
    ]  # the refused credit moves no money: no bar
    tallest = re.search(r'<rect class="bar charge" x="\d+" y="(\d+)" width="8" height="(\d+)"><title>2026-01-05', html)
    assert tallest and int(tallest.group(1)) + int(tallest.group(2)) == 176  # on the baseline, full height
    assert "USD: charged 12.50, credited 3.00 in 2026-01" in html
    assert "<script" not in html.split('id="chart"')[1].split("</section>")[0]
    empty = site.client.get("/account?period=2025-12").get_data(as_text=True)
    assert 'id="chart-empty">No accepted charges or credits in 2025-12.' in empty
    assert "<rect" not in empty
    # Without a period: the latest receipt's event month (February here).
    assert "Charges and credits per day, 2026-02" in site.client.get("/account").get_data(as_text=True)


def test_hostile_text_is_shown_as_text(account: dict[str, Any]) -> None:
    site = signed_in(account)
    january = account["statements"]["2026-01"]["statement_id"]
    for path in ("/account", f"/account/statements/{january}"):
        html = site.client.get(path).get_data(as_text=True)
        assert "<bdi>&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;\\u2028</bdi>" in html, path
        assert "<img src=x" not in html and "\u2028" not in html
    data = site.client.get(f"/account/statements/{january}/data")
    assert data.json["receipts"][1]["usage_description"] == HOSTILE  # exact JSON for the browser's check
    assert data.headers["Content-Type"] == "application/json"


def test_a_statement_page_shows_lines_totals_and_the_sites_checks(account: dict[str, Any]) -> None:
    site = signed_in(account)
    statement = account["statements"]["2026-01"]
    response = site.client.get(f"/account/statements/{statement['statement_id']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="server-verdict">\n  Every check by this site passed.' in html
    for check in ("signature", "canonical", "hash", "contract", "chain", "closing", "lines", "totals"):
        assert f'data-check="{check}"' in html, check
    assert re.findall(r'<tr data-receipt-id="(r_\w+)">', html) == [r["receipt_id"] for r in account["receipts"][:5]]
    assert '<td class="charged">12.50</td><td>3.00</td><td class="net">9.50</td>' in html
    assert f'data-statement-url="/account/statements/{statement["statement_id"]}/data"' in html
    assert '<script type="module" src="/static/statement.js"></script>' in html
    data = site.client.get(f"/account/statements/{statement['statement_id']}/data").json
    assert data["statement"] == statement
    assert [line["sequence"] for line in data["lines"]] == [1, 2, 3, 4, 5]
    assert [r["receipt_id"] for r in data["receipts"]] == [r["receipt_id"] for r in account["receipts"][:5]]
    assert "verification" not in data  # the browser reaches its own verdict


def test_another_customers_statement_answers_like_a_missing_one(account: dict[str, Any]) -> None:
    site = signed_in(account)
    theirs = account["statements"]["other"]["statement_id"]
    missing = statement_id("nobody", "2026-01")
    for suffix in ("", "/data"):
        foreign = site.client.get(f"/account/statements/{theirs}{suffix}")
        absent = site.client.get(f"/account/statements/{missing}{suffix}")
        assert foreign.status_code == absent.status_code == 404
        assert foreign.get_data(as_text=True).replace(theirs, "ID") == absent.get_data(as_text=True).replace(
            missing, "ID"
        )
        assert site.client.get(f"/account/statements/s_NOT{suffix}").status_code == 400


def test_a_tampered_stored_statement_fails_the_sites_check_on_its_page(account: dict[str, Any]) -> None:
    site = signed_in(account)
    statement = account["statements"]["2026-01"]
    site.store._db.execute(
        "UPDATE statements SET body = replace(body, '\"12.50\"', '\"1.25\"') WHERE statement_id = ?",
        (statement["statement_id"],),
    )
    html = site.client.get(f"/account/statements/{statement['statement_id']}").get_data(as_text=True)
    assert "Verification FAILED on this site: canonical." in html
    assert '<td class="charged">1.25</td>' in html  # shown as stored, and flagged


def test_no_get_route_writes_to_the_store(account: dict[str, Any], tmp_path) -> None:
    site = signed_in(account)
    january = account["statements"]["2026-01"]["statement_id"]

    def dump() -> list[str]:
        with sqlite3.connect(tmp_path / "site.db") as db:
            return list(db.iterdump())

    before = dump()
    for path in (
        "/account",
        "/account?period=2026-01&status=accepted&type=charge&limit=1",
        "/account?after=3",
        f"/account/statements/{january}",
        f"/account/statements/{january}/data",
        f"/account/statements/{account['statements']['other']['statement_id']}",
    ):
        assert site.client.get(path).status_code in (200, 404), path
    assert dump() == before


def test_a_customer_with_nothing_yet_sees_an_empty_account(site: Site) -> None:
    key, _ = issue_api_key(site.store, "cust_new")
    assert site.client.post("/account/sign-in", data={"api_key": key}).status_code == 303
    html = site.client.get("/account").get_data(as_text=True)
    assert 'id="no-balance"' in html and 'id="no-statements"' in html and "No receipt yet." in html
    assert 'id="chart-empty">No accepted charges or credits in ' in html and 'id="next-page"' not in html


def test_a_revoked_key_ends_the_account_session(account: dict[str, Any]) -> None:
    site = signed_in(account)
    assert site.client.get("/account").status_code == 200
    [record] = site.store.api_keys(CUSTOMER)
    site.store.revoke_api_key(record.key_id, "2026-03-01T00:00:00Z")
    assert site.client.get("/account").status_code == 401


def test_the_period_is_the_event_month_at_fraction_second_edges(site: Site, signer) -> None:
    """A string range would put 00:00:00.5Z before 00:00:00Z: months are compared as months."""
    state, chain = ChainState("cust_edge"), []
    for index, when in enumerate(("2026-01-31T23:59:59.999Z", "2026-02-01T00:00:00.5Z", "2026-02-01T00:00:00Z")):
        event = make_event(customer_id="cust_edge", idempotent_key=f"k{index}", amount="1.00", timestamp=when)
        chained = state.append(event, None, signer.kid, "2026-02-02T00:00:00.000000Z")
        chain.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    site.store.write_receipts(chain)
    receipts = list(site.store.receipts("cust_edge"))
    february = ReceiptFilter(period=Period(2026, 2))
    assert [r["sequence"] for r in receipts if february.keeps(r)] == [2, 3]
    assert [r["sequence"] for r in site.store.account_receipts("cust_edge", february, 0, 10).receipts] == [2, 3]
    [day] = daily_totals(receipts, Period(2026, 2))
    assert (day.day, day.charged, day.credited) == ("2026-02-01", 200, 0)
    assert site.store.daily_totals("cust_edge", Period(2026, 2)) == [day]


def test_a_page_looks_at_a_bounded_number_of_receipts(account: dict[str, Any], monkeypatch) -> None:
    """A filter that keeps few receipts ends its page early, with a cursor past the ones looked
    at; the pages still find every kept receipt once, and an empty one says why."""
    monkeypatch.setattr(sqlite_account, "SCAN_LIMIT", 2)
    site = signed_in(account)
    seen, query, pages = [], "?type=credit&limit=10", 0
    while True:
        sequences, found = listed(site, query)
        seen += sequences
        pages += 1
        if "next-page" not in found.links:
            break
        query = found.links["next-page"].removeprefix("/account")
    assert seen == [3, 5, 7] and pages == 4  # looked at 1-2, 3-4, 5-6, 7
    empty = site.client.get("/account?type=credit").get_data(as_text=True)
    assert "No receipt matches among #1 to #2: the next page looks further." in empty
