"""Freezing intake on the emulators: the state in Spanner, the streaming job holding events
sent while frozen (dead letters intake_frozen, nothing charged) and charging again after
resume, and the site's answers on the Google Cloud store."""

from collections import Counter

from pipelines.local_runner import stop
from pipelines.streaming import start
from receipts.api_keys import issue_api_key
from receipts.events import parse_event
from receipts.producer.publisher import publish_lines
from receipts.records import INTAKE_FROZEN
from receipts.rows import IntakeState
from receipts_cli.console import pipeline_counts
from tests.conftest import event_bytes
from tests.gcp.test_streaming import events, settings_for, wait_for
from tests.site.publishers import InstantPublisher
from verifier_site import create_app

FROZEN = IntakeState(True, "ledger under review", "2026-01-25T12:00:00Z", "alice")


def test_the_state_round_trips_in_spanner(cloud) -> None:
    store = cloud.store()
    assert store.intake() == IntakeState.open()
    store.set_intake(FROZEN)
    store.set_intake(FROZEN)  # one row, replaced
    assert cloud.store().intake() == FROZEN
    opened = IntakeState(False, "", "2026-01-25T13:00:00Z", "bob")
    store.set_intake(opened)
    assert store.intake() == opened
    rows = store._query("SELECT COUNT(*) FROM Intake")
    assert rows[0][0] == 1


def test_a_freeze_mid_stream_holds_new_events_and_charges_none_of_them(cloud) -> None:
    before, during, after = events("before", 12), events("during", 15), events("after", 9)
    store = cloud.store()
    result = start(settings_for(cloud))
    try:
        publish_lines(cloud.project, "billing-events", before)
        wait_for(lambda: sum(1 for _ in store.receipts()) == len(before), what="the receipts sent before the freeze")
        store.set_intake(FROZEN)
        publish_lines(cloud.project, "billing-events", during)

        def held() -> list[dict]:
            return [letter for letter in store.dead_letters() if letter["reason"] == INTAKE_FROZEN]

        wait_for(lambda: len(held()) == len(during), what="every event sent while frozen held as a dead letter")
        store.set_intake(IntakeState(False, "", "2026-01-25T13:00:00Z", "bob"))
        publish_lines(cloud.project, "billing-events", after)
        wait_for(
            lambda: sum(1 for _ in store.receipts()) == len(before) + len(after), what="the receipts sent after resume"
        )
    finally:
        stop(result)

    charged = Counter(receipt["idempotent_key"].split("-")[0] for receipt in store.receipts())
    assert charged == {"before": len(before), "after": len(after)}  # nothing sent while frozen was charged
    letters = held()
    assert sorted(letter["raw"].encode() for letter in letters) == sorted(during)  # kept whole
    assert {(letter["customer_id"], letter["idempotent_key"]) for letter in letters} == {
        (event.customer_id, event.idempotent_key) for event in map(parse_event, during)
    }
    assert all("ledger under review" in letter["detail"] for letter in letters)
    assert pipeline_counts(result)["events_held_frozen"] == len(during)


def test_the_site_on_the_google_cloud_store_answers_503_while_frozen(cloud) -> None:
    store = cloud.store()
    key, _ = issue_api_key(store, "cust_1")
    publisher = InstantPublisher()
    app = create_app(
        {
            "STORE_URL": cloud.url,
            "KEYS_FOLDER": str(cloud.keys.folder),
            "TESTING": True,
            "SECRET_KEY": b"s",
            "INGEST_PUBLISHER": publisher,
            "INTAKE_CACHE_SECONDS": 0,
        }
    )
    client = app.test_client()
    store.set_intake(FROZEN)
    bearer = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    refused = client.post("/v1/events", data=event_bytes(), headers=bearer)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "60"
    assert refused.json["error"]["code"] == "intake_frozen" and refused.json["error"]["reason"] == FROZEN.reason
    assert publisher.messages == []
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["intake"]["frozen"] is True
    assert "receipts_intake_frozen 1.0" in client.get("/metrics").get_data(as_text=True)
    assert "New usage is not being charged right now" in client.get("/").get_data(as_text=True)
    store.set_intake(IntakeState(False, "", "2026-01-25T13:00:00Z", "bob"))
    assert client.post("/v1/events", data=event_bytes(), headers=bearer).status_code == 202
