"""Statements on Spanner, Firestore and Cloud Storage (the emulators), through the same
commands as on the embedded store: a period closed on gcp://, listed and exported, a rerun
byte for byte the same, a late receipt on the next statement, each statement a leaf of the
log, its Firestore document and archive object written once, a killed close completed by
its rerun, and the reconciliation's `statements` check clean, then catching a tampered row."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from google.cloud import storage

from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt, export_line
from receipts.statements import statement_id
from receipts.stores.archiving import catch_up, open_writer
from receipts.stores.gcp.statements import STATEMENTS, statement_object_name
from receipts_cli.main import main
from tests.conftest import make_event

pytestmark = pytest.mark.beam


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def charge(store, signer, state: ChainState, key: str, amount: str, timestamp: str, **fields) -> SignedReceipt:
    """One receipt of `state`'s chain, signed, written and archived as the charging job would."""
    event = make_event(customer_id=state.customer_id, idempotent_key=key, amount=amount, timestamp=timestamp, **fields)
    chained = state.append(event, None, signer.kid, now())
    receipt = SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])
    assert [outcome.value for outcome in store.write_receipts([receipt])] == ["written"]
    return receipt


def invoke(cloud, *args: str):
    home = cloud.keys.folder.parent  # the session key ring's home: it signs the statements
    return CliRunner().invoke(main, ["--home", str(home), "--store", cloud.url, *args], catch_exceptions=False)


def exported(cloud, *args: str) -> bytes:
    result = invoke(cloud, "statements", "export", *args)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def archived(cloud, statement: dict) -> bytes | None:
    blob = (
        storage.Client(project="local-emulator")
        .bucket(cloud.location.bucket)
        .get_blob(statement_object_name(statement))
    )
    return blob.download_as_bytes() if blob else None


@pytest.fixture
def october(cloud, signer):
    """Two customers' receipts of October and November, archived; October closed."""
    store = cloud.store()
    chains = {name: ChainState(name) for name in ("cust_a", "cust_b")}
    charge(store, signer, chains["cust_a"], "a-oct", "10.00", "2026-10-03T10:00:00Z")
    charge(store, signer, chains["cust_a"], "a-nov", "2.50", "2026-11-03T10:00:00Z")
    charge(store, signer, chains["cust_b"], "b-oct", "500", "2026-10-10T00:00:00Z", currency="JPY")
    assert catch_up(store, open_writer(cloud.location.archive_url)).ok
    closed = invoke(cloud, "statements", "close", "--period", "2026-10")
    assert closed.exit_code == 0, closed.output
    assert "2 statement(s) issued" in " ".join(closed.output.split())
    return store, chains


def test_close_list_export_rerun_and_a_late_receipt_on_gcp(cloud, signer, october, tmp_path: Path) -> None:
    store, chains = october
    first = exported(cloud)
    a_october, b_october = (json.loads(line) for line in first.split(b"\n") if line)
    assert (a_october["customer_id"], a_october["line_count"], a_october["totals"]["USD"]["net"]) == (
        "cust_a", 1, "10.00",
    )  # fmt: skip
    assert b_october["totals"] == {"JPY": {**b_october["totals"]["JPY"], "net": "500"}}
    again = invoke(cloud, "statements", "close", "--period", "2026-10")
    assert again.exit_code == 0 and "2 issued before" in " ".join(again.output.split())
    assert exported(cloud) == first  # byte for byte

    # The Spanner row, the Firestore document and the archive object say the same.
    document = store._firestore.collection(STATEMENTS).document(a_october["statement_id"]).get().to_dict()
    assert (document["statement_hash"], document["signature"], document["number"]) == (
        a_october["statement_hash"], a_october["signature"], 1,
    )  # fmt: skip
    assert archived(cloud, a_october) == export_line(a_october)

    # Every statement is a leaf of the log, after the receipts it closes over.
    assert store.unlogged_count() == 0
    assert store.logged_through("statements:cust_a") == 1 and store.logged_through("cust_a") == 2
    index = store.log_leaf_index(a_october["statement_id"])
    assert store.log_entries(index, index + 1) == [bytes.fromhex(a_october["statement_hash"])]

    # A receipt of October processed after October closed is a late line of November's.
    charge(store, signer, chains["cust_a"], "a-oct-late", "4.00", "2026-10-31T23:00:00Z")
    assert catch_up(store, open_writer(cloud.location.archive_url)).ok
    november = invoke(cloud, "statements", "close", "--period", "2026-11")
    assert november.exit_code == 0, november.output
    [a_november] = [json.loads(line) for line in exported(cloud, "--customer", "cust_a", "--period", "2026-11")
                    .split(b"\n") if line]  # fmt: skip
    usd = a_november["totals"]["USD"]
    assert (a_november["line_count"], usd["charged"], usd["late_lines"], usd["late_net"]) == (2, "6.50", 1, "4.00")
    assert a_november["previous_statement_hash"] == a_october["statement_hash"]
    assert store.logged_through("statements:cust_a") == 2 and store.unlogged_count() == 0

    listed = invoke(cloud, "statements", "list", "--customer", "cust_a")
    assert listed.exit_code == 0 and "6.50 USD" in listed.output and "10.00 USD" in listed.output

    held = tmp_path / "held.jsonl"
    held.write_bytes(exported(cloud, "--with-receipts"))
    verified = invoke(cloud, "verify", str(held))
    assert verified.exit_code == 0, verified.output
    assert "4 statement(s) verified" in " ".join(verified.output.split())


def test_a_killed_close_is_completed_by_its_rerun(cloud, october) -> None:
    store, _ = october
    first = exported(cloud)
    a_october, b_october = (json.loads(line) for line in first.split(b"\n") if line)
    # Killed after cust_a's commit, before its mirrors; and before cust_b's commit at all.
    store._firestore.collection(STATEMENTS).document(a_october["statement_id"]).delete()
    storage.Client(project="local-emulator").bucket(cloud.location.bucket).blob(
        statement_object_name(a_october)
    ).delete()
    with store._database.batch() as batch:
        from google.cloud import spanner

        batch.delete("Statements", spanner.KeySet(keys=[["cust_b", "2026-10"]]))
    assert store.statement(b_october["statement_id"]) is None
    assert store.closed_periods() == ["2026-10"]

    rerun = invoke(cloud, "statements", "close", "--period", "2026-10")
    assert rerun.exit_code == 0, rerun.output
    assert "1 statement(s) issued, 1 issued before" in " ".join(rerun.output.split())
    assert exported(cloud) == first  # the same close time, the same bytes (RS256 is deterministic)
    assert store._firestore.collection(STATEMENTS).document(a_october["statement_id"]).get().exists
    assert archived(cloud, a_october) == export_line(a_october)
    assert archived(cloud, b_october) == export_line(b_october)
    assert store.statement(statement_id("cust_b", "2026-10")) == b_october


def test_the_buckets_statement_objects_are_written_once(cloud, october) -> None:
    """if-generation-match=0: the same bytes again (a rerun, a retry whose answer was lost)
    are a replay; other bytes under the name are refused, and the object keeps its bytes."""
    from receipts.stores.archives import open_statement_archive
    from receipts.stores.statement_files import StatementArchiveConflict, statement_path

    store, _ = october
    [a_october] = store.statements("cust_a")
    archive = open_statement_archive(cloud.location.archive_url)
    assert archive.paths() == sorted(statement_path(s) for s in store.statements())
    assert archive.write_once(statement_path(a_october), export_line(a_october)) is False
    with pytest.raises(StatementArchiveConflict, match=statement_object_name(a_october)):
        archive.write_once(statement_path(a_october), export_line({**a_october, "line_count": 9}))
    assert archived(cloud, a_october) == export_line(a_october)
    blob = (
        storage.Client(project="local-emulator")
        .bucket(cloud.location.bucket)
        .get_blob(statement_object_name(a_october))
    )
    generation = blob.generation
    rerun = invoke(cloud, "statements", "close", "--period", "2026-10")  # mirrors again: a replay, no new object
    assert rerun.exit_code == 0, rerun.output
    assert (
        storage.Client(project="local-emulator")
        .bucket(cloud.location.bucket)
        .get_blob(statement_object_name(a_october))
        .generation
        == generation
    )


def test_the_reconciliation_checks_statements_and_catches_a_tampered_row(cloud, october, tmp_path: Path) -> None:
    store, _ = october
    report = tmp_path / "report.json"
    clean = invoke(cloud, "reconcile", "--report", str(report))
    assert clean.exit_code == 0, clean.output
    assert json.loads(report.read_text())["discrepancies"] == []

    [a_october] = store.statements("cust_a")
    body = {k: v for k, v in a_october.items() if k not in ("statement_hash", "signature")}
    body["totals"]["USD"]["net"] = "1.00"  # an invoice lowered in Spanner, the signature kept
    with store._database.batch() as batch:
        batch.update(
            "Statements",
            ["CustomerId", "Period", "Body"],
            [["cust_a", "2026-10", json.dumps(body, sort_keys=True, separators=(",", ":"))]],
        )
    tampered = invoke(cloud, "reconcile", "--report", str(report))
    assert tampered.exit_code == 1, tampered.output
    found = {(d["check"], d["customer_id"], d["receipt_id"]) for d in json.loads(report.read_text())["discrepancies"]}
    assert ("statements", "cust_a", a_october["statement_id"]) in found
    assert all(customer == "cust_a" for _, customer, _ in found)


def test_restore_brings_the_statements_back_from_the_archive(cloud, october, tmp_path: Path) -> None:
    store, _ = october
    first = exported(cloud)
    [a_october] = store.statements("cust_a")
    tampered = {k: v for k, v in a_october.items() if k not in ("statement_hash", "signature")}
    tampered["totals"]["USD"]["net"] = "1.00"
    from google.cloud import spanner

    with store._database.batch() as batch:  # one statement changed, one lost, and the period's close lost
        batch.update("Statements", ["CustomerId", "Period", "Body"], [["cust_a", "2026-10", json.dumps(tampered)]])
        batch.delete("Statements", spanner.KeySet(keys=[["cust_b", "2026-10"]]))
        batch.delete("StatementCloses", spanner.KeySet(keys=[["2026-10"]]))
    assert store.closed_periods() == [] and len(list(store.statements())) == 1

    restored = invoke(cloud, "restore", "--report", str(tmp_path / "restore.json"))
    assert restored.exit_code == 0, restored.output
    said = " ".join(restored.output.split())
    assert "Statements: 2 archived, 0 kept as stored, 1 written back, 1 replaced (differed), 1 period close(s)" in said
    assert exported(cloud) == first and store.closed_periods() == ["2026-10"]
    report = tmp_path / "report.json"
    assert invoke(cloud, "reconcile", "--report", str(report)).exit_code == 0, report.read_text()[:2000]

    again = invoke(cloud, "restore", "--report", str(tmp_path / "again.json"))
    assert again.exit_code == 0 and "2 kept as stored, 0 written back, 0 replaced" in " ".join(again.output.split())


LOG_TABLES = {
    "LogState": "SELECT Id, Origin, Size, RootHash, TilesSize FROM LogState",
    "LogMarks": "SELECT CustomerId, LoggedSequence FROM LogMarks",
    "StatementLogMarks": "SELECT CustomerId, LoggedNumber FROM StatementLogMarks",
    "LogLeaves": "SELECT ReceiptId, LeafIndex FROM LogLeaves",
    "LogHashes": "SELECT Chunk, Hashes FROM LogHashes",
    "LogBundles": "SELECT Bundle, Entries, ReceiptIds FROM LogBundles",
    "LogCheckpoints": "SELECT Size, Note FROM LogCheckpoints",
}
WIPED = ("ChainHeads", "IdempotencyKeys", "Balances", "EntitlementUsage", "ChargeCredits", "ArchiveMarks",
         "Statements", "StatementCloses", *LOG_TABLES)  # fmt: skip


def log_rows(store) -> dict[str, list]:
    with store._database.snapshot(multi_use=True) as snapshot:
        return {name: sorted(map(repr, snapshot.execute_sql(sql))) for name, sql in LOG_TABLES.items()}


def test_a_wiped_store_gets_its_statements_back_before_its_log(cloud, signer, october, tmp_path: Path) -> None:
    """Spanner and Firestore lost: the statements come back from the bucket before the log, so
    the log's statement leaves and StatementLogMarks come back too, and the log continues."""
    store, _ = october
    first, logged = exported(cloud), log_rows(store)
    assert len(logged["StatementLogMarks"]) == 2 and len(logged["LogLeaves"]) == 5  # 3 receipts, 2 statements
    for table in WIPED:
        store._database.execute_partitioned_dml(f"DELETE FROM {table} WHERE TRUE")
    for collection in ("receipts", STATEMENTS):
        for document in store._firestore.collection(collection).stream():
            document.reference.delete()
    assert list(store.statements()) == [] and all(rows == [] for rows in log_rows(store).values())

    restored = invoke(cloud, "restore", "--report", str(tmp_path / "restore.json"))
    assert restored.exit_code == 0, restored.output
    said = " ".join(restored.output.split())
    assert "Statements: 2 archived, 0 kept as stored, 2 written back, 0 replaced (differed), 1 period close(s)" in said
    report = json.loads((tmp_path / "restore.json").read_text())
    assert report["log"]["outcome"] == "rebuilt" and report["log"]["size"] == 5, said
    assert exported(cloud) == first and store.closed_periods() == ["2026-10"]
    assert log_rows(store) == logged  # the statements' leaves and marks in their own table
    [a_october] = store.statements("cust_a")
    assert store._firestore.collection(STATEMENTS).document(a_october["statement_id"]).get().exists
    reconciled = invoke(cloud, "reconcile", "--report", str(tmp_path / "reconcile.json"))
    assert reconciled.exit_code == 0, reconciled.output

    again = invoke(cloud, "restore", "--report", str(tmp_path / "again.json"))
    assert again.exit_code == 0 and "2 kept as stored, 0 written back" in " ".join(again.output.split())
    assert log_rows(store) == logged

    # The same log continues: November's statement links to the restored October one, and is a leaf.
    assert catch_up(store, open_writer(cloud.location.archive_url)).ok
    november = invoke(cloud, "statements", "close", "--period", "2026-11")
    assert november.exit_code == 0, november.output
    [a_november] = [s for s in store.statements("cust_a") if s["period"] == "2026-11"]
    assert a_november["previous_statement_hash"] == a_october["statement_hash"]
    assert store.logged_through("statements:cust_a") == 2 and store.unlogged_count() == 0
    grown = log_rows(store)
    assert set(logged["LogLeaves"]) < set(grown["LogLeaves"]) and set(logged["LogCheckpoints"]) < set(
        grown["LogCheckpoints"]
    )


def test_restore_writes_no_statement_that_does_not_verify(cloud, october, tmp_path: Path) -> None:
    store, _ = october
    [b_october] = store.statements("cust_b")
    forged = {**b_october, "line_count": 0}  # the archived copy changed: its signature no longer holds
    storage.Client(project="local-emulator").bucket(cloud.location.bucket).blob(
        statement_object_name(b_october)
    ).upload_from_string(export_line(forged))
    from google.cloud import spanner

    with store._database.batch() as batch:
        batch.delete("Statements", spanner.KeySet(keys=[["cust_b", "2026-10"]]))
    restored = invoke(cloud, "restore", "--report", str(tmp_path / "restore.json"))
    assert restored.exit_code == 1, restored.output
    said = " ".join(restored.output.split())
    assert "STATEMENT NOT RESTORED" in said and f"{b_october['statement_id']} (cust_b, 2026-10): canonical:" in said
    assert store.statement(b_october["statement_id"]) is None and len(list(store.statements())) == 1


def test_the_site_serves_a_customer_its_statements_from_the_gcp_store(cloud, october) -> None:
    from receipts.api_keys import issue_api_key
    from verifier_site import create_app

    store, _ = october
    [a_october] = store.statements("cust_a")
    key, _ = issue_api_key(store, "cust_a")
    app = create_app(
        {"STORE_URL": cloud.url, "KEYS_FOLDER": str(cloud.keys.folder), "TESTING": True, "SECRET_KEY": b"s"}
    )
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    listed = client.get("/v1/customers/cust_a/statements", headers=bearer)
    assert listed.status_code == 200 and listed.get_json()["statements"] == [a_october]
    one = client.get(f"/v1/statements/{a_october['statement_id']}?lines=true", headers=bearer).get_json()
    assert one["verification"]["ok"] is True and [line["sequence"] for line in one["lines"]] == [1]
    b_id = statement_id("cust_b", "2026-10")
    assert client.get(f"/v1/statements/{b_id}", headers=bearer).status_code == 404  # another customer's


def test_the_gcp_and_embedded_stores_issue_the_same_statements_byte_for_byte(
    cloud, signer, signer_url, tmp_path
) -> None:
    """One interface, one job: the same chains closed at the same time give the same bytes."""
    from pipelines.statements import StatementSettings, run
    from receipts.stores import open_store
    from receipts.stores.sqlite import SqliteStore

    embedded = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    gcp = cloud.store()
    for name, events in (("cust_x", ["2026-10-30T23:59:59.5Z", "2026-11-02T00:00:00Z"]), ("cust_y", [])):
        state = ChainState(name)
        for n, timestamp in enumerate(events or ["2026-09-01T00:00:00Z"]):
            chained = state.append(
                make_event(customer_id=name, idempotent_key=f"k{n}", amount="3.10", timestamp=timestamp),
                None,
                signer.kid,
                "2026-11-30T00:00:00.000000Z",
            )
            receipt = SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])
            assert embedded.write_receipts([receipt]) == gcp.write_receipts([receipt])

    def closed(url: str) -> list[bytes]:
        clock = lambda: datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # noqa: E731
        run(StatementSettings(url, "2026-10", signer_url), clock=clock)
        return [export_line(statement) for statement in open_store(url).statements()]

    assert closed(embedded.url) == closed(cloud.url) != []
