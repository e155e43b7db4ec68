"""The per-process cache of bearer keys the store accepted (verifier_site/verified_keys.py):
a revoked key is refused within API_KEY_CACHE_SECONDS, and at once with 0; only the exact
key the store accepted is ever answered from the cache."""

from receipts.api_keys import issue_api_key, key_id_of
from tests.site.conftest import Site
from tests.site.test_intake import ManualClock
from verifier_site.verified_keys import VerifiedKeys

REVOKED_AT = "2026-01-26T00:00:00Z"


def lookup(site: Site, headers: dict[str, str]) -> int:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    return site.client.get(f"/v1/receipts/{receipt_id}", headers=headers).status_code


def revoke(site: Site, customer: str = "cust_1") -> None:
    assert site.store.revoke_api_key(key_id_of(site.api_keys[customer]), REVOKED_AT)


def test_without_the_cache_a_revoked_key_stops_working_at_once(make_site) -> None:
    site = make_site(API_KEY_CACHE_SECONDS=0)
    assert lookup(site, site.bearer()) == 200
    revoke(site)
    assert lookup(site, site.bearer()) == 401


def test_a_revoked_key_stops_working_within_the_cache_time(make_site) -> None:
    clock = ManualClock()
    site = make_site(API_KEY_CACHE_SECONDS=1.0, API_KEY_CACHE_CLOCK=clock)
    assert lookup(site, site.bearer()) == 200
    revoke(site)
    clock.now = 0.9
    assert lookup(site, site.bearer()) == 200  # accepted by the store 0.9 s ago
    clock.now = 1.0
    assert lookup(site, site.bearer()) == 401
    clock.now = 1.5
    assert lookup(site, site.bearer()) == 401  # a refused key is never kept


def test_the_cache_answers_only_the_exact_key_the_store_accepted(make_site) -> None:
    clock = ManualClock()
    site = make_site(API_KEY_CACHE_SECONDS=60.0, API_KEY_CACHE_CLOCK=clock)
    key = site.api_keys["cust_1"]
    assert lookup(site, site.bearer()) == 200
    wrong_secret = key[:-1] + ("A" if key[-1] != "A" else "B")  # same key id, another secret
    assert lookup(site, {"Authorization": f"Bearer {wrong_secret}"}) == 401
    assert lookup(site, {"Authorization": f"Bearer {key}"}) == 200
    other = site.client.get(f"/v1/receipts/{site.receipts['cust_1'][0]['receipt_id']}", headers=site.bearer("cust_2"))
    assert other.status_code == 404  # the cached record is the key's own: its customer, its scope


class CountingStore:
    """A store that counts its key reads."""

    def __init__(self) -> None:
        self.records: dict = {}
        self.reads = 0

    def add_api_key(self, record) -> None:
        self.records[record.key_id] = record

    def api_key(self, key_id: str):
        self.reads += 1
        return self.records.get(key_id)


def test_a_burst_costs_one_read_per_cache_time_and_the_cache_stays_bounded() -> None:
    store, clock = CountingStore(), ManualClock()
    keys = [issue_api_key(store, f"cust_{n}")[0] for n in range(3)]
    cache = VerifiedKeys(2.0, clock, limit=2)
    for _ in range(5):
        assert cache.authenticate(store, keys[0]).customer_id == "cust_0"
    assert store.reads == 1
    clock.now = 2.0
    assert cache.authenticate(store, keys[0]) is not None and store.reads == 2
    cache.authenticate(store, keys[1])
    cache.authenticate(store, keys[2])  # past the limit: the cache starts empty again
    assert len(cache._entries) <= 2
    assert cache.authenticate(store, "sk_0000000000000000_" + "A" * 43) is None
    assert cache.authenticate(store, "sk_0000000000000000_" + "A" * 43) is None
    assert store.reads == 6  # unknown keys read the store every time
