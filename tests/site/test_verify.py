"""Verification of what the caller holds: POST /v1/verify and the /verify form. Public,
and nothing is stored."""

import json

import pytest

from receipts.canonical import canonical_bytes
from tests.site.conftest import Site


def jsonl(receipts: list[dict]) -> bytes:
    return b"".join(canonical_bytes(receipt) + b"\n" for receipt in receipts)


def checks_of(result: dict) -> dict[str, tuple[bool, str]]:
    return {check["label"]: (check["ok"], check["reason"]) for check in result["checks"]}


def test_a_chain_segment_verifies_without_an_account(site: Site) -> None:
    response = site.client.post("/v1/verify", data=jsonl(site.receipts["cust_1"]), content_type="application/x-ndjson")
    assert response.status_code == 200
    body = response.json
    assert body["ok"] is True and body["count"] == 3
    assert [result["sequence"] for result in body["results"]] == [1, 2, 3]
    assert body["results"][1]["summary"] == {"signature": True, "hash": True, "chain_link": True}
    assert body["results"][1]["receipt_hash"] == site.receipts["cust_1"][1]["receipt_hash"]


def test_one_receipt_or_an_array_as_json(site: Site) -> None:
    one = site.client.post("/v1/verify", json=site.receipts["cust_2"][1])
    assert one.status_code == 200 and one.json["count"] == 1 and one.json["ok"]
    array = site.client.post("/v1/verify", json=site.receipts["cust_2"])
    assert array.json["count"] == 2 and array.json["ok"]


def test_a_tampered_amount_fails_with_the_verifiers_reason(site: Site) -> None:
    receipts = [dict(receipt) for receipt in site.receipts["cust_1"]]
    receipts[1]["amount"] = "0.01"
    result = site.client.post("/v1/verify", data=jsonl(receipts)).json
    assert result["ok"] is False
    second = result["results"][1]
    assert second["summary"] == {"signature": True, "hash": False, "chain_link": True}
    assert checks_of(second)["canonical"] == (False, "exported field 'amount' differs from the signed body")


def test_a_broken_link_fails_the_chain_check(site: Site) -> None:
    first, _, third = site.receipts["cust_1"]
    result = site.client.post("/v1/verify", data=jsonl([first, third])).json
    ok, reason = checks_of(result["results"][1])["chain_link"]
    assert not ok and "is not the hash of the receipt before it, sequence 1" in reason
    assert checks_of(result["results"][1])["sequence"] == (False, "sequence 3 follows 1; expected 2")


def test_a_receipt_signed_by_an_unknown_key_fails_the_signature(site: Site, tmp_path) -> None:
    from receipts.stores.keyring import KeyRing
    from receipts.stores.signers import LocalKeySigner
    from tests.site.conftest import signed_chain

    other = KeyRing(tmp_path / "other-keys")
    foreign = signed_chain(LocalKeySigner(other.private_pem(other.ensure_current())), "cust_x", ["x"])[0].export()
    result = site.client.post("/v1/verify", json=foreign).json
    ok, reason = checks_of(result["results"][0])["signature"]
    assert not ok and reason == f"key {foreign['kid']} is not in the JWKS"


def test_verification_stores_nothing(site: Site) -> None:
    before = site.store.count_receipts()
    site.client.post("/v1/verify", data=jsonl(site.receipts["cust_1"]))
    site.client.post("/verify", data={"receipts": jsonl(site.receipts["cust_1"]).decode()})
    assert site.store.count_receipts() == before


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "no receipts given"),
        (b"   \n", "no receipts given"),
        (b"5", "line 1: not a JSON object"),
        (b"[1, 2]", "line 1: not a JSON object"),
        (b'{"a": 1}\nnot json\n', "line 2: not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unreadable_bodies_are_400(site: Site, body: bytes, message: str) -> None:
    response = site.client.post("/v1/verify", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_body" and message in response.json["error"]["message"]


def test_a_body_over_the_limit_is_413(make_site) -> None:
    site = make_site(MAX_CONTENT_LENGTH=4096)
    response = site.client.post("/v1/verify", data=b"[" + b" " * 5000 + b"]", content_type="application/json")
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
    form = site.client.post("/verify", data={"receipts": "x" * 5000})
    assert form.status_code == 413 and form.mimetype == "text/html"


def test_too_many_receipts_is_413(make_site) -> None:
    site = make_site(MAX_VERIFY_RECEIPTS=2)
    response = site.client.post("/v1/verify", data=jsonl(site.receipts["cust_1"]))
    assert response.status_code == 413 and response.json["error"]["code"] == "too_many_receipts"


def test_get_on_the_verify_api_is_405(site: Site) -> None:
    response = site.client.get("/v1/verify")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_the_form_without_javascript_shows_the_servers_checks(site: Site) -> None:
    receipts = [dict(receipt) for receipt in site.receipts["cust_1"]]
    receipts[2]["balance_after"] = "999.00"
    text = jsonl(receipts).decode() + "not json\n"
    response = site.client.post("/verify", data={"receipts": text})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="server-results"' in html
    assert "Verification FAILED by this site&#39;s server: 1 of 3 receipts failed, and 1 line could not be read" in html
    assert "line 4: not valid JSON" in html
    assert "canonical: exported field &#39;balance_after&#39; differs from the signed body" in html
    assert "&lt;/script&gt;&lt;img" in html and "<img src=x" not in html  # the hostile description, pasted back


def test_the_form_takes_an_uploaded_file(site: Site) -> None:
    import io

    data = {"receipts": "", "file": (io.BytesIO(jsonl(site.receipts["cust_2"])), "chain.jsonl")}
    response = site.client.post("/verify", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Verified by this site&#39;s server: 2 receipts; every check passed" in html


def test_the_verify_page_has_the_form(site: Site) -> None:
    html = site.client.get("/verify").get_data(as_text=True)
    assert '<textarea id="receipts" name="receipts"' in html and 'id="verify-button"' in html
    assert 'data-jwks-url="/.well-known/jwks.json"' in html


def test_receipts_served_by_the_api_verify_as_they_are(site: Site) -> None:
    served = site.client.get(f"/v1/receipts/{site.receipts['cust_1'][1]['receipt_id']}", headers=site.bearer())
    result = site.client.post("/v1/verify", data=served.data, content_type="application/json").json
    assert result["ok"] is True
    assert json.loads(served.data)["usage_description"] == site.receipts["cust_1"][1]["usage_description"]
