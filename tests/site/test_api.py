"""The customer API with Flask's test client: scoping, validation, pagination, errors."""

import pytest

from tests.site.conftest import Site

MISSING_ID = "r_" + "a" * 26


def test_a_receipt_in_the_export_format_with_links_to_its_neighbours(site: Site) -> None:
    first, second, third = site.receipts["cust_1"]
    response = site.client.get(f"/v1/receipts/{second['receipt_id']}", headers=site.bearer())
    assert response.status_code == 200
    assert response.json == second
    assert response.headers["Cache-Control"] == "no-store"
    link = response.headers["Link"]
    assert f'</v1/receipts/{first["receipt_id"]}>; rel="prev"' in link
    assert f'</v1/receipts/{third["receipt_id"]}>; rel="next"' in link


def test_without_a_key_the_answer_is_401_with_a_json_error(site: Site) -> None:
    response = site.client.get(f"/v1/receipts/{site.receipts['cust_1'][0]['receipt_id']}")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert "Bearer" in response.json["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sk_0123456789abcdef_" + "x" * 43,  # well formed, unknown
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
def test_a_wrong_key_is_401(site: Site, header: str) -> None:
    response = site.client.get(
        f"/v1/receipts/{site.receipts['cust_1'][0]['receipt_id']}", headers={"Authorization": header}
    )
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_a_tampered_secret_with_a_real_key_id_is_401(site: Site) -> None:
    key = site.api_keys["cust_1"]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    response = site.client.get(
        f"/v1/receipts/{site.receipts['cust_1'][0]['receipt_id']}", headers={"Authorization": f"Bearer {tampered}"}
    )
    assert response.status_code == 401


def test_another_customers_receipt_answers_exactly_like_a_missing_one(site: Site) -> None:
    other = site.receipts["cust_2"][0]["receipt_id"]
    foreign = site.client.get(f"/v1/receipts/{other}", headers=site.bearer("cust_1"))
    missing = site.client.get(f"/v1/receipts/{MISSING_ID}", headers=site.bearer("cust_1"))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json["error"] == {"code": "not_found", "message": f"no receipt {other} for this API key's customer"}
    assert missing.json["error"]["message"] == f"no receipt {MISSING_ID} for this API key's customer"
    assert dict(foreign.headers) == dict(missing.headers) | {"Content-Length": foreign.headers["Content-Length"]}
    # and the owner sees it
    assert site.client.get(f"/v1/receipts/{other}", headers=site.bearer("cust_2")).status_code == 200


@pytest.mark.parametrize("bad_id", ["r_short", "R_" + "a" * 26, "r_" + "a" * 25 + "1", "r_" + "a" * 27, "x" * 28])
def test_a_receipt_id_off_the_pattern_is_400(site: Site, bad_id: str) -> None:
    response = site.client.get(f"/v1/receipts/{bad_id}", headers=site.bearer())
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_receipt_id"


def test_a_chain_segment_pages_with_after_and_limit(site: Site) -> None:
    chain = site.receipts["cust_1"]
    first = site.client.get("/v1/customers/cust_1/receipts?limit=2", headers=site.bearer())
    assert first.status_code == 200
    assert first.json["receipts"] == chain[:2]
    assert first.json["next_after"] == 2
    assert 'rel="next"' in first.headers["Link"] and "after=2" in first.headers["Link"]
    rest = site.client.get("/v1/customers/cust_1/receipts?after=2&limit=2", headers=site.bearer())
    assert rest.json["receipts"] == chain[2:] and rest.json["next_after"] is None
    assert "Link" not in rest.headers
    everything = site.client.get("/v1/customers/cust_1/receipts", headers=site.bearer())
    assert everything.json == {"customer_id": "cust_1", "after": 0, "limit": 100, "receipts": chain, "next_after": None}


def test_another_customers_segment_is_404_and_a_bad_customer_id_400(site: Site) -> None:
    response = site.client.get("/v1/customers/cust_2/receipts", headers=site.bearer("cust_1"))
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    unknown = site.client.get("/v1/customers/cust_nobody/receipts", headers=site.bearer("cust_1"))
    assert unknown.status_code == 404 and unknown.json["error"]["message"].startswith("no customer cust_nobody")
    bad = site.client.get("/v1/customers/cust%20one/receipts", headers=site.bearer("cust_1"))
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_customer_id"


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=abc", "limit=-1", "limit=1.5", "after=-1", "after=x", "after=9007199254740992"],
)
def test_query_parameters_are_bounded(site: Site, query: str) -> None:
    response = site.client.get(f"/v1/customers/cust_1/receipts?{query}", headers=site.bearer())
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_parameter"


def test_method_not_allowed_is_405_with_allow(site: Site) -> None:
    response = site.client.delete(f"/v1/receipts/{MISSING_ID}", headers=site.bearer())
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_an_unknown_api_path_is_a_json_404(site: Site) -> None:
    response = site.client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_a_store_failure_is_a_json_500_without_details(make_site, monkeypatch) -> None:
    site = make_site()
    site.app.config["PROPAGATE_EXCEPTIONS"] = False
    for read in ("receipt", "receipt_and_neighbour_ids"):  # the look-up makes the second
        monkeypatch.setattr(f"receipts.stores.sqlite.SqliteStore.{read}", lambda self, rid: 1 / 0)
    response = site.client.get(f"/v1/receipts/{MISSING_ID}", headers=site.bearer())
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "ZeroDivision" not in response.get_data(as_text=True)


class TwoReads:
    """The store without its one-read look-up: verifier_site.checks falls back to two reads."""

    def __init__(self, store) -> None:
        self.receipt, self.receipts_page = store.receipt, store.receipts_page


def test_the_one_read_look_up_answers_as_the_two_reads_do(site: Site) -> None:
    from verifier_site.checks import receipt_and_neighbour_ids

    chain = site.receipts["cust_1"]
    ids = [receipt["receipt_id"] for receipt in chain]
    expected = [(chain[0], None, ids[1]), (chain[1], ids[0], ids[2]), (chain[2], ids[1], None)]
    for receipt_id, answer in zip(ids, expected, strict=True):
        assert site.store.receipt_and_neighbour_ids(receipt_id) == answer
        assert receipt_and_neighbour_ids(TwoReads(site.store), receipt_id) == answer
    assert site.store.receipt_and_neighbour_ids(MISSING_ID) is None
    assert receipt_and_neighbour_ids(TwoReads(site.store), MISSING_ID) is None
