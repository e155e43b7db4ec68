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


def test_operator_keys_on_spanner_read_any_customer_and_customer_keys_keep_theirs(cloud, signer) -> None:
    from receipts.api_keys import OPERATOR, authenticate

    store = cloud.store()
    store.write_receipts(signed_chain(signer, "cust_1", ["first"]))
    theirs = signed_chain(signer, "cust_2", ["other"])
    store.write_receipts(theirs)
    customer_key, customer_record = issue_api_key(store, "cust_1")
    operator_key, operator_record = issue_api_key(store, None, OPERATOR)
    assert authenticate(store, operator_key).role == OPERATOR and operator_record.customer_id == ""
    assert authenticate(store, customer_key).role == "customer"
    assert {(r.key_id, r.role) for r in store.api_keys()} == {
        (customer_record.key_id, "customer"),
        (operator_record.key_id, OPERATOR),
    }
    app = create_app(
        {"STORE_URL": cloud.url, "KEYS_FOLDER": str(cloud.keys.folder), "TESTING": True, "SECRET_KEY": b"s"}
    )
    client = app.test_client()
    path = f"/v1/receipts/{theirs[0].receipt_id}"
    assert client.get(path, headers={"Authorization": f"Bearer {customer_key}"}).status_code == 404
    assert client.get(path, headers={"Authorization": f"Bearer {operator_key}"}).status_code == 200
    assert client.get(path).status_code == 401
    segment = client.get("/v1/customers/cust_2/receipts", headers={"Authorization": f"Bearer {operator_key}"})
    assert segment.status_code == 200 and [r["sequence"] for r in segment.get_json()["receipts"]] == [1]
    for route in (f"{path}/evidence", f"{path}?credits=true", "/v1/customers/cust_2/receipts"):
        assert client.get(route, headers={"Authorization": f"Bearer {customer_key}"}).status_code == 404, route
        assert client.get(route, headers={"Authorization": f"Bearer {operator_key}"}).status_code == 200, route
        assert client.get(route).status_code == 401, route
    # Statements (none closed yet): the operator reads any customer's, a customer key only its own.
    statements = "/v1/customers/cust_2/statements"
    assert client.get(statements, headers={"Authorization": f"Bearer {operator_key}"}).status_code == 200
    assert client.get(statements, headers={"Authorization": f"Bearer {customer_key}"}).status_code == 404
    assert client.get(statements).status_code == 401
    # The pages, with a session stored in Spanner.
    signed = client.post("/lookup", data={"receipt_id": theirs[0].receipt_id, "api_key": operator_key})
    assert signed.status_code == 303
    assert client.get(f"/receipts/{theirs[0].receipt_id}").status_code == 200
    client.post("/lookup", data={"receipt_id": theirs[0].receipt_id, "api_key": customer_key})
    assert client.get(f"/receipts/{theirs[0].receipt_id}").status_code == 404


def test_init_adds_the_role_column_to_a_database_made_before_it(cloud) -> None:
    """An older database: ApiKeys without Role. `receipts init` again adds it; old keys are customer keys."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import spanner

    from receipts_cli.provision import init

    client = spanner.Client(project=cloud.project, credentials=AnonymousCredentials())
    database = client.instance(cloud.location.instance).database(cloud.location.database)
    database.update_ddl(["ALTER TABLE ApiKeys DROP COLUMN Role"]).result(120)
    database.run_in_transaction(
        lambda t: t.insert(
            "ApiKeys",
            ["KeyId", "CustomerId", "KeyHash", "CreatedAt"],
            [["0123456789abcdef", "cust_1", "0" * 64, "2026-01-01T00:00:00Z"]],
        )
    )
    lines: list[str] = []
    init(cloud.location, report=lines.append)
    assert any("column" in line for line in lines), lines
    assert cloud.store().api_key("0123456789abcdef").role == "customer"


def test_a_charges_credits_are_read_from_firestore_and_linked(cloud, signer) -> None:
    from tests.site.test_credit_links import CHARGE, OTHER_CHARGE, credit_chain

    store = cloud.store()
    store.write_receipts(credit_chain(signer))
    credits = store.credits_of("cust_cr", [CHARGE]).get(CHARGE, [])
    assert [(c["idempotent_key"], c["status"]) for c in credits] == [
        ("r-1", "accepted"),
        ("r-2", "rejected"),
        ("r-3", "accepted"),
    ]
    assert store.credits_of("cust_cr", [OTHER_CHARGE]) == {} and store.credits_of("cust_1", [CHARGE]) == {}
    key, _ = issue_api_key(store, "cust_cr")
    app = create_app(
        {"STORE_URL": cloud.url, "KEYS_FOLDER": str(cloud.keys.folder), "TESTING": True, "SECRET_KEY": b"s"}
    )
    notes = app.test_client().get(f"/v1/receipts/{CHARGE}?credits=true", headers={"Authorization": f"Bearer {key}"})
    assert notes.status_code == 200, notes.data
    assert (notes.get_json()["credit_notes"]["credited"], notes.get_json()["credit_notes"]["remaining"]) == (
        "20.00",
        "20.00",
    )
