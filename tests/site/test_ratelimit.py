"""Rate limits: token buckets per client IP and per API key; 429 with Retry-After."""

import pytest

from tests.site.conftest import Site
from verifier_site.ratelimit import TokenBuckets


def test_a_bucket_allows_its_burst_then_refills() -> None:
    now = [100.0]
    buckets = TokenBuckets(burst=2, per_second=0.5, clock=lambda: now[0])
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(2.0)  # one token back in 2 s
    assert buckets.take("b") == 0  # other names have their own bucket
    now[0] += 2.0
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0


def test_only_the_most_recently_used_buckets_are_kept() -> None:
    buckets = TokenBuckets(burst=1, per_second=0.001, tracked=2, clock=lambda: 0.0)
    for name in ("a", "b", "c"):
        buckets.take(name)
    assert buckets.take("a") == 0  # "a" was forgotten: a fresh bucket
    assert buckets.take("c") > 0


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBuckets(burst=0, per_second=1)


def test_per_ip_limit_answers_429_with_retry_after(make_site) -> None:
    site: Site = make_site(RATE_LIMIT_IP=(3, 0.01), RATE_LIMIT_KEY=None)
    statuses = [site.client.get("/.well-known/jwks.json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = site.client.get("/.well-known/jwks.json")
    assert limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    page = site.client.get("/")
    assert page.status_code == 429 and page.mimetype == "text/html" and "Retry-After" in page.headers
    other_ip = site.client.get("/.well-known/jwks.json", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 200
    assert site.client.get("/healthz").status_code == 200  # probes are never limited


def test_per_key_limit_follows_the_key_across_ips(make_site) -> None:
    site: Site = make_site(RATE_LIMIT_IP=None, RATE_LIMIT_KEY=(2, 0.01))
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]

    def get(ip: str, customer: str = "cust_1") -> int:
        return site.client.get(
            f"/v1/receipts/{receipt_id}", headers=site.bearer(customer), environ_base={"REMOTE_ADDR": ip}
        ).status_code

    assert [get("10.0.0.1"), get("10.0.0.2"), get("10.0.0.3")] == [200, 200, 429]
    assert get("10.0.0.1", "cust_2") == 404  # another key has its own budget (and sees no cust_1 receipt)
    assert 'verifier_rate_limited_total{limit="API key"} 1.0' in site.client.get("/metrics").get_data(as_text=True)


def test_the_client_ip_comes_from_trusted_proxies_only(make_site) -> None:
    site: Site = make_site(RATE_LIMIT_IP=(1, 0.01), TRUSTED_PROXIES=1)
    first = site.client.get("/verify", headers={"X-Forwarded-For": "203.0.113.1"})
    second = site.client.get("/verify", headers={"X-Forwarded-For": "203.0.113.2"})
    again = site.client.get("/verify", headers={"X-Forwarded-For": "203.0.113.1"})
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)
