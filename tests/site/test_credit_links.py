"""Credit notes linked to their charges: on the receipt page and in GET /v1/receipts/<id>
(`?credits=true`, and a `corrects` Link), from the store's `credits_of` read; only for a
viewer who may read the customer."""

from pathlib import Path

import pytest

from receipts.api_keys import OPERATOR, issue_api_key
from receipts.canonical import receipt_id
from receipts.credits import ChargeBook, credit_standing
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.sqlite import SqliteStore
from tests.conftest import PROCESSED_AT, make_event
from tests.site.conftest import Site

CHARGE = receipt_id("cust_cr", "c-1")
OTHER_CHARGE = receipt_id("cust_cr", "c-2")


def credit_chain(signer, customer: str = "cust_cr") -> list[SignedReceipt]:
    """A 40.00 charge, a 15.00 credit of it, a second charge, a refused 30.00 credit of the
    first (it would pass its amount), a 5.00 credit of the first."""
    events = [
        {"idempotent_key": "c-1", "amount": "40.00"},
        {"idempotent_key": "r-1", "amount": "15.00", "type": "credit", "corrects": receipt_id(customer, "c-1")},
        {"idempotent_key": "c-2", "amount": "7.00"},
        {"idempotent_key": "r-2", "amount": "30.00", "type": "credit", "corrects": receipt_id(customer, "c-1")},
        {"idempotent_key": "r-3", "amount": "5.00", "type": "credit", "corrects": receipt_id(customer, "c-1")},
    ]
    state, book, out = ChainState(customer), ChargeBook(), []
    for index, fields in enumerate(events):
        event = make_event(customer_id=customer, timestamp=f"2026-01-25T11:{index:02d}:00Z", **fields)
        chained = state.append(event, None, signer.kid, PROCESSED_AT, book)
        out.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return out


@pytest.fixture
def credit_site(site: Site, signer) -> Site:
    site.store.write_receipts(credit_chain(signer))
    site.api_keys["cust_cr"] = issue_api_key(site.store, "cust_cr")[0]
    site.receipts["cust_cr"] = list(site.store.receipts("cust_cr"))
    return site


def test_the_store_reads_a_charges_credits_in_order(credit_site: Site) -> None:
    credits = credit_site.store.credits_of("cust_cr", [CHARGE]).get(CHARGE, [])
    assert [c["idempotent_key"] for c in credits] == ["r-1", "r-2", "r-3"]
    assert [c["status"] for c in credits] == ["accepted", "rejected", "accepted"]
    assert credits[1]["reason"] == "credit_exceeds_charge"
    assert credit_site.store.credits_of("cust_cr", [OTHER_CHARGE]).get(OTHER_CHARGE, []) == []
    assert credit_site.store.credits_of("cust_1", [CHARGE]).get(CHARGE, []) == []  # another customer's: none


def test_a_charges_standing_counts_only_its_accepted_credits(credit_site: Site) -> None:
    charge = credit_site.store.receipt(CHARGE)
    standing = credit_standing(charge, credit_site.store.credits_of("cust_cr", [CHARGE]).get(CHARGE, []))
    assert (standing.currency, standing.credited_minor, standing.remaining_minor) == ("USD", 2000, 2000)
    credit = credit_site.store.credits_of("cust_cr", [CHARGE]).get(CHARGE, [])[0]
    assert credit_standing(credit, []).remaining_minor == 0  # nothing corrects a credit
    assert credit_standing({**charge, "amount": 1.5}, []) is None  # damaged: no standing, no crash


def test_the_json_route_links_a_credit_to_its_charge_and_a_charge_to_its_credits(credit_site: Site) -> None:
    bearer = credit_site.bearer("cust_cr")
    credit = credit_site.store.credits_of("cust_cr", [CHARGE]).get(CHARGE, [])[0]
    plain = credit_site.client.get(f"/v1/receipts/{credit['receipt_id']}", headers=bearer)
    assert plain.json == credit  # the export format, unchanged
    assert f'</v1/receipts/{CHARGE}>; rel="corrects"' in plain.headers["Link"]
    linked = credit_site.client.get(f"/v1/receipts/{credit['receipt_id']}?credits=true", headers=bearer).json
    assert linked["credit_notes"]["corrects"] == {
        "receipt_id": CHARGE,
        "sequence": 1,
        "amount": "40.00",
        "currency": "USD",
        "status": "accepted",
        "reason": None,
        "url": f"/v1/receipts/{CHARGE}",
        "page": f"/receipts/{CHARGE}",
        "found": True,
    }
    charge = credit_site.client.get(f"/v1/receipts/{CHARGE}?credits=true", headers=bearer).json["credit_notes"]
    assert [(c["amount"], c["status"], c["reason"]) for c in charge["credits"]] == [
        ("15.00", "accepted", None),
        ("30.00", "rejected", "credit_exceeds_charge"),
        ("5.00", "accepted", None),
    ]
    assert (charge["credited"], charge["remaining"], charge["currency"]) == ("20.00", "20.00", "USD")
    untouched = credit_site.client.get(f"/v1/receipts/{OTHER_CHARGE}?credits=true", headers=bearer).json
    assert untouched["credit_notes"] == {
        "type": "charge",
        "credits": [],
        "currency": "USD",
        "credited": "0.00",
        "remaining": "7.00",
    }
    assert "corrects" not in credit_site.client.get(f"/v1/receipts/{CHARGE}", headers=bearer).headers.get("Link", "")
    bad = credit_site.client.get(f"/v1/receipts/{CHARGE}?credits=yes", headers=bearer)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_parameter"


def test_only_a_viewer_of_the_customer_sees_them(credit_site: Site) -> None:
    other = credit_site.client.get(f"/v1/receipts/{CHARGE}?credits=true", headers=credit_site.bearer("cust_1"))
    assert other.status_code == 404 and "credit_notes" not in other.json
    assert credit_site.client.get(f"/v1/receipts/{CHARGE}?credits=true").status_code == 401
    operator, _ = issue_api_key(credit_site.store, None, OPERATOR)
    seen = credit_site.client.get(
        f"/v1/receipts/{CHARGE}?credits=true", headers={"Authorization": f"Bearer {operator}"}
    )
    assert seen.status_code == 200 and len(seen.json["credit_notes"]["credits"]) == 3


def test_the_page_links_both_ways(credit_site: Site) -> None:
    credit_site.sign_in("cust_cr", CHARGE)
    page = credit_site.client.get(f"/receipts/{CHARGE}").get_data(as_text=True)
    credits = credit_site.store.credits_of("cust_cr", [CHARGE]).get(CHARGE, [])
    for credit in credits:
        assert f'href="/receipts/{credit["receipt_id"]}"' in page
    assert "credit_exceeds_charge" in page and 'id="remaining">20.00 USD' in page
    credit_page = credit_site.client.get(f"/receipts/{credits[0]['receipt_id']}").get_data(as_text=True)
    assert f'id="corrects-link" href="/receipts/{CHARGE}"' in credit_page and "40.00 USD" in credit_page
    plain = credit_site.client.get(f"/receipts/{credit_site.receipts['cust_cr'][2]['receipt_id']}").get_data(
        as_text=True
    )
    assert "No credit note corrects this receipt." in plain and 'id="remaining">7.00 USD' in plain


def test_a_credit_naming_another_customers_receipt_links_nothing(site: Site, signer) -> None:
    """A refused credit (unknown_receipt) naming cust_1's receipt does not show cust_1's charge."""
    foreign = site.receipts["cust_1"][0]["receipt_id"]
    event = make_event(customer_id="cust_x", idempotent_key="r", type="credit", corrects=foreign)
    chained = ChainState("cust_x").append(event, None, signer.kid, PROCESSED_AT, ChargeBook())
    site.store.write_receipts([SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])])
    operator, _ = issue_api_key(site.store, None, OPERATOR)
    answer = site.client.get(
        f"/v1/receipts/{chained.body['receipt_id']}?credits=true", headers={"Authorization": f"Bearer {operator}"}
    )
    assert answer.json["status"] == "rejected"
    assert answer.json["credit_notes"]["corrects"] == {"receipt_id": foreign, "found": False}


def test_a_home_opened_again_keeps_one_index(tmp_path: Path) -> None:
    SqliteStore(f"sqlite:///{tmp_path / 'r.db'}").close()
    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    plan = store._db.execute(
        "EXPLAIN QUERY PLAN SELECT body FROM receipts WHERE customer_id = ? AND json_extract(body, '$.corrects') = ?"
        " ORDER BY sequence",
        ("c", "r"),
    ).fetchall()
    assert "receipts_by_corrects" in plan[0][3]
