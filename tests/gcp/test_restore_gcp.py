"""`receipts restore` on Spanner, Firestore and Cloud Storage (the emulators): a ledger made by
the batch job, damaged in every store (Firestore documents deleted and edited, Spanner chain
head, balance and idempotency rows deleted or drifted), reconciliation fails, restore, it
passes; a second restore writes nothing; a tampered archive object restores its customer up
to the receipt before it; idempotency rows keep their processed_at (the TTL) and are not
written once past it."""

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from pipelines.batch import Settings
from pipelines.batch import run as run_batch
from receipts.canonical import canonical_bytes
from receipts.stores.gcp.bucket_archive import BucketArchive
from receipts_cli.main import main
from receipts_cli.sample import sample_events
from tests.reconcile_helpers import signed_chain


def cli(cloud, tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    home = cloud.keys.folder.parent  # the session key ring's home: it signed the receipts
    report = tmp_path / f"{args[0]}.json"
    result = CliRunner().invoke(main, ["--home", str(home), "--store", cloud.url, *args, "--report", str(report)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(report.read_text()), result.output


def made_by_the_batch_job(cloud, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(sample_events(10)) + b"\n")
    keys = cloud.keys
    run_batch(Settings(str(events), cloud.url, str(keys.folder), keys.current_kid, cloud.location.archive_url))


def chain_of(cloud, customer: str) -> list[dict]:
    return list(cloud.store().receipts(customer))


def state_rows(cloud) -> dict[str, list]:
    database = cloud.store()._database
    tables = {
        "ChainHeads": "SELECT CustomerId, Sequence, ReceiptHash, ReceiptId FROM ChainHeads",
        "Balances": "SELECT CustomerId, Currency, Balance, AsOfSequence FROM Balances",
        "EntitlementUsage": "SELECT CustomerId, EntitlementId, UsedMinor, AsOfSequence FROM EntitlementUsage",
        "IdempotencyKeys": "SELECT CustomerId, IdempotentKey, ReceiptId, Sequence, ReceiptHash, CreatedAt "
        "FROM IdempotencyKeys",
        "ArchiveMarks": "SELECT CustomerId, PlannedSequence FROM ArchiveMarks",
    }
    with database.snapshot(multi_use=True) as snapshot:
        return {name: sorted(map(tuple, snapshot.execute_sql(sql))) for name, sql in tables.items()}


def test_a_damaged_store_is_restored_and_then_reconciles(cloud, tmp_path: Path) -> None:
    made_by_the_batch_job(cloud, tmp_path)
    store = cloud.store()
    globex, acme = chain_of(cloud, "cust_globex"), chain_of(cloud, "cust_acme")
    documents = store._firestore.collection("receipts")
    documents.document(globex[2]["receipt_id"]).delete()
    body = {k: v for k, v in acme[1].items() if k not in ("receipt_hash", "signature")}
    documents.document(acme[1]["receipt_id"]).update({"body": canonical_bytes({**body, "amount": "0.01"}).decode()})

    def damage(transaction) -> None:
        transaction.delete("ChainHeads", spanner.KeySet(keys=[["cust_hooli"]]))
        transaction.delete(
            "IdempotencyKeys",
            spanner.KeySet(keys=[["cust_initech", chain_of(cloud, "cust_initech")[0]["idempotent_key"]]]),
        )
        [(balance,)] = transaction.execute_sql(
            "SELECT Balance FROM Balances WHERE CustomerId = @c", {"c": "cust_globex"}, {"c": param_types.STRING}
        )
        transaction.update(
            "Balances", ["CustomerId", "Currency", "Balance"], [["cust_globex", "EUR", balance + Decimal("0.01")]]
        )

    store._database.run_in_transaction(damage)
    status, _, _ = cli(cloud, tmp_path, "reconcile")
    assert status == 1

    status, report, output = cli(cloud, tmp_path, "restore")
    assert status == 0, output
    assert report["archive"] == cloud.location.archive_url and report["customers_restored"] == 5
    assert (report["written"]["ledger_written"], report["written"]["ledger_replaced"]) == (1, 1)
    assert report["written"]["idempotency_written"] == 1 and report["written"]["state_written"] == 2
    restored = documents.document(acme[1]["receipt_id"]).get().to_dict()
    assert json.loads(restored["body"])["amount"] == acme[1]["amount"] and "restored_at" in restored
    status, _, output = cli(cloud, tmp_path, "reconcile")
    assert status == 0, output
    [row] = [
        r for r in state_rows(cloud)["IdempotencyKeys"] if r[2] == chain_of(cloud, "cust_initech")[0]["receipt_id"]
    ]
    processed = chain_of(cloud, "cust_initech")[0]["processed_at"]
    assert row[5] == datetime.fromisoformat(processed.replace("Z", "+00:00"))  # the TTL counts from the charge

    before = state_rows(cloud)
    status, again, _ = cli(cloud, tmp_path, "restore")
    assert status == 0 and again["customers_changed"] == 0 and set(again["written"].values()) == {0}
    assert state_rows(cloud) == before


def test_a_tampered_archive_object_restores_its_customer_up_to_the_receipt_before_it(cloud, tmp_path: Path) -> None:
    made_by_the_batch_job(cloud, tmp_path)
    store = cloud.store()
    archive = BucketArchive(cloud.location.archive_url)
    target = chain_of(cloud, "cust_globex")[2]  # sequence 3
    for name in archive.objects():
        data = archive.read(name)
        if target["receipt_id"].encode() in data:
            lines = [
                json.dumps({**json.loads(line), "amount": "0.01"}).encode()
                if target["receipt_id"].encode() in line
                else line
                for line in data.split(b"\n")
            ]
            archive._bucket.blob(name).upload_from_string(b"\n".join(lines))
    for receipt in chain_of(cloud, "cust_globex"):  # the store lost the customer entirely
        store._firestore.collection("receipts").document(receipt["receipt_id"]).delete()
    customer = spanner.KeySet(ranges=[spanner.KeyRange(start_closed=["cust_globex"], end_closed=["cust_globex"])])

    def lose(transaction) -> None:
        for table in ("ChainHeads", "Balances", "IdempotencyKeys"):
            transaction.delete(table, customer)

    store._database.run_in_transaction(lose)

    status, report, output = cli(cloud, tmp_path, "restore")
    assert status == 1, output
    [cut] = report["cut_short"]
    assert (cut["customer_id"], cut["sequence"], cut["restored_through"]) == ("cust_globex", 3, 2)
    assert cut["check"] == "canonical" and cut["where"].startswith("gs://")
    assert [r["sequence"] for r in chain_of(cloud, "cust_globex")] == [1, 2]  # nothing past the cut
    state = store.customer_state("cust_globex")
    assert state.head_sequence == 2 and sorted(row.sequence for row in state.idempotency) == [1, 2]
    assert report["customers_restored"] == 5


def test_idempotency_rows_past_the_ttl_are_not_written(cloud, signer, tmp_path: Path) -> None:
    chain = signed_chain(signer, 3, customer="cust_old")  # processed 2026-01-25: long past 30 days
    store = cloud.store()
    outcome = store.restore_chain("cust_old", [r.export() for r in chain])
    assert (outcome.ledger_written, outcome.idempotency_written, outcome.idempotency_expired) == (3, 0, 3)
    assert store.customer_state("cust_old").head_sequence == 3
    again = store.restore_chain("cust_old", [r.export() for r in chain])
    assert again.changed == 0 and again.idempotency_expired == 3
    marks = state_rows(cloud)["ArchiveMarks"]
    assert ("cust_old", 3) in marks
