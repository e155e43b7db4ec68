"""Operator API keys: what each role may read and post, on every route that takes a key.

A customer key keeps exactly its rights (its own customer's receipts, evidence and
statements; its own charges; another customer answers like a missing one; a credit is 403
`forbidden`). An operator key reads any customer's and posts charges and credits for any
customer. No key, or a bad one, is 401 everywhere."""

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.api_keys import CUSTOMER, OPERATOR, authenticate, issue_api_key, may_post, may_read
from receipts.canonical import receipt_id
from receipts.rows import ApiKeyRecord
from receipts.stores.sqlite import SqliteStore
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.site.conftest import Site
from tests.site.test_statements_api import issue


def operator_bearer(site: Site) -> dict[str, str]:
    key, _ = issue_api_key(site.store, None, OPERATOR)
    return {"Authorization": f"Bearer {key}"}


def test_the_rules_of_each_role() -> None:
    customer = ApiKeyRecord("a" * 16, "cust_1", "0" * 64, "2026-01-01T00:00:00Z")
    operator = ApiKeyRecord("b" * 16, "", "0" * 64, "2026-01-01T00:00:00Z", None, OPERATOR)
    odd = ApiKeyRecord("c" * 16, "cust_1", "0" * 64, "2026-01-01T00:00:00Z", None, "auditor")
    assert customer.role == CUSTOMER  # keys made before roles are customer keys
    assert may_read(customer, "cust_1") and not may_read(customer, "cust_2") and not may_read(customer, None)
    assert may_read(operator, "cust_1") and may_read(operator, "cust_2")
    assert not may_read(operator, "") and not may_read(operator, None)
    assert not may_read(odd, "cust_1")  # an unknown role reads nothing
    assert may_post(customer, "cust_1", credit=False) is None
    assert may_post(customer, "cust_1", credit=True)[0] == "forbidden"
    assert may_post(customer, "cust_2", credit=False)[0] == "customer_mismatch"
    assert may_post(operator, "cust_2", credit=True) is None
    assert may_post(odd, "cust_1", credit=False)[0] == "customer_mismatch"


def test_issuing_checks_the_role_and_the_customer(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    key, record = issue_api_key(store, None, OPERATOR)
    assert record.role == OPERATOR and record.customer_id == ""
    assert authenticate(store, key) == record
    with pytest.raises(ValueError, match="names its customer"):
        issue_api_key(store, "cust_1", OPERATOR)
    with pytest.raises(ValueError, match="names its customer"):
        issue_api_key(store, None, CUSTOMER)
    with pytest.raises(ValueError, match="role"):
        issue_api_key(store, "cust_1", "root")


def test_a_home_made_before_roles_gets_the_column_and_its_keys_stay_customer_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, key_hash TEXT NOT NULL,"
        " created_at TEXT NOT NULL, revoked_at TEXT)"
    )
    old.execute(
        "INSERT INTO api_keys VALUES ('0123456789abcdef', 'cust_1', ?, '2026-01-01T00:00:00Z', NULL)", ("0" * 64,)
    )
    old.commit()
    old.close()
    store = SqliteStore(f"sqlite:///{path}")
    assert store.api_key("0123456789abcdef").role == CUSTOMER
    _, record = issue_api_key(store, None, OPERATOR)
    assert store.api_key(record.key_id).role == OPERATOR
    assert SqliteStore(f"sqlite:///{path}").api_key(record.key_id).role == OPERATOR  # reopened: added once


def test_the_cli_creates_operator_keys_and_lists_roles(home: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["--home", str(home), "api-keys", "create", "--operator"], catch_exceptions=False)
    assert created.exit_code == 0 and "operator" in created.stderr
    runner.invoke(main, ["--home", str(home), "api-keys", "create", "--customer", "cust_9"], catch_exceptions=False)
    listed = runner.invoke(main, ["--home", str(home), "api-keys", "list"], catch_exceptions=False)
    rows = [line for line in listed.stdout.splitlines() if "active" in line]
    assert len(rows) == 2
    assert any("operator" in row and "any" in row for row in rows)
    assert any("customer" in row and "cust_9" in row for row in rows)
    both = runner.invoke(main, ["--home", str(home), "api-keys", "create", "--operator", "--customer", "c"])
    neither = runner.invoke(main, ["--home", str(home), "api-keys", "create"])
    assert both.exit_code == neither.exit_code == 2 and "--operator" in neither.output


def read_routes(site: Site, customer: str, signer) -> list[str]:
    """Every read route that takes a key, for one of `customer`'s receipts and statements."""
    record = site.receipts[customer][0]
    statement = issue(site, signer, customer)["statement_id"]
    rid = record["receipt_id"]
    return [
        f"/v1/receipts/{rid}",
        f"/v1/customers/{customer}/receipts",
        f"/v1/receipts/{rid}/evidence",
        f"/v1/receipts/{rid}/evidence?format=json",
        f"/v1/customers/{customer}/statements",
        f"/v1/statements/{statement}",
        f"/v1/statements/{statement}?lines=true",
        f"/v1/statements/{statement}/evidence",
    ]


def test_every_read_route_for_customer_operator_and_no_key(site: Site, signer) -> None:
    operator = operator_bearer(site)
    mine, theirs = read_routes(site, "cust_1", signer), read_routes(site, "cust_2", signer)
    for path in mine:
        assert site.client.get(path, headers=site.bearer("cust_1")).status_code == 200, path
        assert site.client.get(path, headers=operator).status_code == 200, path
        assert site.client.get(path).status_code == 401, path
        assert site.client.get(path, headers={"Authorization": "Bearer sk_nope"}).status_code == 401, path
    for path in theirs:
        foreign = site.client.get(path, headers=site.bearer("cust_1"))
        assert foreign.status_code == 404 and foreign.json["error"]["code"] == "not_found", path
        assert site.client.get(path, headers=operator).status_code == 200, path


def test_the_log_proof_route_follows_the_same_rule(log_site: Site) -> None:
    operator = operator_bearer(log_site)
    theirs = log_site.receipts["cust_2"][0]["receipt_id"]
    assert log_site.client.get(f"/v1/receipts/{theirs}/proof", headers=log_site.bearer("cust_1")).status_code == 404
    assert log_site.client.get(f"/v1/receipts/{theirs}/proof", headers=operator).status_code == 200
    assert log_site.client.get(f"/v1/receipts/{theirs}/proof").status_code == 401


def test_the_pages_follow_the_same_rule_for_a_signed_in_operator(site: Site) -> None:
    key, _ = issue_api_key(site.store, None, OPERATOR)
    theirs = site.receipts["cust_2"][1]["receipt_id"]
    site.sign_in("cust_1")
    for path in (f"/receipts/{theirs}", f"/receipts/{theirs}/evidence", f"/receipts/{theirs}/evidence.zip"):
        assert site.client.get(path).status_code == 404, path
    signed = site.client.post("/lookup", data={"receipt_id": theirs, "api_key": key})
    assert signed.status_code == 303
    for path in (f"/receipts/{theirs}", f"/receipts/{theirs}/evidence", f"/receipts/{theirs}/evidence.zip"):
        assert site.client.get(path).status_code == 200, path
    site.client.post("/sign-out")
    assert site.client.get(f"/receipts/{theirs}").status_code == 401


def post(site: Site, body: bytes, headers: dict[str, str], path: str = "/v1/events"):
    return site.client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


def test_an_operator_key_posts_charges_and_credits_for_any_customer(ingest_site: Site, instant) -> None:
    operator = operator_bearer(ingest_site)
    charge = ingest_site.receipts["cust_2"][0]["receipt_id"]
    credit = event_bytes(customer_id="cust_2", idempotent_key="refund-1", type="credit", corrects=charge)
    answered = post(ingest_site, credit, operator)
    assert answered.status_code == 202, answered.json
    assert answered.json["receipt_id"] == receipt_id("cust_2", "refund-1")
    assert post(ingest_site, event_bytes(customer_id="cust_1", idempotent_key="op-charge"), operator).status_code == 202
    batch = b"[" + event_bytes(customer_id="cust_1", idempotent_key="b1") + b","
    batch += event_bytes(customer_id="cust_2", idempotent_key="b2", type="credit", corrects=charge) + b"]"
    assert post(ingest_site, batch, operator, "/v1/events:batch").status_code == 202
    assert [attributes["customer_id"] for _, attributes in instant.messages] == ["cust_2", "cust_1", "cust_1", "cust_2"]
    # The operator's submissions are recorded under its key, for the page's "who sent it".
    recorded = ingest_site.store.submission(receipt_id("cust_2", "refund-1"))
    assert recorded is not None and recorded.customer_id == "cust_2"


def test_a_customer_key_still_may_not_post_a_credit_nor_for_another_customer(ingest_site: Site, instant) -> None:
    charge = ingest_site.receipts["cust_1"][0]["receipt_id"]
    credit = post(ingest_site, event_bytes(idempotent_key="r", type="credit", corrects=charge), ingest_site.bearer())
    assert credit.status_code == 403 and credit.json["error"]["code"] == "forbidden"
    foreign = post(ingest_site, event_bytes(customer_id="cust_2"), ingest_site.bearer())
    assert foreign.status_code == 403 and foreign.json["error"]["code"] == "customer_mismatch"
    batch = b"[" + event_bytes(idempotent_key="r2", type="credit", corrects=charge) + b"]"
    refused = post(ingest_site, batch, ingest_site.bearer(), "/v1/events:batch")
    assert refused.status_code == 207 and refused.json["results"][0]["error"]["code"] == "forbidden"
    assert post(ingest_site, event_bytes(), {}).status_code == 401
    assert instant.messages == []


def test_an_operator_waits_for_another_customers_receipt(ingest_site: Site, instant) -> None:
    """?wait answers the stored receipt for the event's customer (one the key may read): the
    event cust_2's first receipt was made from, sent again, is that receipt at once."""
    operator = operator_bearer(ingest_site)
    stored = ingest_site.receipts["cust_2"][0]
    fields = {"amount": "1.25", "timestamp": "2026-01-25T10:00:00Z", "usage_description": "other customer"}
    again = event_bytes(customer_id="cust_2", idempotent_key="cust_2-0", **fields)
    answered = ingest_site.client.post(
        "/v1/events?wait=1", data=again, headers={**operator, "Content-Type": "application/json"}
    )
    assert answered.status_code == 200, answered.json
    assert answered.json["receipt_id"] == stored["receipt_id"] and answered.json["signature"] == stored["signature"]
    assert instant.messages == []  # a duplicate: nothing published


def test_an_older_spanner_database_gets_the_role_column_once() -> None:
    """`receipts init` on a database made before roles adds ApiKeys.Role, and only then."""
    from receipts.stores.gcp.schema import missing_statements, spanner_ddl

    ddl = spanner_ddl()
    tables = {statement.split()[2] for statement in ddl if statement.startswith("CREATE TABLE")}
    added = [statement for statement in ddl if statement.startswith("ALTER TABLE ApiKeys ADD COLUMN Role")]
    assert added and 'DEFAULT ("customer")' in added[0]
    assert missing_statements(ddl, tables, set()) == added
    assert missing_statements(ddl, tables, {("ApiKeys", "Role")}) == []
    without_keys = missing_statements(ddl, tables - {"ApiKeys"}, set())
    assert without_keys[-1] == added[0] and without_keys[0].startswith("CREATE TABLE ApiKeys")
