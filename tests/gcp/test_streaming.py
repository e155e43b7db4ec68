"""The streaming job end to end on the emulators: Pub/Sub in; Spanner, Firestore and Cloud
Storage out; dead letters on the dead-letter topic and in the store; a restart that loses
nothing and bills nothing twice; an archive that rides out a stopped emulator."""

import json
import time
from collections import Counter
from collections.abc import Callable

from google.api_core.exceptions import DeadlineExceeded
from google.cloud import pubsub_v1

from pipelines.local_runner import stop
from pipelines.streaming import StreamSettings, start
from receipts.events import Event, parse_event
from receipts.keys import Jwks
from receipts.money import parse_amount
from receipts.producer.publisher import publish_lines
from receipts.stores.gcp.bucket_archive import BucketArchive
from receipts.verify import verify_chain
from receipts_cli.console import pipeline_counts
from receipts_cli.sample import sample_events

ARCHIVE_WINDOW = 2


def settings_for(cloud) -> StreamSettings:
    return StreamSettings(
        subscription=cloud.subscription(),
        store=cloud.url,
        keys=str(cloud.keys.folder),
        kid=cloud.keys.current_kid,
        archive=cloud.location.archive_url,
        dead_letter_topic=cloud.topic("billing-events-dead"),
        archive_window_seconds=ARCHIVE_WINDOW,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 120.0, what: str = "the pipeline") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def archived(cloud) -> list[bytes]:
    archive = BucketArchive(cloud.location.archive_url)
    return [line + b"\n" for name in archive.objects() for line in archive.read(name).split(b"\n") if line]


def expected_keys(lines: list[bytes]) -> set[tuple[str, str]]:
    return {(e.customer_id, e.idempotent_key) for e in map(parse_event, lines) if isinstance(e, Event)}


def pull_all(subscription: str) -> list:
    """Every message the subscription holds. A pull that times out found nothing to return:
    the emulator may hold an empty pull until its deadline, and does on a loaded machine."""
    subscriber = pubsub_v1.SubscriberClient()
    messages = []
    while True:
        try:
            response = subscriber.pull(subscription=subscription, max_messages=100, timeout=15)
        except DeadlineExceeded:
            return messages
        if not response.received_messages:
            return messages
        messages.extend(item.message for item in response.received_messages)
        subscriber.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages])


def test_events_become_receipts_in_spanner_firestore_and_the_archive(cloud) -> None:
    lines = sample_events(10)
    keys = expected_keys(lines)
    store = cloud.store()
    publish_lines(cloud.project, "billing-events", lines)
    result = start(settings_for(cloud))
    try:
        wait_for(lambda: sum(1 for _ in store.receipts()) == len(keys), what="every receipt in the ledger")
        wait_for(lambda: len(list(store.dead_letters())) == 11, what="the dead letters")
        wait_for(lambda: len(archived(cloud)) == len(keys), what="the archive")
    finally:
        stop(result)

    receipts = list(store.receipts())
    assert {(r["customer_id"], r["idempotent_key"]) for r in receipts} == keys  # one receipt per event
    assert len(receipts) == len(keys)
    assert all(check.ok for check in verify_chain(receipts, Jwks(cloud.keys.jwks())))
    assert sorted(archived(cloud)) == sorted(
        json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in receipts
    )

    reasons = Counter(letter["reason"] for letter in store.dead_letters())
    assert reasons["idempotency_conflict"] == 1 and sum(reasons.values()) == 11
    published = pull_all(cloud.subscription("billing-events-dead-sub"))
    assert Counter(m.attributes["reason"] for m in published) == reasons
    assert {m.data for m in published} >= {b"\xff\xfe not utf-8"}  # the raw bytes, as received

    counts = pipeline_counts(result)
    assert counts["events_valid"] + counts["events_invalid"] == len(lines)
    assert counts["receipts_written"] == len(keys)
    assert counts["duplicates"] == 9


def events(prefix: str, count: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "idempotent_key": f"{prefix}-{n}",
                "customer_id": f"cust_{n % 3}",
                "amount": f"{1 + n % 7}.{n % 100:02d}",
                "currency": "USD",
                "timestamp": f"2026-01-25T10:{n // 60 % 60:02d}:{n % 60:02d}Z",
            }
        ).encode()
        for n in range(count)
    ]


def test_a_restarted_job_loses_nothing_and_bills_nothing_twice(cloud) -> None:
    first, second = events("a", 60), events("b", 60)
    store = cloud.store()
    receipt_of = {}
    for line in first + second:
        event = parse_event(line)
        receipt_of[event.receipt_id] = line

    publish_lines(cloud.project, "billing-events", first)
    job = start(settings_for(cloud))
    wait_for(lambda: sum(1 for _ in store.receipts()) >= 20, what="the first receipts")
    publish_lines(cloud.project, "billing-events", second)
    stop(job)  # mid-stream: some of the second half may have been pulled, not charged

    # A new job, empty Beam state, same subscription. The producer republishes what has no
    # receipt yet (it knows every receipt_id at publish time) and, as retries do, some that have.
    stored = {r["receipt_id"] for r in store.receipts()}
    missing = [line for rid, line in receipt_of.items() if rid not in stored]
    retries = [receipt_of[rid] for rid in sorted(stored)[:15]]
    job = start(settings_for(cloud))
    try:
        publish_lines(cloud.project, "billing-events", missing + retries)
        wait_for(lambda: sum(1 for _ in store.receipts()) == len(receipt_of), what="a receipt for every event")
        wait_for(lambda: pipeline_counts(job)["duplicates"] >= len(retries), what="the retries")
    finally:
        stop(job)

    receipts = list(store.receipts())
    assert sorted(r["receipt_id"] for r in receipts) == sorted(receipt_of)  # exactly one each
    assert all(check.ok for check in verify_chain(receipts, Jwks(cloud.keys.jwks())))
    for customer in {r["customer_id"] for r in receipts}:
        chain = [r for r in receipts if r["customer_id"] == customer]
        assert [r["sequence"] for r in chain] == list(range(1, len(chain) + 1))  # no gap
        total = sum(parse_amount(r["amount"], "USD") for r in chain if r["status"] == "accepted")
        assert parse_amount(chain[-1]["balance_after"], "USD") == total
        assert store.load_chain(customer).balances == {"USD": total}


def test_the_archive_waits_out_a_stopped_storage_emulator(cloud, emulators) -> None:
    lines = events("c", 30)
    store = cloud.store()
    stopped = emulators.stop("storage")
    try:
        publish_lines(cloud.project, "billing-events", lines)
        job = start(settings_for(cloud))
        time.sleep(ARCHIVE_WINDOW + 4)  # a window closes while Cloud Storage is down: its write backs off
    finally:
        emulators.start(stopped)
    try:
        wait_for(lambda: sum(1 for _ in store.receipts()) == len(lines), what="every receipt")
        wait_for(lambda: len(archived(cloud)) == len(lines), what="the archive after the restart")
    finally:
        stop(job)
    assert sorted(json.loads(line)["receipt_id"] for line in archived(cloud)) == sorted(
        r["receipt_id"] for r in store.receipts()
    )
