"""The site with delegated signing keys in its store: the JWKS publishes them beside the key
ring's, /.well-known/key-endorsements.json gives the HSM keys' endorsements, and a receipt
verifies with the key_endorsement check (or fails it with a named reason)."""

from pathlib import Path

from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.delegated import DelegatedSigner
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import signer_from_url
from receipts.stores.sqlite import SqliteStore
from tests.conftest import make_event
from verifier_site import create_app

DAY = "2026-03-01T10:00:00.000000Z"


def delegated_receipt(signer: DelegatedSigner, key_time: str, processed_at: str, customer: str) -> dict:
    key = signer.signer_at(key_time)
    chained = ChainState(customer).append(make_event(customer_id=customer), None, key.kid, processed_at)
    return SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0]).export()


def test_the_site_publishes_and_checks_delegated_keys(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    root = ring.ensure_current()
    store = SqliteStore(f"sqlite:///{tmp_path / 'site.db'}")
    signer = signer_from_url(f"delegated://local{ring.folder}?window=1d", store)
    good = delegated_receipt(signer, DAY, DAY, "cust_1")
    late = delegated_receipt(signer, DAY, "2026-03-02T10:00:00.000000Z", "cust_2")  # a day-one key, a day later
    kid = signer.signer_at(DAY).kid
    app = create_app({"STORE_URL": store.url, "KEYS_FOLDER": str(ring.folder), "TESTING": True, "SECRET_KEY": b"x"})
    client = app.test_client()

    assert {key["kid"] for key in client.get("/.well-known/jwks.json").get_json()["keys"]} == {root, kid}
    document = client.get("/.well-known/key-endorsements.json").get_json()
    assert document["roots"] == [root] and len(document["endorsements"]) == 1 and document["revocations"] == []
    assert client.get(f"/v1/keys/{kid}.pem").data.startswith(b"-----BEGIN PUBLIC KEY-----")

    answer = client.post("/v1/verify", json=[good, late]).get_json()
    first, second = answer["results"]
    assert first["ok"] and any(check["check"] == "key_endorsement" and check["ok"] for check in first["checks"])
    failed = [check for check in second["checks"] if not check["ok"]]
    assert [check["check"] for check in failed] == ["key_endorsement"]
    assert failed[0]["reason"].startswith("outside_key_window")
    store.close()


def test_a_site_with_no_delegated_key_checks_as_before(site) -> None:
    answer = site.client.post("/v1/verify", json=site.receipts["cust_1"]).get_json()
    assert answer["ok"] and all(check["check"] != "key_endorsement" for r in answer["results"] for check in r["checks"])
    document = site.client.get("/.well-known/key-endorsements.json").get_json()
    assert document["endorsements"] == [] and document["roots"]
