"""The site while intake is frozen (receipts intake freeze): ingest answers 503
intake_frozen with the reason and Retry-After and publishes nothing, /healthz reports the
state and stays 200, /metrics has the gauge, every page shows customers a banner (its text
made visible), and the state is read through a cache (at most one store read per
INTAKE_CACHE_SECONDS per process)."""

import threading

from receipts.rows import IntakeState
from tests.conftest import event_bytes
from tests.site.conftest import Site
from tests.site.publishers import InstantPublisher

FROZEN = IntakeState(True, "ledger under review", "2026-01-25T12:00:00Z", "alice")
BANNER = "New usage is not being charged right now"


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def frozen_site(make_site, **config) -> Site:
    site = make_site(INGEST_PUBLISHER=InstantPublisher(), INTAKE_CACHE_SECONDS=0, **config)
    site.store.set_intake(FROZEN)
    return site


def post(site: Site, path: str, body: bytes):
    return site.client.post(path, data=body, headers={**site.bearer(), "Content-Type": "application/json"})


def test_ingest_answers_503_intake_frozen_and_publishes_nothing(make_site) -> None:
    site = frozen_site(make_site)
    publisher = site.app.config["INGEST_PUBLISHER"]
    for path, body in (("/v1/events", event_bytes()), ("/v1/events:batch", b"[" + event_bytes() + b"]")):
        response = post(site, path, body)
        assert response.status_code == 503, response.json
        assert response.headers["Retry-After"] == "60"
        error = response.json["error"]
        assert error["code"] == "intake_frozen"
        assert error["reason"] == "ledger under review" and error["since"] == "2026-01-25T12:00:00Z"
        assert "ledger under review" in error["message"]
    assert publisher.messages == []
    unauthenticated = site.client.post("/v1/events", data=event_bytes())
    assert unauthenticated.status_code == 401  # the key is checked first, as elsewhere
    site.store.set_intake(IntakeState(False, "", "2026-01-25T13:00:00Z", "bob"))
    assert post(site, "/v1/events", event_bytes()).status_code == 202
    assert len(publisher.messages) == 1


def test_healthz_reports_the_frozen_state_and_stays_healthy(make_site) -> None:
    site = frozen_site(make_site)
    response = site.client.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"
    assert response.json["intake"] == {
        "frozen": True,
        "reason": "ledger under review",
        "since": "2026-01-25T12:00:00Z",
        "by": "alice",
    }


def test_metrics_have_the_intake_gauge(make_site) -> None:
    site = frozen_site(make_site)
    assert "receipts_intake_frozen 1.0" in site.client.get("/metrics").get_data(as_text=True)
    site.store.set_intake(IntakeState(False, "", "2026-01-25T13:00:00Z", "bob"))
    assert "receipts_intake_frozen 0.0" in site.client.get("/metrics").get_data(as_text=True)


def test_pages_show_customers_a_banner_with_the_reason_as_text(make_site) -> None:
    site = frozen_site(make_site)
    site.store.set_intake(IntakeState(True, "<script>alert(1)</script> \u202e review", "2026-01-25T12:00:00Z", "a"))
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    for path in ("/", "/verify", "/no-such-page"):
        html = site.client.get(path).get_data(as_text=True)
        assert BANNER in html, path
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "\u202e" not in html and "\\u202e" in html
    site.sign_in()
    assert BANNER in site.client.get(f"/receipts/{receipt_id}").get_data(as_text=True)
    site.store.set_intake(IntakeState(False, "", "2026-01-25T13:00:00Z", "bob"))
    assert BANNER not in site.client.get("/").get_data(as_text=True)


def test_the_state_is_read_at_most_once_per_cache_time_however_many_threads(make_site, monkeypatch) -> None:
    clock = ManualClock()
    site = make_site(INGEST_PUBLISHER=InstantPublisher(), INTAKE_CACHE_SECONDS=2.0, INTAKE_CLOCK=clock)
    reads = []
    from receipts.stores.sqlite import SqliteStore

    read = SqliteStore.intake
    monkeypatch.setattr(SqliteStore, "intake", lambda store: reads.append(clock.now) or read(store))
    answers = []

    def ask() -> None:
        answers.append(site.client.get("/healthz").json["intake"]["frozen"])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [False] * 8 and reads == [0.0]
    site.store.set_intake(FROZEN)
    clock.now = 1.9
    assert post(site, "/v1/events", event_bytes()).status_code == 202  # the cached state still stands
    clock.now = 2.0
    assert post(site, "/v1/events", event_bytes()).status_code == 503
    assert reads == [0.0, 2.0]
