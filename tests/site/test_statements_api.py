"""Statements on the customer API: scoping, the lines and the recomputed check."""

from receipts.jws import STATEMENT_TYP, sign_payloads
from receipts.statements import Period, Previous, build_statement, exported_statement, statement_id
from tests.site.conftest import Site

JANUARY_CLOSE = "2026-02-01T02:00:00Z"  # the site's receipts are of 2026-01-25


def issue(site: Site, signer, customer: str) -> dict:
    chain = site.receipts[customer]
    previous = Previous.of(site.store.previous_statement(customer, "2026-01"))
    unsigned = build_statement(customer, Period.parse("2026-01"), JANUARY_CLOSE, chain, previous, signer.kid)
    [jws] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
    return site.store.add_statement(exported_statement(unsigned, jws))


def test_a_customer_reads_its_statements_with_lines_and_checks(site: Site, signer) -> None:
    mine, theirs = issue(site, signer, "cust_1"), issue(site, signer, "cust_2")
    listed = site.client.get("/v1/customers/cust_1/statements", headers=site.bearer())
    assert listed.status_code == 200 and listed.json["statements"] == [mine]
    plain = site.client.get(f"/v1/statements/{mine['statement_id']}", headers=site.bearer())
    assert plain.json == mine
    full = site.client.get(f"/v1/statements/{mine['statement_id']}?lines=true", headers=site.bearer())
    assert full.status_code == 200
    assert [line["receipt_id"] for line in full.json["lines"]] == [r["receipt_id"] for r in site.receipts["cust_1"]]
    assert full.json["verification"]["ok"] is True
    assert {c["check"] for c in full.json["verification"]["checks"]} >= {"signature", "lines", "totals", "closing"}
    assert full.json["totals"]["USD"]["charged"] == "6.75"  # 1.25 + 2.25 + 3.25

    # Another customer's statement answers like a missing one; bad ids and parameters are 400.
    foreign = site.client.get(f"/v1/statements/{theirs['statement_id']}", headers=site.bearer())
    missing = site.client.get(f"/v1/statements/{statement_id('nobody', '2026-01')}", headers=site.bearer())
    assert foreign.status_code == missing.status_code == 404
    assert site.client.get("/v1/customers/cust_2/statements", headers=site.bearer()).status_code == 404
    assert site.client.get("/v1/statements/s_NOT", headers=site.bearer()).status_code == 400
    bad = site.client.get(f"/v1/statements/{mine['statement_id']}?lines=1", headers=site.bearer())
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_parameter"
    assert site.client.get(f"/v1/statements/{mine['statement_id']}").status_code == 401


def test_a_stored_statement_that_does_not_add_up_is_reported_not_hidden(site: Site, signer) -> None:
    mine = issue(site, signer, "cust_1")
    site.store._db.execute(  # the row edited behind the site's back: its fields are not the signed ones
        "UPDATE statements SET body = replace(body, '\"6.75\"', '\"0.75\"') WHERE statement_id = ?",
        (mine["statement_id"],),
    )
    full = site.client.get(f"/v1/statements/{mine['statement_id']}?lines=true", headers=site.bearer())
    assert full.json["verification"]["ok"] is False
    failed = {c["check"] for c in full.json["verification"]["checks"] if not c["ok"]}
    assert failed == {"canonical"}  # the exported totals are not the signed ones
