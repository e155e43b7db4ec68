"""The producers' side on the real Pub/Sub emulator: the site's POST /v1/events and the
`receipts.producer` client, into the topic and through the streaming job."""

import http.client
import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from pipelines.local_runner import stop
from pipelines.streaming import start
from receipts.api_keys import issue_api_key, key_id_of
from receipts.canonical import receipt_id
from receipts.keys import Jwks
from receipts.producer import IdempotencyConflict, Producer, store_receipts
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.conftest import event_bytes
from tests.gcp.test_streaming import pull_all, settings_for, wait_for
from tests.site.test_serve import free_port
from verifier_site import create_app


def ingest_app(cloud, store_url: str, **config):
    settings = {
        "STORE_URL": store_url,
        "KEYS_FOLDER": str(cloud.keys.folder),
        "TESTING": True,
        "SECRET_KEY": b"s",
        "INGEST_TOPIC": cloud.topic(),
        **config,
    }
    return create_app(settings)


def local_keys(tmp_path: Path, *customers: str) -> tuple[str, dict[str, dict[str, str]]]:
    """A SQLite store holding one API key per customer: the site's keys, apart from Pub/Sub."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'site.db'}")
    bearers = {c: {"Authorization": f"Bearer {issue_api_key(store, c)[0]}"} for c in customers}
    store.close()
    return store.url, bearers


def test_accepted_events_reach_the_topic_byte_for_byte_with_their_attributes(cloud, tmp_path: Path) -> None:
    url, bearer = local_keys(tmp_path, "cust_1")
    client = ingest_app(cloud, url).test_client()
    single = b'{"customer_id":"cust_1", "idempotent_key":"k-1","amount":1.50,"currency":"USD",' + (
        b'"timestamp":"2026-01-25T11:30:45+01:00","usage_description":"caf\xc3\xa9 \\u2028"}'
    )
    answer = client.post("/v1/events", data=single, headers=bearer["cust_1"])
    assert answer.status_code == 202, answer.json
    assert answer.json["receipt_id"] == receipt_id("cust_1", "k-1")
    lines = [event_bytes(idempotent_key="k-2"), event_bytes(idempotent_key="k-3", amount="2")]
    batch = client.post("/v1/events:batch", data=b"[" + b" ,\n".join(lines) + b"]", headers=bearer["cust_1"])
    assert batch.status_code == 202 and batch.json["accepted"] == 2
    refused = client.post("/v1/events", data=event_bytes(amount="-1"), headers=bearer["cust_1"])
    assert refused.status_code == 400

    published = pull_all(cloud.subscription())
    assert sorted(m.data for m in published) == sorted([single, *lines])  # exactly as sent, nothing else
    attributes = {m.data: dict(m.attributes) for m in published}
    assert attributes[single] == {"idempotent_key": "k-1", "customer_id": "cust_1"}
    assert attributes[lines[1]] == {"idempotent_key": "k-3", "customer_id": "cust_1"}


def test_a_flood_from_one_customer_gets_429s_while_another_customer_passes(cloud, tmp_path: Path) -> None:
    url, bearer = local_keys(tmp_path, "cust_flood", "cust_calm")
    app = ingest_app(cloud, url, INGEST_MAX_IN_FLIGHT_PER_CUSTOMER=2, INGEST_MAX_IN_FLIGHT=4)
    statuses: dict[str, Counter] = {"cust_flood": Counter(), "cust_calm": Counter()}
    lock = threading.Lock()

    def send(customer: str, keys: range) -> None:
        client = app.test_client()
        for n in keys:
            body = event_bytes(customer_id=customer, idempotent_key=f"{customer}-{n}", amount="1.00")
            status = client.post("/v1/events", data=body, headers=bearer[customer]).status_code
            with lock:
                statuses[customer][status] += 1

    flood = [threading.Thread(target=send, args=("cust_flood", range(t * 100, t * 100 + 25))) for t in range(16)]
    calm = threading.Thread(target=send, args=("cust_calm", range(40)))
    for thread in [*flood, calm]:
        thread.start()
    for thread in [*flood, calm]:
        thread.join(120)

    assert statuses["cust_calm"] == Counter({202: 40})  # never held up by the flood
    assert statuses["cust_flood"][429] > 0 and statuses["cust_flood"][202] > 0
    assert set(statuses["cust_flood"]) == {202, 429}
    published = Counter(json.loads(m.data)["customer_id"] for m in pull_all(cloud.subscription()))
    assert published == {"cust_flood": statuses["cust_flood"][202], "cust_calm": 40}  # every 202, nothing else


def test_with_the_default_settings_a_64_connection_flood_meets_its_own_bound(cloud, tmp_path: Path) -> None:
    """The attack review's case: `receipts --store gcp://P serve` as a new user starts it, one
    customer posting from 64 connections at once. Its flood gets 429 at its own bound while
    another customer's events are all accepted (with gunicorn's four threads: not one 429,
    and everyone queued behind the flood)."""
    store = cloud.store()
    keys = {customer: issue_api_key(store, customer)[0] for customer in ("cust_flood", "cust_calm")}
    port = free_port()
    command = [sys.executable, "-c", "from receipts_cli.main import main; main()", "--home", str(tmp_path / "home")]
    server = subprocess.Popen(
        [*command, "--store", cloud.url, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    statuses: dict[str, Counter] = {"cust_flood": Counter(), "cust_calm": Counter()}
    codes: Counter = Counter()
    lock = threading.Lock()

    def send(customer: str, keys_sent: range) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {keys[customer]}", "Content-Type": "application/json"}
        for n in keys_sent:
            body = event_bytes(customer_id=customer, idempotent_key=f"{customer}-{n}", amount="1.00")
            connection.request("POST", "/v1/events", body=body, headers=headers)
            answer = connection.getresponse()
            payload = json.loads(answer.read())
            with lock:
                statuses[customer][answer.status] += 1
                if answer.status == 429:
                    codes[payload["error"]["code"]] += 1
        connection.close()

    try:
        wait_for(lambda: _answers(port), timeout=90, what="receipts serve")
        flood = [threading.Thread(target=send, args=("cust_flood", range(t * 100, t * 100 + 15))) for t in range(64)]
        calm = threading.Thread(target=send, args=("cust_calm", range(40)))
        for thread in [*flood, calm]:
            thread.start()
        for thread in [*flood, calm]:
            thread.join(120)
    finally:
        server.terminate()
        server.wait(30)
    assert statuses["cust_calm"] == Counter({202: 40})
    assert statuses["cust_flood"][429] > 0 and statuses["cust_flood"][202] > 0
    assert set(statuses["cust_flood"]) == {202, 429} and set(codes) == {"too_many_requests"}
    published = Counter(json.loads(m.data)["customer_id"] for m in pull_all(cloud.subscription()))
    assert published == {"cust_flood": statuses["cust_flood"][202], "cust_calm": 40}


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/healthz")
        return connection.getresponse().status in (200, 503)
    except OSError:
        return False


def test_a_retried_post_gives_the_same_receipt_id_and_one_charge_end_to_end(cloud) -> None:
    store = cloud.store()
    key, _ = issue_api_key(store, "cust_1")
    client = ingest_app(cloud, cloud.url).test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    body = event_bytes(idempotent_key="retried", amount="12.50")
    answers = [client.post("/v1/events", data=body, headers=bearer) for _ in range(2)]
    answers.append(client.post("/v1/events:batch", data=b"[" + body + b"]", headers=bearer))
    other = client.post("/v1/events", data=event_bytes(idempotent_key="other", amount="1.00"), headers=bearer)
    assert [a.status_code for a in answers] == [202, 202, 202] and other.status_code == 202
    ids = {answers[0].json["receipt_id"], answers[1].json["receipt_id"], answers[2].json["results"][0]["receipt_id"]}
    assert ids == {receipt_id("cust_1", "retried")}
    receipt_url = answers[0].json["receipt_url"]
    assert client.get(receipt_url, headers=bearer).status_code == 404  # not written yet

    job = start(settings_for(cloud))
    try:
        wait_for(lambda: sum(1 for _ in store.receipts()) == 2, what="two receipts")
    finally:
        stop(job)
    receipt = client.get(receipt_url, headers=bearer)
    assert receipt.status_code == 200 and receipt.json["receipt_id"] in ids
    receipts = list(store.receipts("cust_1"))
    assert sorted(r["idempotent_key"] for r in receipts) == ["other", "retried"]  # one charge for three posts
    assert receipts[-1]["balance_after"] == "13.50"
    assert all(check.ok for check in verify_chain(receipts, Jwks(cloud.keys.jwks())))
    waited = client.post("/v1/events?wait=10", data=body, headers=bearer)  # stored already: at once
    assert waited.status_code == 200 and waited.json == receipt.json
    submission = client.get(f"{receipt_url}/evidence?format=json", headers=bearer).json["submission"]
    assert submission["source"] == "api" and submission["key_id"] == key_id_of(key) and submission["same_event"]


def test_the_producer_sends_and_waits_for_its_receipt(cloud) -> None:
    event = {
        "idempotent_key": "p-1",
        "customer_id": "cust_p",
        "amount": "150.00",
        "currency": "USD",
        "timestamp": "2026-01-25T10:30:45Z",
    }
    job = start(settings_for(cloud))
    try:
        with Producer(cloud.project, receipts=store_receipts(cloud.url), max_latency=0.01) as producer:
            sent = producer.send(event, wait=True, timeout=90)
            assert sent.receipt_id == receipt_id("cust_p", "p-1")
            assert sent.receipt["status"] == "accepted" and sent.receipt["balance_after"] == "150.00"
            again = producer.send(event, wait=True, timeout=90)  # a producer retry: the same receipt
            assert again.receipt == sent.receipt
            more = [{**event, "idempotent_key": f"p-{n}", "amount": "1.00"} for n in (2, 3)]
            batch = producer.send_many(more, wait=True, timeout=90)
            assert [s.receipt["balance_after"] for s in batch] in (["151.00", "152.00"], ["152.00", "151.00"])
            with pytest.raises(IdempotencyConflict):
                producer.send({**event, "amount": "999.00"}, wait=True, timeout=90)
    finally:
        stop(job)
    receipts = list(cloud.store().receipts("cust_p"))
    assert [r["sequence"] for r in receipts] == [1, 2, 3]  # the retry and the conflict charged nothing
    assert all(check.ok for check in verify_chain(receipts, Jwks(cloud.keys.jwks())))


def test_an_operator_key_posts_a_credit_end_to_end_and_the_charge_lists_it(cloud) -> None:
    """On Pub/Sub, the streaming job and Spanner + Firestore: an operator key posts a charge and a
    credit of it for a customer; the customer's own key may not post the credit, yet reads both,
    and the charge's credit notes (from Firestore's `credits_of`) say what is still creditable."""
    from receipts.api_keys import OPERATOR

    store = cloud.store()
    operator = {"Authorization": f"Bearer {issue_api_key(store, None, OPERATOR)[0]}"}
    customer = {"Authorization": f"Bearer {issue_api_key(store, 'cust_9')[0]}"}
    client = ingest_app(cloud, cloud.url).test_client()
    charge_id = receipt_id("cust_9", "charge")
    credit = event_bytes(
        customer_id="cust_9", idempotent_key="refund", amount="4.00", type="credit", corrects=charge_id
    )
    refused = client.post("/v1/events", data=credit, headers=customer)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    charge = event_bytes(customer_id="cust_9", idempotent_key="charge", amount="10.00")
    assert client.post("/v1/events", data=charge, headers=operator).status_code == 202
    job = start(settings_for(cloud))
    try:
        wait_for(lambda: store.receipt(charge_id) is not None, what="the charge")
        assert client.post("/v1/events", data=credit, headers=operator).status_code == 202
        wait_for(lambda: sum(1 for _ in store.receipts("cust_9")) == 2, what="the credit")
    finally:
        stop(job)
    [stored_credit] = store.credits_of("cust_9", [charge_id]).get(charge_id, [])
    assert stored_credit["status"] == "accepted" and stored_credit["balance_after"] == "6.00"
    notes = client.get(f"/v1/receipts/{charge_id}?credits=true", headers=customer).json["credit_notes"]
    assert (notes["credited"], notes["remaining"]) == ("4.00", "6.00")
    assert [c["receipt_id"] for c in notes["credits"]] == [receipt_id("cust_9", "refund")]
    assert client.get(f"/v1/receipts/{charge_id}", headers=operator).status_code == 200
