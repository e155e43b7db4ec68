"""The customer's account on the Google Cloud store: the same reads as on SQLite (balances,
filtered keyset pages, credits of charges, daily totals, the latest receipt) and the page
served from Spanner and Firestore."""

from receipts.api_keys import issue_api_key
from receipts.statements import Period
from receipts.statements.activity import ReceiptFilter
from receipts.stores.gcp import account
from receipts.stores.sqlite import SqliteStore
from tests.site.accounts import CUSTOMER, account_chain
from verifier_site import create_app

FILTERS = [
    ReceiptFilter(),
    ReceiptFilter(status="rejected"),
    ReceiptFilter(type="credit"),
    ReceiptFilter(type="charge", status="accepted"),
    ReceiptFilter(period=Period(2026, 2)),
    ReceiptFilter(period=Period(2025, 12)),
]


def test_the_account_reads_are_the_same_on_both_stores(cloud, signer, tmp_path) -> None:
    chain = account_chain(signer)
    gcp, sqlite = cloud.store(), SqliteStore(f"sqlite:///{tmp_path / 'same.db'}")
    for store in (gcp, sqlite):
        store.write_receipts(chain)
    assert gcp.customer_balances(CUSTOMER) == sqlite.customer_balances(CUSTOMER)
    assert [b.currency for b in gcp.customer_balances(CUSTOMER)] == ["JPY", "USD"]
    assert gcp.customer_balances("nobody") == []
    for chosen in FILTERS:
        for after, limit in ((0, 100), (0, 2), (2, 2), (5, 2), (7, 1)):
            mine, theirs = (
                gcp.account_receipts(CUSTOMER, chosen, after, limit),
                sqlite.account_receipts(CUSTOMER, chosen, after, limit),
            )
            assert [r["sequence"] for r in mine.receipts] == [r["sequence"] for r in theirs.receipts], chosen
            # GCP's cursor is the last receipt looked at, SQLite's the last one kept: the next page is the same
            if theirs.next_after is None:
                assert (
                    mine.next_after is None or not gcp.account_receipts(CUSTOMER, chosen, mine.next_after, 1).receipts
                )
            else:
                assert mine.next_after is not None
    charges = [r["receipt_id"] for r in chain[:2] for r in [r.chained.body]]
    assert gcp.credits_of(CUSTOMER, charges) == sqlite.credits_of(CUSTOMER, charges)
    assert len(gcp.credits_of(CUSTOMER, charges)[charges[0]]) == 1
    for period in (Period(2026, 1), Period(2026, 2), Period(2025, 12)):
        assert gcp.daily_totals(CUSTOMER, period) == sqlite.daily_totals(CUSTOMER, period)
    assert gcp.latest_receipt(CUSTOMER) == sqlite.latest_receipt(CUSTOMER)
    assert gcp.latest_receipt("nobody") is None


def test_the_account_page_on_spanner_and_firestore(cloud, signer) -> None:
    store = cloud.store()
    store.write_receipts(account_chain(signer))
    key, _ = issue_api_key(store, CUSTOMER)
    app = create_app(
        {"STORE_URL": cloud.url, "KEYS_FOLDER": str(cloud.keys.folder), "TESTING": True, "SECRET_KEY": b"s"}
    )
    client = app.test_client()
    assert client.get("/account").status_code == 401
    assert client.post("/account/sign-in", data={"api_key": key}).status_code == 303
    html = client.get("/account?type=credit").get_data(as_text=True)
    assert '<td class="amount">15.50 USD</td>' in html and '<td class="amount">100 JPY</td>' in html
    assert html.count('class="corrects"') == 3
    assert 'id="no-statements"' in html  # the GCP store keeps statements: none is closed yet
    assert "Charges and credits per day, 2026-02" in html and "2026-02-02: charged 7.25 USD" in html
    page = client.get("/account?limit=3&after=3").get_data(as_text=True)
    assert 'data-sequence="4"' in page and 'data-sequence="6"' in page and 'data-sequence="7"' not in page
    assert 'id="next-page"' in page


def test_a_bounded_scan_ends_the_page_early_and_the_next_page_goes_on(cloud, signer, monkeypatch) -> None:
    """Past SCAN_LIMIT receipts looked at without a full page, the page ends with a cursor at
    the last one looked at; following the cursors finds every kept receipt, once each."""
    store = cloud.store()
    store.write_receipts(account_chain(signer))
    monkeypatch.setattr(account, "SCAN_LIMIT", 2)
    monkeypatch.setattr(account, "SCAN_CHUNK", 2)
    credits, after, pages = [], 0, 0
    while after is not None:
        page = store.account_receipts(CUSTOMER, ReceiptFilter(type="credit"), after, 10)
        credits += [r["sequence"] for r in page.receipts]
        after, pages = page.next_after, pages + 1
        assert pages < 10
    assert credits == [3, 5, 7] and pages == 4  # looked at 1-2, 3-4, 5-6, 7
