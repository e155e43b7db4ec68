"""POST /v1/events?wait=S: the receipt itself (200, as GET /v1/receipts/<id>) when it is
stored in time, the 202 "pending" otherwise; bounded waits (429 too_many_waiting), a
duplicate answered at once, a conflict answered 409, and every malformed wait refused.
The store is polled through a manual clock and sleep (INGEST_CLOCK, INGEST_WAIT_SLEEP):
no test here depends on how fast the machine is."""

import threading
import time

import pytest

from receipts.canonical import receipt_id
from tests.conftest import event_bytes
from tests.site.conftest import Site
from tests.site.publishers import ChargingPublisher, InstantPublisher


class ManualTime:
    """INGEST_CLOCK and INGEST_WAIT_SLEEP: sleeping moves the clock; `on_sleep` runs first."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = lambda count: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.on_sleep(len(self.sleeps))
        self.now += seconds


@pytest.fixture
def manual() -> ManualTime:
    return ManualTime()


@pytest.fixture
def waiting_site(make_site, signer, manual: ManualTime):
    """waiting_site(hold=...) -> a site whose Pub/Sub charges each event into the store at
    once, or (for events `hold` picks) when the test says."""

    def build(hold=lambda attributes: False, **config) -> Site:
        site = make_site(
            INGEST_PUBLISHER=InstantPublisher(), INGEST_CLOCK=manual.clock, INGEST_WAIT_SLEEP=manual.sleep, **config
        )
        publisher = ChargingPublisher(site.store, signer, hold=hold)
        site.app.extensions["ingest"].transport = publisher
        site.extra["publisher"] = publisher
        return site

    return build


def post(site: Site, body: bytes, query: str = "?wait=5", customer: str = "cust_1", client=None):
    headers = {**site.bearer(customer), "Content-Type": "application/json"}
    return (client or site.client).post(f"/v1/events{query}", data=body, headers=headers)


def test_a_receipt_stored_in_time_is_the_answer_as_get_gives_it(waiting_site, manual: ManualTime) -> None:
    site = waiting_site()
    answer = post(site, event_bytes(idempotent_key="k-1", amount="2.50"))
    assert answer.status_code == 200, answer.json
    rid = receipt_id("cust_1", "k-1")
    fetched = site.client.get(f"/v1/receipts/{rid}", headers=site.bearer())
    assert answer.json == fetched.json and answer.headers["Link"] == fetched.headers["Link"]
    assert answer.json["status"] == "accepted" and answer.json["balance_after"] == "9.25"  # 1.25 + 2.25 + 3.25 + 2.50
    assert "quota_remaining" in answer.json and answer.json["signature"].count(".") == 2
    assert manual.sleeps == []  # stored before the first look: no wait at all
    assert site.store.submission(rid) is not None  # recorded like any accepted post


def test_the_store_is_polled_with_backoff_until_the_receipt_is_there(waiting_site, manual: ManualTime) -> None:
    site = waiting_site(hold=lambda attributes: True)
    publisher: ChargingPublisher = site.extra["publisher"]
    manual.on_sleep = lambda count: count == 4 and publisher.charge_held()  # the pipeline writes it meanwhile
    answer = post(site, event_bytes(idempotent_key="k-1"), "?wait=2.5")
    assert answer.status_code == 200 and answer.json["receipt_id"] == receipt_id("cust_1", "k-1")
    assert manual.sleeps == [0.02, 0.04, 0.08, 0.16]


def test_a_receipt_not_stored_in_time_is_the_pending_202(waiting_site, manual: ManualTime) -> None:
    site = waiting_site(hold=lambda attributes: True)
    answer = post(site, event_bytes(idempotent_key="k-1"), "?wait=10")
    assert answer.status_code == 202 and answer.json["status"] == "pending"
    assert answer.headers["Location"] == answer.json["receipt_url"]
    assert sum(manual.sleeps) == pytest.approx(10.0) and max(manual.sleeps) == 0.5  # bounded, then answered
    assert len(manual.sleeps) < 30  # about 25 reads of the store for ten seconds
    zero = post(site, event_bytes(idempotent_key="k-2"), "?wait=0")
    assert zero.status_code == 202 and len(manual.sleeps) < 30  # wait=0 looks once


def test_a_duplicate_whose_receipt_exists_answers_at_once_and_publishes_nothing(
    ingest_site: Site, instant, manual
) -> None:
    site = ingest_site
    site.app.config.update(INGEST_CLOCK=manual.clock, INGEST_WAIT_SLEEP=manual.sleep)
    first = site.receipts["cust_1"][0]
    body = event_bytes(
        idempotent_key=first["idempotent_key"],
        amount=first["amount"],
        timestamp=first["event_timestamp"],
        usage_description=first["usage_description"],
    )
    answer = post(site, body, "?wait=10")
    assert answer.status_code == 200 and answer.json == first
    assert instant.messages == [] and manual.sleeps == []
    metrics = site.client.get("/metrics").get_data(as_text=True)
    assert 'verifier_ingest_waits_total{outcome="duplicate"} 1.0' in metrics


def test_another_event_under_a_charged_key_is_409_and_still_published(ingest_site: Site, instant, manual) -> None:
    site = ingest_site
    site.app.config.update(INGEST_CLOCK=manual.clock, INGEST_WAIT_SLEEP=manual.sleep)
    first = site.receipts["cust_1"][0]
    body = event_bytes(idempotent_key=first["idempotent_key"], amount="999.00")
    answer = post(site, body, "?wait=10")
    assert answer.status_code == 409 and answer.json["error"]["code"] == "idempotency_conflict"
    assert answer.json["error"]["receipt_id"] == first["receipt_id"]
    assert first["event_sha256"] in answer.json["error"]["message"]
    assert [raw for raw, _ in instant.messages] == [body]  # for the pipeline to keep as a dead letter
    assert manual.sleeps == []


@pytest.mark.parametrize(
    "query",
    [
        "?wait=abc", "?wait=11", "?wait=10.001", "?wait=-1", "?wait=1e9", "?wait=1E1", "?wait=NaN", "?wait=nan",
        "?wait=inf", "?wait=Infinity", "?wait=", "?wait=%205", "?wait=5%20", "?wait=+5", "?wait=0x5", "?wait=1,5",
        "?wait=.5", "?wait=5.", "?wait=100", "?wait=0.0001", "?wait=5&wait=6", "?wait=%EF%BC%95",  # a fullwidth 5
    ],
)  # fmt: skip
def test_a_wait_that_is_not_a_plain_number_up_to_10_is_400(ingest_site: Site, instant, query: str) -> None:
    answer = post(ingest_site, event_bytes(), query)
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_parameter"
    assert "wait must be a number of seconds from 0 to 10" in answer.json["error"]["message"]
    assert instant.messages == []


@pytest.mark.parametrize("query", ["?wait=0", "?wait=10", "?wait=10.0", "?wait=2.5", "?wait=0.125", "?wait=07"])
def test_plain_numbers_up_to_10_are_taken(waiting_site, query: str) -> None:
    assert post(waiting_site(), event_bytes(), query).status_code == 200


def test_a_batch_does_not_wait(ingest_site: Site, instant) -> None:
    answer = post(ingest_site, b"[" + event_bytes() + b"]", "?wait=5").status_code
    assert answer == 400 and instant.messages == []
    assert (
        ingest_site.client.post(
            "/v1/events:batch?wait=5", data=b"[" + event_bytes() + b"]", headers=ingest_site.bearer()
        )
        .json["error"]["message"]
        .startswith("wait is for POST /v1/events")
    )


def test_waiting_requests_are_bounded_per_customer_and_per_process(make_site, signer) -> None:
    """A flood of waits gets 429 too_many_waiting before anything is published, and a
    customer's waits leave places for others; plain posts are not held up."""
    gate = threading.Event()
    site = make_site(
        INGEST_PUBLISHER=InstantPublisher(),
        INGEST_WAIT_SLEEP=lambda seconds: gate.wait(30),
        INGEST_MAX_WAITING=2,
        INGEST_MAX_WAITING_PER_CUSTOMER=1,
    )
    publisher = ChargingPublisher(site.store, signer, hold=lambda attributes: True)
    site.app.extensions["ingest"].transport = publisher
    places = site.app.extensions["ingest_waiting"]
    answers: dict[str, int] = {}

    def send(customer: str, key: str) -> None:
        answers[key] = post(
            site, event_bytes(customer_id=customer, idempotent_key=key), "?wait=10", customer, site.app.test_client()
        ).status_code

    waiting = [threading.Thread(target=send, args=(c, f"{c}-w")) for c in ("cust_1", "cust_2")]
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + 30
    while places.total < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert places.total == 2
    published = len(publisher.messages)
    same = post(site, event_bytes(idempotent_key="again"), "?wait=1")
    assert same.status_code == 429 and same.json["error"]["code"] == "too_many_waiting"
    assert "this customer's 1 places" in same.json["error"]["message"] and same.headers["Retry-After"] == "1"
    site.app.extensions["ingest_waiting"].per_customer = 5  # now only the process bound is full
    full = post(site, event_bytes(idempotent_key="full"), "?wait=1")
    assert full.status_code == 429 and "this server's 2 places" in full.json["error"]["message"]
    assert len(publisher.messages) == published  # a 429 published nothing
    assert post(site, event_bytes(idempotent_key="plain"), "").status_code == 202  # no wait: not bounded by waits
    metrics = site.client.get("/metrics").get_data(as_text=True)
    assert "verifier_ingest_waiting 2.0" in metrics
    assert 'verifier_rate_limited_total{limit="waiting requests"} 2.0' in metrics
    gate.set()
    for thread in waiting:
        thread.join(30)
    assert answers == {"cust_1-w": 202, "cust_2-w": 202} and places.total == 0


def test_the_wait_parameter_is_in_the_openapi_document(site: Site) -> None:
    single = site.client.get("/openapi.json").json["paths"]["/v1/events"]["post"]
    [wait] = [p for p in single["parameters"] if p["name"] == "wait"]
    assert wait["in"] == "query" and wait["schema"]["maximum"] == 10 and wait["schema"]["minimum"] == 0
    assert {"200", "409"} <= set(single["responses"])
