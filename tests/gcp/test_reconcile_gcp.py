"""`receipts reconcile` on Spanner, Firestore and Cloud Storage (the emulators): the store's
reads for it, a clean ledger made by the batch job, one tamper per store (an amount edited
and a receipt deleted in Firestore, a balance drifted in Spanner, an archive object's line
removed) each named, the cut taken at a Spanner read timestamp, and the alert on Pub/Sub."""

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from google.cloud import pubsub_v1
from google.cloud.spanner_v1 import param_types

from pipelines.batch import Settings
from pipelines.batch import run as run_batch
from receipts.canonical import canonical_bytes
from receipts.records import SignedReceipt
from receipts.stores.gcp.bucket_archive import BucketArchive
from receipts_cli.main import main
from receipts_cli.sample import sample_events
from tests.reconcile_helpers import signed_chain

OBJECT = "receipts/2026/01/25/100000-100500-shard-00-of-01.jsonl"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seed(cloud, signer, count: int = 4) -> dict[str, list[SignedReceipt]]:
    """Two customers' chains committed to Spanner and Firestore, and archived in one object
    (the archive's outbox marked as done)."""
    store = cloud.store()
    chains = {c: signed_chain(signer, count, customer=c, processed_at=[now()] * count) for c in ("cust_a", "cust_b")}
    for chain in chains.values():
        store.write_receipts(chain)
    data = b"".join(receipt.export_line() for chain in chains.values() for receipt in chain)
    BucketArchive(cloud.location.archive_url).write_once(OBJECT, data)
    for batch in store.plan_archive():  # the outbox learns that they are archived (in OBJECT, by hand)
        store.finish_archive_batch(batch.batch_id)
    return chains


def reconcile(cloud, tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    home = cloud.keys.folder.parent  # the session key ring's home: it signed the receipts
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        main, ["--home", str(home), "--store", cloud.url, "reconcile", "--report", str(report), *args]
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(report.read_text()), result.output


def named(report: dict) -> set[tuple[str, str, str | None, str]]:
    return {(d["check"], d["customer_id"], d["receipt_id"], d["field"]) for d in report["discrepancies"]}


def test_the_store_reads_rows_as_stored_and_at_a_cut(cloud, signer, tmp_path: Path) -> None:
    store = cloud.store()
    later = (datetime.now(UTC) + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # made after the cut
    chain = signed_chain(signer, 5, customer="cust_c", processed_at=[now()] * 3 + [later] * 2)
    store.write_receipts(chain[:3])
    time.sleep(1.0)
    cut = now()
    time.sleep(1.0)
    store.write_receipts(chain[3:])
    store.write_receipts(signed_chain(signer, 1, customer="A-1", processed_at=[later]))
    assert list(store.customers()) == ["A-1", "cust_c"] and list(store.customers("B", None)) == ["cust_c"]

    at_cut, latest = store.customer_state("cust_c", cut), store.customer_state("cust_c")
    assert (at_cut.head_sequence, len(at_cut.idempotency)) == (3, 3)
    assert (latest.head_sequence, latest.head_hash) == (5, chain[4].chained.receipt_hash)
    assert latest.balances["USD"].as_of_sequence == 5 and Decimal(latest.balances["USD"].amount) == Decimal("16.76")
    row = sorted(latest.idempotency, key=lambda r: r.sequence)[0]
    assert (row.receipt_id, row.sequence, row.receipt_hash) == (chain[0].receipt_id, 1, chain[0].chained.receipt_hash)
    assert row.created_at is not None and latest.idempotency_ttl_seconds == 30 * 24 * 3600

    entries = list(store.ledger_entries("cust_c"))
    assert [e.receipt for e in entries] == [r.export() for r in chain]
    assert entries[0].stored["document_id"] == chain[0].receipt_id and entries[0].stored["sequence"] == 1

    status, report, output = reconcile(cloud, tmp_path, "--source", "store", "--as-of", cut)
    assert status == 0, output
    assert report["receipts"] == 3  # cust_c's 4 and 5, A-1's 1 are after the cut; the log holds none of the 6 yet
    assert report["set_aside"] == {"after_cut": 3, "not_yet_logged": 6}


def test_a_ledger_made_by_the_batch_job_reconciles_and_no_alert_is_sent(cloud, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(sample_events(10)) + b"\n")
    keys = cloud.keys
    run_batch(Settings(str(events), cloud.url, str(keys.folder), keys.current_kid, cloud.location.archive_url))
    alerts = alert_subscription(cloud)

    status, report, output = reconcile(cloud, tmp_path, "--alert-topic", "reconcile-alerts")
    assert status == 0, output
    assert report["ok"] is True and report["customers"] == 5 and report["receipts"] == 50
    assert report["archive"] == cloud.location.archive_url  # the store's bucket by default
    assert report["checks"]["stores"]["receipts"] == 50 and report["discrepancies_found"] == 0
    assert pull(alerts) == []


def test_an_amount_edited_in_firestore_is_named(cloud, signer, tmp_path: Path) -> None:
    chains = seed(cloud, signer)
    receipt = chains["cust_a"][1].export()
    body = {k: v for k, v in receipt.items() if k not in ("receipt_hash", "signature")}
    document = cloud.store()._firestore.collection("receipts").document(receipt["receipt_id"])
    document.update({"body": canonical_bytes({**body, "amount": "0.01"}).decode()})
    status, report, _ = reconcile(cloud, tmp_path)
    assert status == 1
    assert ("signatures", "cust_a", receipt["receipt_id"], "amount") in named(report)
    assert ("stores", "cust_a", receipt["receipt_id"], "amount") in named(report)  # the archived copy differs


def test_a_receipt_deleted_from_firestore_is_named(cloud, signer, tmp_path: Path) -> None:
    chains = seed(cloud, signer)
    deleted, after = chains["cust_b"][1].receipt_id, chains["cust_b"][2].receipt_id
    cloud.store()._firestore.collection("receipts").document(deleted).delete()
    status, report, output = reconcile(cloud, tmp_path)
    assert status == 1
    assert ("stores", "cust_b", deleted, "ledger") in named(report)
    assert ("chain", "cust_b", after, "previous_receipt_hash") in named(report)
    assert "in the archive and the state store, missing from the ledger" in output


def test_a_balance_drifted_in_spanner_is_named(cloud, signer, tmp_path: Path) -> None:
    chains = seed(cloud, signer)

    def drift(transaction) -> None:
        [(balance,)] = transaction.execute_sql(
            "SELECT Balance FROM Balances WHERE CustomerId = @c", {"c": "cust_a"}, {"c": param_types.STRING}
        )
        transaction.update(
            "Balances", ["CustomerId", "Currency", "Balance"], [["cust_a", "USD", balance + Decimal("0.01")]]
        )

    cloud.store()._database.run_in_transaction(drift)
    status, report, _ = reconcile(cloud, tmp_path)
    assert status == 1 and report["discrepancies_found"] == 1
    assert named(report) == {("money", "cust_a", chains["cust_a"][3].receipt_id, "balances[USD]")}


def test_an_archive_object_line_removed_is_named(cloud, signer, tmp_path: Path) -> None:
    chains = seed(cloud, signer)
    removed = chains["cust_b"][2].receipt_id
    blob = BucketArchive(cloud.location.archive_url)._bucket.blob(OBJECT)
    lines = blob.download_as_bytes().split(b"\n")
    blob.upload_from_string(b"\n".join(line for line in lines if removed.encode() not in line))
    status, report, _ = reconcile(cloud, tmp_path)
    assert status == 1 and named(report) == {("stores", "cust_b", removed, "archive")}
    assert reconcile(cloud, tmp_path, "--source", "store")[0] == 0  # the ledger and the state store agree


def test_a_discrepancy_publishes_one_alert(cloud, signer, tmp_path: Path) -> None:
    chains = seed(cloud, signer)
    deleted = chains["cust_a"][3].receipt_id
    cloud.store()._firestore.collection("receipts").document(deleted).delete()
    alerts = alert_subscription(cloud)
    status, report, _ = reconcile(cloud, tmp_path, "--alert-topic", "reconcile-alerts")
    assert status == 1
    [message] = pull(alerts)
    assert message.attributes["kind"] == "receipts.reconciliation"
    assert message.attributes["discrepancies"] == str(report["discrepancies_found"])
    summary = json.loads(message.data)
    assert summary["store"] == cloud.url and summary["report"] == str(tmp_path / "report.json")
    assert deleted in {d["receipt_id"] for d in summary["first_discrepancies"]}


def alert_subscription(cloud) -> str:
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(cloud.project, "reconcile-alerts")
    publisher.create_topic(name=topic)
    subscription = subscriber.subscription_path(cloud.project, "reconcile-alerts-sub")
    subscriber.create_subscription(request={"name": subscription, "topic": topic})
    return subscription


def pull(subscription: str) -> list:
    subscriber = pubsub_v1.SubscriberClient()
    response = subscriber.pull(subscription=subscription, max_messages=10, timeout=10)
    if response.received_messages:
        subscriber.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages])
    return [item.message for item in response.received_messages]
