"""Who sent it: every event POST /v1/events accepts is recorded with the API key id, the
client address (the forwarded one only behind TRUSTED_PROXIES) and the time; the receipt's
owner sees it on the page and in the evidence bundle; the address goes after its retention
and the key id stays (verifier_site/submissions.py, receipts/stores/sqlite_submissions.py)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.api_keys import issue_api_key, key_id_of
from receipts.canonical import receipt_id
from receipts.stores.sqlite import SqliteStore
from receipts.submissions import UNKNOWN_ADDRESS, client_address, new_submission
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.site.conftest import Site
from tests.site.publishers import ChargingPublisher, InstantPublisher
from verifier_site.submissions import DIRECT

T0 = datetime(2026, 3, 1, 9, 30, 0, 123000, tzinfo=UTC)
PEER = "198.51.100.7"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def charging(make_site, signer, clock: Clock):
    """make_charging(**config) -> a site whose Pub/Sub charges each event into its store at once."""

    def build(**config) -> Site:
        site = make_site(SUBMISSION_CLOCK=clock, INGEST_PUBLISHER=InstantPublisher(), **config)
        publisher = ChargingPublisher(site.store, signer, clock=lambda: clock.at + timedelta(seconds=1))
        site.app.extensions["ingest"].transport = publisher
        site.extra["publisher"] = publisher
        return site

    return build


def post(site: Site, body: bytes, customer: str = "cust_1", peer: str = PEER, key: str | None = None, **headers):
    auth = {"Authorization": f"Bearer {key or site.api_keys[customer]}"}
    return site.client.post(
        "/v1/events",
        data=body,
        headers={**auth, "Content-Type": "application/json", **headers},
        environ_base={"REMOTE_ADDR": peer},
    )


def key_id(site: Site, customer: str = "cust_1") -> str:
    found = key_id_of(site.api_keys[customer])
    assert found is not None
    return found


def evidence(site: Site, rid: str, customer: str = "cust_1"):
    return site.client.get(f"/v1/receipts/{rid}/evidence?format=json", headers=site.bearer(customer))


def test_an_accepted_event_is_recorded_and_its_owner_sees_key_address_and_time(charging) -> None:
    site = charging()
    answer = post(site, event_bytes(idempotent_key="k-1"))
    assert answer.status_code == 202, answer.json
    rid = receipt_id("cust_1", "k-1")
    record = site.store.submission(rid)
    assert record is not None
    assert (record.key_id, record.client_address, record.submitted_at) == (key_id(site), PEER, T0)
    assert record.address_until == T0 + timedelta(days=90)
    bundle = evidence(site, rid)
    assert bundle.status_code == 200
    submission = bundle.json["submission"]
    assert submission["source"] == "api" and submission["same_event"] is True
    assert (submission["key_id"], submission["client_address"]) == (key_id(site), PEER)
    assert submission["submitted_at"] == "2026-03-01T09:30:00.123Z"
    assert "re-post" not in submission["summary"]
    site.sign_in(receipt_id=rid)
    page = site.client.get(f"/receipts/{rid}").get_data(as_text=True)
    assert f"with API key {key_id(site)} from {PEER}" in page
    printable = site.client.get(f"/receipts/{rid}/evidence").get_data(as_text=True)
    assert f"from {PEER}" in printable and "not part of the signed receipt" in printable
    zipped = site.client.get(f"/receipts/{rid}/evidence.zip")
    assert zipped.status_code == 200


def test_another_customers_key_sees_nothing_of_it(charging) -> None:
    site = charging()
    assert post(site, event_bytes(idempotent_key="k-1")).status_code == 202
    rid = receipt_id("cust_1", "k-1")
    theirs = evidence(site, rid, customer="cust_2")
    assert theirs.status_code == 404 and PEER not in theirs.get_data(as_text=True)
    site.sign_in("cust_2")
    page = site.client.get(f"/receipts/{rid}")
    assert page.status_code == 404 and PEER not in page.get_data(as_text=True)


def test_a_receipt_published_to_pubsub_directly_says_so(site: Site) -> None:
    rid = site.receipts["cust_1"][0]["receipt_id"]
    assert evidence(site, rid).json["submission"] == {"source": "pubsub", "summary": DIRECT}
    site.sign_in(receipt_id=rid)
    assert DIRECT in site.client.get(f"/receipts/{rid}").get_data(as_text=True)


def test_the_first_accepted_submission_stays_and_a_repost_adds_nothing(charging, clock: Clock) -> None:
    site = charging()
    second_key, _ = issue_api_key(site.store, "cust_1")
    assert post(site, event_bytes(idempotent_key="k-1")).status_code == 202
    clock.at = T0 + timedelta(hours=1)
    again = post(site, event_bytes(idempotent_key="k-1"), peer="192.0.2.44", key=second_key)
    assert again.status_code == 202
    record = site.store.submission(receipt_id("cust_1", "k-1"))
    assert (record.key_id, record.client_address, record.submitted_at) == (key_id(site), PEER, T0)


def test_a_repost_of_a_receipt_made_from_pubsub_is_not_taken_for_its_cause(ingest_site: Site, clock) -> None:
    site = ingest_site
    site.app.config["SUBMISSION_CLOCK"] = clock
    first = site.receipts["cust_1"][0]  # charged from Pub/Sub directly, processed before T0
    body = event_bytes(
        idempotent_key=first["idempotent_key"],
        amount=first["amount"],
        timestamp=first["event_timestamp"],
        usage_description=first["usage_description"],
    )
    assert post(site, body).status_code == 202
    summary = evidence(site, first["receipt_id"]).json["submission"]["summary"]
    assert f"after this receipt was processed ({first['processed_at']}): a re-post, which charged nothing" in summary


def test_a_submission_of_another_event_under_the_same_key_is_flagged(ingest_site: Site) -> None:
    site = ingest_site
    first = site.receipts["cust_1"][0]
    assert post(site, event_bytes(idempotent_key=first["idempotent_key"], amount="999.00")).status_code == 202
    submission = evidence(site, first["receipt_id"]).json["submission"]
    assert submission["same_event"] is False and "this receipt's event came another way" in submission["summary"]


@pytest.mark.parametrize(
    "trusted, forwarded, recorded",
    [
        (0, "203.0.113.9", PEER),  # no trusted proxy: the header is the client's own words, ignored
        (0, "1.2.3.4, 203.0.113.9", PEER),
        (1, "203.0.113.9", "203.0.113.9"),  # the proxy appended the peer it saw
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a spoofed first hop is not the one counted
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),  # load balancer, then Cloud Run
        (1, "</script><b>x</b>", UNKNOWN_ADDRESS),  # not an IP address: never the raw text
        (1, "2001:DB8:0:0::1", "2001:db8::1"),  # one client, one text
    ],
)
def test_the_recorded_address_is_the_peer_or_the_trusted_forwarded_one(
    charging, trusted: int, forwarded: str, recorded: str
) -> None:
    site = charging(TRUSTED_PROXIES=trusted)
    answer = post(site, event_bytes(idempotent_key="k-1"), **{"X-Forwarded-For": forwarded})
    assert answer.status_code == 202
    rid = receipt_id("cust_1", "k-1")
    assert site.store.submission(rid).client_address == recorded
    site.sign_in(receipt_id=rid)
    page = site.client.get(f"/receipts/{rid}").get_data(as_text=True)
    assert f"from {recorded} (kept until" in page and "<b>x</b>" not in page


def test_after_the_retention_the_address_goes_and_the_key_id_stays(charging, clock: Clock) -> None:
    site = charging(SUBMISSION_ADDRESS_DAYS=7)
    assert post(site, event_bytes(idempotent_key="k-1")).status_code == 202
    rid = receipt_id("cust_1", "k-1")
    assert evidence(site, rid).json["submission"]["address_until"] == "2026-03-08T09:30:00Z"
    clock.at = T0 + timedelta(days=7)
    shown = evidence(site, rid).json["submission"]
    assert shown["client_address"] is None and shown["key_id"] == key_id(site)  # not shown, even before a scrub
    assert "from an address dropped after its retention" in shown["summary"]
    assert site.store.submission(rid).client_address == PEER  # still stored until a scrub (or a new submission)
    assert post(site, event_bytes(idempotent_key="k-2")).status_code == 202  # a new submission scrubs the old ones
    kept = site.store.submission(rid)
    assert kept.client_address is None and kept.address_until is None
    assert (kept.key_id, kept.submitted_at) == (key_id(site), T0)
    assert site.store.submission(receipt_id("cust_1", "k-2")).client_address == PEER


def test_receipts_intake_scrub_drops_addresses_and_keeps_key_ids(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    now = datetime.now(UTC)
    old = new_submission(
        "r_" + "a" * 26, "cust_1", "0123456789abcdef", "0" * 64, PEER, now - timedelta(days=91), timedelta(days=90)
    )
    recent = new_submission(
        "r_" + "b" * 26, "cust_1", "0123456789abcdef", "1" * 64, PEER, now - timedelta(days=10), timedelta(days=90)
    )
    assert store.add_submissions([old, recent]) == 2
    assert store.add_submissions([old, recent]) == 0  # again: nothing changes

    def scrub(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--home", str(tmp_path / "home"), "--store", store.url, "intake", "scrub", *args]
        )
        assert result.exit_code == 0, result.output
        return result.output

    assert "Dropped 1 client address(es) past their retention" in scrub()
    assert store.submission(old.receipt_id).client_address is None
    assert store.submission(old.receipt_id).key_id == "0123456789abcdef"
    assert store.submission(recent.receipt_id).client_address == PEER
    assert "Dropped 0 " in scrub()  # running it again changes nothing
    assert "Dropped 1 client address(es) past their retention or older than 7 days" in scrub("--retention-days", "7")
    assert store.submission(recent.receipt_id).client_address is None
    assert store.submission(recent.receipt_id).event_sha256 == "1" * 64
    assert CliRunner().invoke(main, ["--store", store.url, "intake", "scrub", "--retention-days", "0"]).exit_code == 2


def test_when_the_record_cannot_be_written_the_post_says_so_and_a_retry_records_it(charging, monkeypatch) -> None:
    site = charging()

    def down(self, records):
        raise OSError("disk I/O error")

    with monkeypatch.context() as patched:
        patched.setattr(SqliteStore, "add_submissions", down)
        failed = post(site, event_bytes(idempotent_key="k-1"))
    assert failed.status_code == 503 and failed.json["error"]["code"] == "submission_not_recorded"
    assert "send the same event again" in failed.json["error"]["message"] and failed.headers["Retry-After"] == "1"
    assert post(site, event_bytes(idempotent_key="k-1")).status_code == 202
    assert site.store.submission(receipt_id("cust_1", "k-1")).client_address == PEER


@pytest.mark.parametrize("days", [0, -1, 5000])
def test_a_retention_out_of_bounds_stops_the_site_being_built(make_site, days: int) -> None:
    with pytest.raises(ValueError, match="retention"):
        make_site(SUBMISSION_ADDRESS_DAYS=days)


def test_client_address_normalizes_or_refuses() -> None:
    assert client_address(" 192.0.2.1 ") == "192.0.2.1"
    assert client_address("::ffff:192.0.2.1") == "::ffff:c000:201"
    assert [client_address(text) for text in (None, "", "unix:", "1.2.3.4.5", "fe80::1%" + "x" * 80)] == [
        UNKNOWN_ADDRESS
    ] * 5
