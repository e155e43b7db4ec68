"""The verifier site on the Google Cloud store: the same answers as on SQLite."""

from receipts.api_keys import issue_api_key
from tests.site.conftest import HOSTILE, signed_chain
from verifier_site import create_app


def test_the_site_reads_receipts_and_keys_from_spanner_and_firestore(cloud, signer) -> None:
    store = cloud.store()
    chain = signed_chain(signer, "cust_1", ["first", HOSTILE, None])
    store.write_receipts(chain)
    store.write_receipts(signed_chain(signer, "cust_2", ["other"]))
    key, _ = issue_api_key(store, "cust_1")
    app = create_app(
        {"STORE_URL": cloud.url, "KEYS_FOLDER": str(cloud.keys.folder), "TESTING": True, "SECRET_KEY": b"s"}
    )
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}

    answer = client.get(f"/v1/receipts/{chain[1].receipt_id}", headers=bearer)
    assert answer.status_code == 200, answer.data
    assert answer.get_json()["signature"] == chain[1].signature
    page = client.get("/v1/customers/cust_1/receipts?after=1&limit=5", headers=bearer).get_json()
    assert [r["sequence"] for r in page["receipts"]] == [2, 3]
    other = store.receipts("cust_2").__next__()["receipt_id"]
    assert client.get(f"/v1/receipts/{other}", headers=bearer).status_code == 404
    assert client.get("/.well-known/jwks.json").get_json()["keys"]
