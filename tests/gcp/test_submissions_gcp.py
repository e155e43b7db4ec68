"""Who sent it, on the Spanner emulator: Submissions (kept) and SubmissionAddresses (a row
deletion policy at AddressUntil), the first submission kept, the scrub dropping addresses
and keeping key ids; and the site on the Google Cloud store answering POST /v1/events?wait
with the receipt and showing the submission in the evidence bundle."""

from datetime import UTC, datetime, timedelta

from receipts.api_keys import issue_api_key, key_id_of
from receipts.canonical import receipt_id
from receipts.submissions import new_submission
from tests.conftest import event_bytes
from tests.site.publishers import ChargingPublisher, InstantPublisher
from verifier_site import create_app

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)
DAYS_90 = timedelta(days=90)


def test_the_first_submission_stays_and_a_scrub_keeps_the_key_id(cloud) -> None:
    store = cloud.store()
    first = new_submission("r_" + "a" * 26, "cust_1", "0123456789abcdef", "0" * 64, "198.51.100.7", T0, DAYS_90)
    other = new_submission("r_" + "b" * 26, "cust_1", "0123456789abcdef", "1" * 64, "2001:db8::1", T0, DAYS_90)
    later = new_submission(first.receipt_id, "cust_1", "fedcba9876543210", "0" * 64, "192.0.2.9", T0 + DAYS_90, DAYS_90)
    assert store.add_submissions([first, first]) == 1  # one per receipt id, even within one call
    assert store.add_submissions([later, other]) == 1  # the re-post adds nothing; the other is new
    assert store.submission(first.receipt_id) == first
    assert store.submission(other.receipt_id) == other
    assert store.submission("r_" + "c" * 26) is None

    assert store.scrub_submission_addresses(T0 + timedelta(days=89)) == 0  # not due yet
    assert store.scrub_submission_addresses(T0 + DAYS_90) == 2
    for record in (first, other):
        kept = store.submission(record.receipt_id)
        assert kept is not None and kept.client_address is None and kept.address_until is None
        assert (kept.key_id, kept.submitted_at, kept.event_sha256) == (record.key_id, T0, record.event_sha256)
    assert store.scrub_submission_addresses(T0 + DAYS_90) == 0  # again: nothing left to drop

    recent = new_submission("r_" + "d" * 26, "cust_1", "0123456789abcdef", "2" * 64, "192.0.2.1", T0, DAYS_90)
    store.add_submissions([recent])
    assert store.scrub_submission_addresses(T0, submitted_before=T0 + timedelta(seconds=1)) == 1  # a shorter retention
    assert store.submission(recent.receipt_id).key_id == "0123456789abcdef"


def test_the_addresses_table_has_the_deletion_policy_and_the_submissions_none(cloud) -> None:
    store = cloud.store()
    rows = store._query(
        "SELECT TABLE_NAME, ROW_DELETION_POLICY_EXPRESSION FROM INFORMATION_SCHEMA.TABLES "
        "WHERE TABLE_NAME IN ('Submissions', 'SubmissionAddresses')"
    )
    policies = {name: expression for name, expression in rows}
    assert policies["Submissions"] is None  # the key id is kept as long as the receipt
    assert policies["SubmissionAddresses"].replace(" ", "") == "OLDER_THAN(AddressUntil,INTERVAL0DAY)"


def test_the_site_on_the_cloud_store_waits_for_the_receipt_and_shows_who_sent_it(cloud, signer) -> None:
    store = cloud.store()
    key, _ = issue_api_key(store, "cust_1")
    other_key, _ = issue_api_key(store, "cust_2")
    app = create_app(
        {
            "STORE_URL": cloud.url,
            "KEYS_FOLDER": str(cloud.keys.folder),
            "TESTING": True,
            "SECRET_KEY": b"s",
            "INGEST_PUBLISHER": InstantPublisher(),
            "TRUSTED_PROXIES": 1,
        }
    )
    app.extensions["ingest"].transport = ChargingPublisher(store, signer)  # the pipeline, at once
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {key}", "X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
    answer = client.post("/v1/events?wait=5", data=event_bytes(idempotent_key="w-1", amount="4.00"), headers=bearer)
    assert answer.status_code == 200, answer.json
    rid = receipt_id("cust_1", "w-1")
    fetched = client.get(f"/v1/receipts/{rid}", headers=bearer)
    assert answer.json == fetched.json and answer.json["balance_after"] == "4.00"
    again = client.post("/v1/events?wait=5", data=event_bytes(idempotent_key="w-1", amount="4.00"), headers=bearer)
    assert again.status_code == 200 and again.json == fetched.json  # the duplicate, at once

    bundle = client.get(f"/v1/receipts/{rid}/evidence?format=json", headers=bearer).json
    assert bundle["submission"]["key_id"] == key_id_of(key)
    assert bundle["submission"]["client_address"] == "203.0.113.9"  # the trusted hop's, not the spoofed one
    theirs = client.get(f"/v1/receipts/{rid}/evidence?format=json", headers={"Authorization": f"Bearer {other_key}"})
    assert theirs.status_code == 404
