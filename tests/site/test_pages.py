"""Pages for people: look-up with a key, the receipt page and its checks, inert hostile
text, friendly HTML errors, sessions and security headers."""

import re

import pytest

from tests.site.conftest import HOSTILE, Site


def receipt_page(site: Site, index: int = 1, customer: str = "cust_1") -> str:
    receipt_id = site.receipts[customer][index]["receipt_id"]
    response = site.client.get(f"/receipts/{receipt_id}")
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def test_the_start_page_has_the_lookup_and_verify_forms(site: Site) -> None:
    response = site.client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'id="lookup-form"' in html and 'id="verify-form"' in html
    assert '<script type="module" src="/static/page.js"></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script"
    assert " style=" not in html and "<style" not in html


def test_lookup_signs_in_and_shows_the_receipt_with_three_checks(site: Site) -> None:
    first, second, third = site.receipts["cust_1"]
    response = site.client.post(
        "/lookup", data={"receipt_id": second["receipt_id"], "api_key": site.api_keys["cust_1"]}
    )
    assert response.status_code == 303 and response.location == f"/receipts/{second['receipt_id']}"
    html = receipt_page(site)
    assert f'<dd id="amount">{second["amount"]} USD</dd>' in html
    assert f'<dd id="status">{second["status"]}</dd>' in html
    assert f'<dd id="balance">{second["balance_after"]} USD</dd>' in html
    assert f'<dd id="sequence">{second["sequence"]}</dd>' in html
    assert f'href="/receipts/{first["receipt_id"]}"' in html and f'href="/receipts/{third["receipt_id"]}"' in html
    for check in ("signature", "hash", "chain_link"):
        assert f'<li class="check pass" data-check="{check}">' in html
    assert "signature: RS256 by key" in html  # the Check reason, as receipts.verify wrote it
    assert "next receipt: chain_link: passed" in html
    assert 'id="verify-in-browser"' in html


def test_the_session_names_the_key_never_the_key_itself(site: Site) -> None:
    site.sign_in()
    cookie = site.client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    assert site.api_keys["cust_1"] not in cookie.value
    assert site.api_keys["cust_1"].split("_", 2)[2] not in cookie.value  # the secret may hold "_"


def test_hostile_text_in_a_receipt_is_inert(site: Site) -> None:
    site.sign_in()
    html = receipt_page(site, 1)
    assert "<img src=x" not in html and "</script><img" not in html
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;\\u2028" in html  # shown as text, U+2028 visible
    assert html.count("<script") == 1  # only the module tag from base.html
    holder = re.search(r'<div id="browser-check" data-receipts="([^"]*)"', html)
    assert holder is not None and "<" not in holder.group(1) and HOSTILE not in holder.group(1)


def test_a_tampered_stored_receipt_shows_red_checks_with_reasons(site: Site) -> None:
    second = site.receipts["cust_1"][1]
    site.store._db.execute(  # a tampered row, as an attacker with database access would leave it
        'UPDATE receipts SET body = replace(body, \'"amount":"2.25"\', \'"amount":"0.25"\') WHERE receipt_id = ?',
        (second["receipt_id"],),
    )
    site.sign_in()
    html = receipt_page(site, 1)
    assert "This receipt FAILED verification" in html
    assert '<li class="check pass" data-check="signature">' in html  # the JWS itself is intact
    assert '<li class="check fail" data-check="hash">' in html
    assert "canonical: exported field &#39;amount&#39; differs from the signed body" in html


def test_a_receipt_page_without_a_session_is_401_with_the_sign_in_form(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    response = site.client.get(f"/receipts/{receipt_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert 'id="lookup-form"' in html and f'value="{receipt_id}"' in html


def test_another_customers_receipt_page_is_the_same_404_as_a_missing_one(site: Site) -> None:
    site.sign_in("cust_1")
    other = site.receipts["cust_2"][0]["receipt_id"]
    missing = "r_" + "b" * 26
    foreign, absent = site.client.get(f"/receipts/{other}"), site.client.get(f"/receipts/{missing}")
    assert foreign.status_code == absent.status_code == 404
    assert foreign.get_data(as_text=True).replace(other, "ID") == absent.get_data(as_text=True).replace(missing, "ID")


def test_a_bad_receipt_id_is_a_friendly_400(site: Site) -> None:
    site.sign_in()
    response = site.client.get("/receipts/not-an-id")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "r_ followed by 26 characters" in response.get_data(as_text=True)
    lookup = site.client.post("/lookup", data={"receipt_id": "<b>nope</b>", "api_key": site.api_keys["cust_1"]})
    assert lookup.status_code == 400 and "<b>nope" not in lookup.get_data(as_text=True)


def test_lookup_with_a_wrong_key_is_401_and_keeps_no_session(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    response = site.client.post("/lookup", data={"receipt_id": receipt_id, "api_key": "sk_nope"})
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert site.client.get(f"/receipts/{receipt_id}").status_code == 401
    without_key = site.client.post("/lookup", data={"receipt_id": receipt_id})
    assert without_key.status_code == 401


def test_signed_in_lookups_need_no_key_and_sign_out_ends_the_session(site: Site) -> None:
    site.sign_in()
    third = site.receipts["cust_1"][2]["receipt_id"]
    assert site.client.post("/lookup", data={"receipt_id": third}).status_code == 303
    assert "Signed in as customer" in site.client.get("/").get_data(as_text=True)
    assert site.client.post("/sign-out").status_code == 303
    assert site.client.get(f"/receipts/{third}").status_code == 401


def test_revoking_the_key_ends_its_sessions(site: Site) -> None:
    site.sign_in()
    site.store.revoke_api_key(site.api_keys["cust_1"].split("_")[1], "2026-01-26T00:00:00Z")
    assert site.client.get(f"/receipts/{site.receipts['cust_1'][0]['receipt_id']}").status_code == 401


def test_a_cross_site_form_post_is_refused(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    data = {"receipt_id": receipt_id, "api_key": site.api_keys["cust_1"]}
    refused = site.client.post("/lookup", data=data, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert site.client.post("/lookup", data=data, headers={"Origin": "null"}).status_code == 403
    accepted = site.client.post("/lookup", data=data, headers={"Origin": "http://localhost"})
    assert accepted.status_code == 303


def test_unknown_pages_and_wrong_methods_are_friendly_html(site: Site) -> None:
    missing = site.client.get("/no/such/page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "Not found" in missing.get_data(as_text=True)
    wrong = site.client.put("/verify")
    assert wrong.status_code == 405 and wrong.mimetype == "text/html" and "GET" in wrong.headers["Allow"]


@pytest.mark.parametrize("path", ["/", "/verify", "/v1/receipts/r_x", "/.well-known/jwks.json", "/nowhere"])
def test_security_headers_on_every_answer(site: Site, path: str) -> None:
    headers = site.client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["Referrer-Policy"] == "same-origin"


def test_anything_sent_with_credentials_or_cookies_is_not_cached_and_public_answers_are(site: Site) -> None:
    """Cache-Control: no-store when a key or a cookie came with the request, even one that
    does not parse; the view's own Cache-Control (the log's public files) is kept."""
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    assert site.client.get(f"/v1/receipts/{receipt_id}", headers=site.bearer()).headers["Cache-Control"] == "no-store"
    for headers in ({"Authorization": "Bearer"}, {"Authorization": "garbage"}):
        assert site.client.get("/verify", headers=headers).headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in site.client.get("/verify").headers
    site.client.set_cookie("other", "1")
    assert site.client.get("/verify").headers["Cache-Control"] == "no-store"
    jwks = site.client.get("/.well-known/jwks.json", headers=site.bearer())
    assert jwks.headers.getlist("Cache-Control") == [jwks.headers["Cache-Control"]]  # one, never two


def test_a_session_cookie_beside_others_still_opens_the_session(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    site.sign_in()
    site.client.set_cookie("unrelated", "1")
    assert site.client.get(f"/receipts/{receipt_id}").status_code == 200
    site.client.delete_cookie("session")
    assert site.client.get(f"/receipts/{receipt_id}").status_code == 401


def test_hsts_can_be_turned_off_for_plain_http_deployments(make_site) -> None:
    assert "Strict-Transport-Security" not in make_site(HSTS_MAX_AGE=0).client.get("/").headers


def test_static_files_ship_with_the_package(site: Site) -> None:
    scripts = ("verifier.js", "contract.js", "json.js", "python.js", "tables.js", "text.js", "page.js")
    for name, kind in (*((script, "javascript") for script in scripts), ("site.css", "css")):
        response = site.client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.mimetype
        response.close()
