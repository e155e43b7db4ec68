"""The account's statement page in real headless Chromium (Debian's `chromium`, driven by
Playwright): sign in on /account, open a statement, "Verify in my browser" and see every check
pass; a statement edited in the store, or signed with a total its lines do not give, fails
with the reason; and static/statement.js agrees with receipts.statements (lines_root over
trees of every small size, the checks of statements forged in several ways)."""

import json
from typing import Any

import pytest

from receipts.canonical import canonical_bytes, sha256_hex
from receipts.jws import STATEMENT_TYP, sign_payloads
from receipts.statements import lines_root, verify_statement
from receipts.text import visible
from tests.site.accounts import CUSTOMER, add_account
from tests.site.conftest import Site, results_of

pytestmark = pytest.mark.browser


@pytest.fixture
def statements(site: Site, signer) -> dict[str, Any]:
    return add_account(site, signer)


def open_statement(site: Site, base: str, page: Any, statement: dict[str, Any]) -> dict[str, str]:
    page.goto(f"{base}/account")
    assert [problem for problem in page.problems if "401" not in problem] == []  # the sign-in form is a 401
    page.problems.clear()
    page.fill("#api_key", site.api_keys[CUSTOMER])
    page.click("#account-sign-in button[type=submit]")
    page.wait_for_url(f"{base}/account")
    page.click(f"a[href='/account/statements/{statement['statement_id']}']")
    page.wait_for_url(f"{base}/account/statements/{statement['statement_id']}")
    page.click("#verify-statement")
    return results_of(page, "#statement-results")


def browser_checks(page: Any) -> dict[str, str]:
    items = page.locator("#statement-results li.check")
    return {items.nth(i).get_attribute("data-check"): items.nth(i).get_attribute("class") for i in range(items.count())}


def test_a_statement_verifies_in_the_browser(site: Site, statements: dict[str, Any], served: str, page) -> None:
    result = open_statement(site, served, page, statements["2026-01"])
    assert result["state"] == "pass", result["text"]
    assert "Verified in your browser: every check passed" in result["text"]
    checks = browser_checks(page)
    for name in ("signature", "canonical", "hash", "receipts", "lines", "totals"):
        assert checks[name] == "check pass", (name, result["text"])
    assert checks["complete"] == "check unchecked"
    assert "5 receipt(s): every signature, hash and contract check passed" in result["text"]
    assert "2 currencies add up" in result["text"]
    assert page.problems == []  # no CSP violation, no script error, no alert()


def test_the_account_page_in_the_browser_draws_its_chart_and_shows_hostile_text_as_text(
    site: Site, statements: dict[str, Any], served: str, page
) -> None:
    page.goto(f"{served}/account")
    page.problems.clear()  # the sign-in form answers 401, which Chromium logs
    page.fill("#api_key", site.api_keys[CUSTOMER])
    page.click("#account-sign-in button[type=submit]")
    page.wait_for_url(f"{served}/account")
    page.goto(f"{served}/account?period=2026-01")
    assert page.locator("figure.day-chart svg rect.bar").count() == 3
    box = page.locator("figure.day-chart[data-currency='USD'] svg").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100  # drawn, not collapsed by the CSP
    hostile = site.receipts[CUSTOMER][1]
    cell = page.locator(f"tr[data-receipt-id='{hostile['receipt_id']}'] td bdi").first
    assert cell.inner_text() == visible(hostile["usage_description"])
    assert page.locator("img").count() == 0
    page.select_option("#type", "credit")
    page.click("#receipt-filters button[type=submit]")
    page.wait_for_url("**/account?period=2026-01&status=&type=credit&limit=25")
    assert page.locator("#receipt-list tbody tr").count() == 2
    assert page.problems == []  # no CSP violation, no script error, no alert()


def test_a_statement_edited_in_the_store_fails_in_the_browser(
    site: Site, statements: dict[str, Any], served: str, page
) -> None:
    statement = statements["2026-01"]
    site.store._db.execute(  # the stored row edited behind the site's back: it serves a changed total
        "UPDATE statements SET body = replace(body, '\"12.50\"', '\"1.25\"') WHERE statement_id = ?",
        (statement["statement_id"],),
    )
    site.store._db.commit()
    result = open_statement(site, served, page, statement)
    assert result["state"] == "fail", result["text"]
    checks = browser_checks(page)
    assert checks["signature"] == "check pass" and checks["canonical"] == "check fail"
    assert checks["totals"] == "check fail"
    assert "exported field 'totals' differs from the signed body" in result["text"]
    assert "totals.USD.charged is '1.25' on this page; the lines add up to '12.50'" in result["text"]
    assert page.problems == []


def test_a_signed_statement_whose_total_is_wrong_fails_in_the_browser(
    site: Site, statements: dict[str, Any], served: str, page, signer
) -> None:
    statement = statements["2026-02"]
    forged = forge(statement, signer, lambda body: body["totals"]["USD"].update(net="6.01"))
    site.store._db.execute(
        "UPDATE statements SET body = ?, statement_hash = ?, signature = ? WHERE statement_id = ?",
        (*stored_row(forged), statement["statement_id"]),
    )
    site.store._db.commit()
    result = open_statement(site, served, page, statement)
    assert result["state"] == "fail", result["text"]
    checks = browser_checks(page)
    assert checks["signature"] == checks["canonical"] == checks["hash"] == "check pass"
    assert checks["totals"] == "check fail"
    assert "totals.USD.net is '6.01' as signed; the lines add up to '6.00'" in result["text"]


def forge(statement: dict[str, Any], signer, edit) -> dict[str, Any]:
    """The statement with its body edited, signed again with the issuer's key."""
    body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
    body = json.loads(json.dumps(body))
    edit(body)
    payload = canonical_bytes(body)
    [jws] = sign_payloads(signer, [payload], STATEMENT_TYP)
    return {**body, "statement_hash": sha256_hex(payload), "signature": jws}


def stored_row(statement: dict[str, Any]) -> tuple[str, str, str]:
    body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
    return canonical_bytes(body).decode(), statement["statement_hash"], statement["signature"]


RUN_TREES = """async (hashes) => {
  const { hex, treeHash } = await import("/static/tlog.js");
  const out = [];
  for (let size = 0; size <= hashes.length; size++) {
    const root = await treeHash(hashes.slice(0, size).map(hex));
    out.push(Array.from(root, (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return out;
}"""

RUN_STATEMENTS = """async ([jwks, cases]) => {
  const { parseJson } = await import("/static/json.js");
  const { trustedKeys } = await import("/static/verifier.js");
  const { verifyStatement } = await import("/static/statement.js");
  const keys = await trustedKeys(jwks);
  const out = {};
  for (const [name, text] of Object.entries(cases)) {
    out[name] = (await verifyStatement(parseJson(text), keys)).filter((c) => !c.ok).map((c) => c.check);
  }
  return out;
}"""


def test_the_browser_lines_root_is_receipts_lines_root_for_every_small_tree(
    site: Site, served: str, page, statements: dict[str, Any]
) -> None:
    hashes = [sha256_hex(str(i).encode()) for i in range(33)]
    page.goto(f"{served}/verify")
    roots = page.evaluate(RUN_TREES, hashes)
    assert roots == [lines_root(hashes[:size]) for size in range(34)]
    assert page.problems == []


def test_the_browser_and_receipts_statements_fail_the_same_forged_statements(
    site: Site, statements: dict[str, Any], served: str, page, signer, jwks, keyring
) -> None:
    """Each forged statement (signed by the issuer's key, or edited after signing) through
    verify_statement and statement.js: both find a failure, in the checks they share."""
    statement = statements["2026-01"]
    receipts = [r for r in site.receipts[CUSTOMER] if r["sequence"] <= statement["closing_sequence"]]
    lines = [
        {"sequence": r["sequence"], "receipt_id": r["receipt_id"], "receipt_hash": r["receipt_hash"], "late": False}
        for r in receipts
    ]
    fewer_lines = forge(statement, signer, lambda body: body.update(line_count=4))
    other_root = forge(statement, signer, lambda body: body.update(lines_root="0" * 63 + "1"))
    more_yen = forge(statement, signer, lambda body: body["totals"]["JPY"].update(charged="101", net="101"))
    edited = {**statement, "closed_at": "2026-02-01T03:00:00Z"}
    cases = {"genuine": statement, "fewer_lines": fewer_lines, "other_root": other_root, "more_yen": more_yen}
    cases["edited"] = edited
    texts = {
        name: json.dumps({"statement": body, "lines": lines, "receipts": receipts}) for name, body in cases.items()
    }
    tampered_receipt = [dict(r) for r in receipts]
    tampered_receipt[2]["amount"] = "0.01"
    texts["tampered_receipt"] = json.dumps({"statement": statement, "lines": lines, "receipts": tampered_receipt})
    page.goto(f"{served}/verify")
    found = page.evaluate(RUN_STATEMENTS, [json.dumps(keyring.jwks()), texts])
    python = {
        name: {c.check for c in verify_statement(body, jwks, site.receipts[CUSTOMER]).checks if not c.ok}
        for name, body in cases.items()
    }
    assert found["genuine"] == [] and python["genuine"] == set()
    assert found["fewer_lines"] == ["lines"] and python["fewer_lines"] == {"lines"}
    assert found["other_root"] == ["lines"] and python["other_root"] == {"lines"}
    assert found["more_yen"] == ["totals"] and python["more_yen"] == {"totals"}
    assert found["edited"] == ["canonical"] and python["edited"] == {"canonical"}
    assert found["tampered_receipt"] == ["receipts"]
    assert page.problems == []
