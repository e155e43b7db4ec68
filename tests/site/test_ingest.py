"""POST /v1/events and /v1/events:batch with Flask's test client: every answer but the
real Pub/Sub path (tests/gcp/test_ingest_gcp.py), with stand-in publishers for a Pub/Sub
that confirms at once, hangs or is down."""

import threading
import time

import pytest

from receipts.canonical import receipt_id
from tests.conftest import event_bytes
from tests.site.conftest import Site
from tests.site.publishers import FailingPublisher, HeldPublisher, InstantPublisher


def post(site: Site, body: bytes, customer: str = "cust_1", path: str = "/v1/events", **kwargs):
    headers = {**site.bearer(customer), "Content-Type": "application/json", **kwargs.pop("headers", {})}
    return site.client.post(path, data=body, headers=headers, **kwargs)


def test_an_event_is_published_as_sent_and_answered_202_with_its_receipt_id(ingest_site: Site, instant) -> None:
    body = b'{"customer_id": "cust_1",  "idempotent_key": "k-1", "amount": 150.00, "currency": "USD", ' + (
        b'"timestamp": "2026-01-25T10:30:45Z", "usage_description": "1000 API calls \\u2028 caf\xc3\xa9"}'
    )
    response = post(ingest_site, body)
    assert response.status_code == 202, response.json
    rid = receipt_id("cust_1", "k-1")
    assert response.json == {
        "receipt_id": rid,
        "status": "pending",
        "receipt_url": f"http://localhost/v1/receipts/{rid}",
    }
    assert response.headers["Location"] == response.json["receipt_url"]
    assert instant.messages == [(body, {"idempotent_key": "k-1", "customer_id": "cust_1"})]  # byte for byte
    # The receipt URL is the read API's: 404 until the pipeline has written the receipt.
    pending = ingest_site.client.get(response.json["receipt_url"], headers=ingest_site.bearer())
    assert pending.status_code == 404 and pending.json["error"]["code"] == "not_found"


def test_the_same_event_again_gets_the_same_receipt_id(ingest_site: Site, instant) -> None:
    first, again = post(ingest_site, event_bytes()), post(ingest_site, event_bytes())
    assert first.status_code == again.status_code == 202
    assert first.json["receipt_id"] == again.json["receipt_id"]
    assert [raw for raw, _ in instant.messages] == [event_bytes(), event_bytes()]  # the pipeline dedups


@pytest.mark.parametrize("header", [None, "Bearer not-a-key", "Bearer sk_0123456789abcdef_" + "x" * 43])
def test_without_a_valid_key_the_answer_is_401(ingest_site: Site, instant, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = ingest_site.client.post("/v1/events", data=event_bytes(), headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert instant.messages == []


def test_producers_are_not_held_to_the_read_api_rate_but_failed_keys_spend_the_ip_budget(make_site) -> None:
    site = make_site(INGEST_PUBLISHER=InstantPublisher(), RATE_LIMIT_IP=(2, 0.01), RATE_LIMIT_KEY=(1, 0.01))
    statuses = [post(site, event_bytes(idempotent_key=f"k{n}")).status_code for n in range(5)]
    assert statuses == [202] * 5
    bad = {"Authorization": "Bearer not-a-key"}
    failed = [site.client.post("/v1/events", data=event_bytes(), headers=bad).status_code for _ in range(3)]
    assert failed == [401, 401, 429]


def test_an_event_for_another_customer_is_403(ingest_site: Site, instant) -> None:
    response = post(ingest_site, event_bytes(customer_id="cust_2"), customer="cust_1")
    assert response.status_code == 403
    assert response.json["error"] == {"code": "customer_mismatch", "message": "this API key is for cust_1, not cust_2"}
    mismatched_and_invalid = post(ingest_site, event_bytes(customer_id="cust_2", amount="-1"))
    assert mismatched_and_invalid.status_code == 403  # the key may not speak for cust_2 at all
    assert instant.messages == []


def test_a_customer_key_may_not_post_a_credit(ingest_site: Site, instant) -> None:
    charge = receipt_id("cust_1", "evt-0")
    response = post(ingest_site, event_bytes(idempotent_key="refund-1", type="credit", corrects=charge))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden" and "credits" in response.json["error"]["message"]
    assert instant.messages == []
    assert post(ingest_site, event_bytes(idempotent_key="plain", type="charge")).status_code == 202


def test_an_invalid_event_is_400_with_every_reason(ingest_site: Site, instant) -> None:
    body = event_bytes(amount="1.001", currency="USD", timestamp="yesterday", idempotent_key=None, colour="red")
    response = post(ingest_site, body)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid_event"
    assert [(e["field"], e["reason"]) for e in error["errors"]] == [
        ("idempotent_key", "missing_field"),
        ("amount", "too_many_fraction_digits"),
        ("timestamp", "invalid_timestamp"),
        ("colour", "unknown_field"),
    ]
    assert all(e["detail"] in error["message"] for e in error["errors"])
    for raw, reason in ((b"\xff\xfe", "invalid_encoding"), (b"{", "malformed_json"), (b"[1]", "not_an_object")):
        answer = post(ingest_site, raw)
        assert answer.status_code == 400 and answer.json["error"]["errors"][0]["reason"] == reason
    assert instant.messages == []


def test_an_event_timestamped_years_ahead_is_400_timestamp_in_future(ingest_site: Site, instant) -> None:
    answer = post(ingest_site, event_bytes(timestamp="2031-01-25T10:30:45Z"))
    assert answer.status_code == 400
    assert [error["reason"] for error in answer.json["error"]["errors"]] == ["timestamp_in_future"]
    assert instant.messages == []


def test_a_body_over_an_events_64_kib_is_413(ingest_site: Site, instant) -> None:
    response = post(ingest_site, event_bytes(usage_description="x" * (64 * 1024)))
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
    assert instant.messages == []


def test_without_pubsub_configured_the_answer_is_503_ingest_not_configured(site: Site) -> None:
    for path in ("/v1/events", "/v1/events:batch"):
        response = post(site, event_bytes(), path=path)
        assert response.status_code == 503
        assert response.json["error"]["code"] == "ingest_not_configured"
        assert "--topic" in response.json["error"]["message"]


def held_site(make_site, held: HeldPublisher, **config):
    settings = {"INGEST_PUBLISH_TIMEOUT": 0.05, "INGEST_MAX_IN_FLIGHT_PER_CUSTOMER": 2, **config}
    return make_site(INGEST_PUBLISHER=held, **settings)


def test_a_slow_pubsub_is_503_after_the_timeout_and_keeps_its_slots_until_it_answers(make_site) -> None:
    held = HeldPublisher(hold=lambda attributes: attributes["customer_id"] == "cust_1")
    site = held_site(make_site, held)
    slow = post(site, event_bytes(idempotent_key="a"))  # Pub/Sub never answers it: only the timeout can
    assert slow.status_code == 503 and slow.json["error"]["code"] == "publish_timeout"
    assert slow.json["error"]["receipt_id"] == receipt_id("cust_1", "a")
    assert int(slow.headers["Retry-After"]) >= 1
    assert post(site, event_bytes(idempotent_key="b")).status_code == 503

    # cust_1's two slots are still held by publishes Pub/Sub has not answered: 429, at once.
    full = post(site, event_bytes(idempotent_key="c"))
    assert full.status_code == 429 and full.json["error"]["code"] == "too_many_in_flight"
    assert "customer's 2 publishes" in full.json["error"]["message"]
    assert full.headers["Retry-After"] == "1"
    # Another customer is not held up by cust_1's flood.
    assert post(site, event_bytes(customer_id="cust_2", idempotent_key="c"), customer="cust_2").status_code == 202

    held.confirm()  # Pub/Sub answers at last: the slots come back
    assert post(site, event_bytes(idempotent_key="c")).status_code == 503  # held again, but it was let through
    metrics = site.client.get("/metrics").get_data(as_text=True)
    assert 'verifier_ingest_events_total{outcome="too_many_in_flight"} 1.0' in metrics
    assert 'verifier_rate_limited_total{limit="in-flight publishes"} 1.0' in metrics
    assert "verifier_ingest_in_flight 1.0" in metrics


def test_the_process_bound_caps_every_customer_together(make_site) -> None:
    held = HeldPublisher()
    site = held_site(make_site, held, INGEST_MAX_IN_FLIGHT=3)
    assert [post(site, event_bytes(idempotent_key=k)).status_code for k in "ab"] == [503, 503]
    other = event_bytes(customer_id="cust_2", idempotent_key="x")
    assert post(site, other, customer="cust_2").status_code == 503  # the third slot
    refused = post(site, event_bytes(customer_id="cust_2", idempotent_key="y"), customer="cust_2")
    assert refused.status_code == 429 and "server's 3 publishes" in refused.json["error"]["message"]
    held.confirm()
    assert post(site, other, customer="cust_2").status_code == 503


def test_a_pubsub_that_is_down_is_503_then_fails_fast_for_the_cooldown(make_site) -> None:
    failing = FailingPublisher()
    now = [100.0]
    site = make_site(INGEST_PUBLISHER=failing, INGEST_OUTAGE_COOLDOWN=30, INGEST_CLOCK=lambda: now[0])
    first = post(site, event_bytes())
    assert first.status_code == 503 and first.json["error"]["code"] == "pubsub_unavailable"
    assert "ServiceUnavailable" in first.json["error"]["message"]
    assert first.headers["Retry-After"] == "30"
    now[0] += 29.9
    fast = post(site, event_bytes())
    assert fast.status_code == 503 and "the last publish failed" in fast.json["error"]["message"]
    assert failing.calls == 1  # nobody waited on Pub/Sub during the cool-down
    now[0] += 0.5  # the cool-down is over: Pub/Sub is tried again
    assert post(site, event_bytes()).status_code == 503 and failing.calls == 2


def test_a_publish_the_client_cannot_even_queue_is_503_and_frees_its_slot(make_site) -> None:
    class Broken:
        def publish(self, raw: bytes, attributes) -> None:
            raise RuntimeError("the client is closed")

    site = make_site(INGEST_PUBLISHER=Broken(), INGEST_OUTAGE_COOLDOWN=0.0, INGEST_MAX_IN_FLIGHT=1)
    for _ in range(2):  # the slot came back: the second is refused for the same reason, not 429
        response = post(site, event_bytes())
        assert response.status_code == 503 and response.json["error"]["code"] == "publish_failed"
        assert "RuntimeError: the client is closed" in response.json["error"]["message"]


def test_a_topic_that_is_not_a_topic_path_is_refused_when_the_app_is_built(make_site) -> None:
    with pytest.raises(ValueError, match="projects/PROJECT/topics/TOPIC"):
        make_site(INGEST_TOPIC="billing-events")


def batch(*events: bytes) -> bytes:
    return b"[" + b",\n ".join(events) + b"]"


def test_a_batch_is_answered_per_event(ingest_site: Site, instant) -> None:
    events = [
        event_bytes(idempotent_key="ok-1"),
        event_bytes(idempotent_key="bad", amount="0"),
        event_bytes(customer_id="cust_2", idempotent_key="theirs"),
        event_bytes(idempotent_key="ok-2", amount=7),
    ]
    response = post(ingest_site, batch(*events), path="/v1/events:batch")
    assert response.status_code == 207
    body = response.json
    assert (body["accepted"], body["refused"]) == (2, 2)
    assert [r["http_status"] for r in body["results"]] == [202, 400, 403, 202]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3]
    assert body["results"][0]["receipt_id"] == receipt_id("cust_1", "ok-1")
    assert body["results"][1]["error"]["errors"][0]["reason"] == "invalid_amount"
    assert body["results"][2]["error"]["code"] == "customer_mismatch"
    assert [raw for raw, _ in instant.messages] == [events[0], events[3]]  # each event's exact bytes
    assert "Retry-After" not in response.headers


def test_a_batch_as_jsonl_all_accepted_is_202(ingest_site: Site, instant) -> None:
    lines = [event_bytes(idempotent_key=f"k{n}") for n in range(3)]
    body = b"\n".join(lines) + b"\r\n\n"
    response = post(ingest_site, body, path="/v1/events:batch", headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 202 and response.json["accepted"] == 3
    assert [raw for raw, _ in instant.messages] == lines


def test_a_batch_past_a_bound_says_which_events_to_retry(make_site) -> None:
    held = HeldPublisher()
    site = held_site(make_site, held)
    response = post(site, batch(*(event_bytes(idempotent_key=f"k{n}") for n in range(3))), path="/v1/events:batch")
    assert response.status_code == 207
    assert [r["http_status"] for r in response.json["results"]] == [503, 503, 429]
    assert response.json["results"][2]["receipt_id"] == receipt_id("cust_1", "k2")  # the same on a retry
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"", 400, "invalid_body"),
        (event_bytes(), 400, "invalid_body"),  # one event, not an array of them
        (b"[]", 400, "invalid_body"),
        (b'[{"a": 1},', 400, "invalid_body"),
        (b"[" + b",".join([event_bytes()] * 501) + b"]", 413, "too_many_events"),
        (b"[" + b" " * (1024 * 1024) + b"]", 413, "payload_too_large"),
    ],
)
def test_unreadable_empty_or_oversized_batches(ingest_site: Site, instant, body: bytes, status: int, code: str) -> None:
    response = post(ingest_site, body, path="/v1/events:batch")
    assert response.status_code == status and response.json["error"]["code"] == code
    assert instant.messages == []


def test_the_ingest_routes_are_in_the_openapi_document(site: Site) -> None:
    document = site.client.get("/openapi.json").json
    single, batch = document["paths"]["/v1/events"]["post"], document["paths"]["/v1/events:batch"]["post"]
    assert set(single["responses"]) == {"200", "202", "400", "401", "403", "409", "413", "429", "503"}
    assert batch["requestBody"]["content"]["application/json"]["schema"]["maxItems"] == 500
    currencies = document["components"]["schemas"]["Event"]["properties"]["currency"]["enum"]
    assert {"USD", "JPY", "BHD"} <= set(currencies) and "usd" not in currencies


def test_one_customers_requests_in_progress_are_bounded_and_others_pass(make_site) -> None:
    """Each request waiting for Pub/Sub holds a server thread: past the customer's bound on
    requests in progress the answer is 429 at once, and another customer still gets in."""
    held = HeldPublisher(hold=lambda attributes: attributes["customer_id"] == "cust_1")
    site = make_site(INGEST_PUBLISHER=held, INGEST_PUBLISH_TIMEOUT=60.0, INGEST_MAX_REQUESTS_PER_CUSTOMER=3)
    answers: list[int] = []

    def send(key: str) -> None:
        client = site.app.test_client()
        headers = {**site.bearer(), "Content-Type": "application/json"}
        answers.append(client.post("/v1/events", data=event_bytes(idempotent_key=key), headers=headers).status_code)

    waiting = [threading.Thread(target=send, args=(f"w-{n}",)) for n in range(3)]
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + 30
    while len(held.held) < 3 and time.monotonic() < deadline:  # all three are waiting for Pub/Sub
        time.sleep(0.01)
    assert len(held.held) == 3
    refused = post(site, event_bytes(idempotent_key="w-4"))
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_requests"
    assert "3 requests in progress" in refused.json["error"]["message"] and refused.headers["Retry-After"] == "1"
    batch = post(site, b"[" + event_bytes(idempotent_key="w-5") + b"]", path="/v1/events:batch")
    assert batch.status_code == 429  # a batch is a request too
    other = post(site, event_bytes(customer_id="cust_2", idempotent_key="x"), customer="cust_2")
    assert other.status_code == 202
    held.hold = lambda attributes: False  # Pub/Sub well again: confirms at once
    held.confirm()
    for thread in waiting:
        thread.join(30)
    assert answers == [202, 202, 202]
    assert post(site, event_bytes(idempotent_key="w-6")).status_code == 202  # the places came back
    metrics = site.client.get("/metrics").get_data(as_text=True)
    assert 'verifier_rate_limited_total{limit="requests in progress"} 2.0' in metrics
