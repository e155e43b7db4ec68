"""Sessions end on the server: a cookie copied before sign-out opens nothing afterwards,
and every session has a hard lifetime however active it is (it used to live only in the
signed cookie, so a copy stayed good until its sliding expiry)."""

from datetime import UTC, datetime, timedelta

from receipts.sessions import session_hash
from tests.site.conftest import Site


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def receipt_page(site: Site, cookie: str | None = None) -> int:
    if cookie is not None:
        site.client.set_cookie("session", cookie)
    return site.client.get(f"/receipts/{site.receipts['cust_1'][0]['receipt_id']}").status_code


def test_a_cookie_copied_before_sign_out_opens_nothing_after(site: Site) -> None:
    site.sign_in()
    copied = site.client.get_cookie("session").value
    assert receipt_page(site) == 200
    assert site.client.post("/sign-out").status_code == 303
    assert receipt_page(site, copied) == 401  # the stolen copy, replayed


def test_sign_out_in_one_browser_ends_the_copy_in_another(site: Site) -> None:
    site.sign_in()
    other = site.app.test_client()
    other.set_cookie("session", site.client.get_cookie("session").value)
    assert other.get(f"/receipts/{site.receipts['cust_1'][0]['receipt_id']}").status_code == 200
    site.client.post("/sign-out")
    assert other.get(f"/receipts/{site.receipts['cust_1'][0]['receipt_id']}").status_code == 401


def test_a_session_ends_at_its_hard_lifetime_however_active(make_site) -> None:
    clock = Clock()
    site = make_site(SESSION_CLOCK=clock, SESSION_MAX_HOURS=12)
    site.sign_in()
    for _ in range(12 * 4 - 1):  # used every 15 minutes: the sliding limit never ends it
        clock.now += timedelta(minutes=15)
        assert receipt_page(site) == 200
    clock.now += timedelta(minutes=15)  # 12 hours after sign-in
    assert receipt_page(site) == 401
    assert receipt_page(site) == 401  # and it stays over


def test_signing_in_again_replaces_the_session(site: Site) -> None:
    site.sign_in()
    first = site.client.get_cookie("session").value
    site.sign_in()
    assert receipt_page(site) == 200
    assert receipt_page(site, first) == 401  # the earlier session ended with the new sign-in


def test_the_store_keeps_only_a_hash_of_the_sessions_token(site: Site) -> None:
    site.sign_in()
    rows = site.store._db.execute("SELECT session_hash, key_id FROM sessions").fetchall()
    assert len(rows) == 1
    stored_hash, key_id = rows[0]
    assert key_id == site.api_keys["cust_1"].split("_")[1]
    cookie = site.client.get_cookie("session").value
    assert stored_hash not in cookie
    token = site.app.session_interface.get_signing_serializer(site.app).loads(cookie)["token"]
    assert session_hash(token) == stored_hash


def test_a_cookie_of_the_old_kind_naming_a_key_opens_nothing(site: Site) -> None:
    serializer = site.app.session_interface.get_signing_serializer(site.app)
    old = serializer.dumps({"key_id": site.api_keys["cust_1"].split("_")[1], "_permanent": True})
    assert receipt_page(site, old) == 401


def test_a_new_secret_key_refuses_cookies_signed_with_the_old_one(site: Site) -> None:
    """The session serializer is kept between requests (verifier_site/session_cookies.py),
    but never past a change of key: an old cookie opens nothing unless the old key is a
    fallback."""
    site.sign_in()
    assert receipt_page(site) == 200
    old_key = site.app.secret_key
    site.app.secret_key = b"rotated" * 4
    assert receipt_page(site) == 401
    site.app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert receipt_page(site) == 200
