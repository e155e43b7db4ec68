"""The reconciliation's Beam transforms (TestPipeline + assert_that) and the whole job built
on a SQLite store and an archive folder written by the store and archive code."""

import itertools
import json
import os
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.reconcile import ReconcileSettings, build
from receipts.reconciliation import Scope
from receipts.stores.folder_archive import merge_into, window_name
from receipts.stores.sqlite import SqliteStore
from tests.reconcile_helpers import exported, signed_chain, state_of
from transforms.reconcile import ReconcileCustomer
from transforms.reconcile_sources import ReadArchive, ReadStores, customer_ranges

pytestmark = pytest.mark.beam
BATCH = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
AS_OF = "2026-01-25T13:00:00Z"


@pytest.fixture
def ledger(tmp_path: Path, signer, keyring):
    """Three customers' chains in a SQLite store and its archive folder, as the batch job leaves them."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    chains = {customer: signed_chain(signer, 4, customer=customer) for customer in ("cust_a", "cust_b", "Z-9")}
    for chain in chains.values():
        store.write_receipts(chain)
        for receipt in chain:
            merge_into(
                tmp_path / "archive", window_name(receipt.chained.body["event_timestamp"]), [receipt.export_line()]
            )
    return store, chains, tmp_path


def settings_for(folder: Path, keyring, **overrides) -> ReconcileSettings:
    values = {
        "store": f"sqlite:///{folder / 'receipts.db'}",
        "archive": str(folder / "archive"),
        "keys": str(keyring.folder),
        "report": str(folder / "report.json"),
        "as_of": AS_OF,
    }
    return ReconcileSettings(**{**values, **overrides}).checked()


def discrepancies(results):
    return results | beam.FlatMap(lambda result: [(d.check, d.receipt_id, d.field) for d in result.discrepancies])


def test_customer_ranges_cover_every_id_once() -> None:
    ranges = customer_ranges()
    assert ranges[0][0] == "" and ranges[-1][1] is None
    assert all(before == start for (_, before), (start, _) in itertools.pairwise(ranges))
    for customer in ("", "-", "0", "A", "Zz", "_x", "a", "cust_1", "z" * 64, "~weird"):
        assert sum(first <= customer and (before is None or customer < before) for first, before in ranges) == 1


def test_read_stores_and_archive_key_everything_by_customer(ledger, keyring) -> None:
    store, chains, folder = ledger
    (folder / "archive" / "receipts-2026-01-25T23.jsonl").write_bytes(b'{"customer_id": "cust_a"\n\n[1]\n')
    with TestPipeline(runner=BATCH) as pipeline:
        stores = pipeline | ReadStores(store.url, AS_OF, read_ledger=True)
        archive = pipeline | ReadArchive(str(folder / "archive"))
        assert_that(
            stores["ledger"]
            | "LedgerIds" >> beam.FlatMapTuple(lambda c, entries: [(c, e.stored["sequence"]) for e in entries]),
            equal_to([(c, n) for c in chains for n in range(1, 5)]),
            label="ledger",
        )
        assert_that(
            stores["state"] | "Heads" >> beam.MapTuple(lambda c, state: (c, state.head_sequence)),
            equal_to([(c, 4) for c in chains]),
            label="state",
        )
        assert_that(
            archive["archive"]
            | "ArchiveIds" >> beam.FlatMapTuple(lambda c, copies: [(c, copy.receipt["receipt_id"]) for copy in copies]),
            equal_to([(c, r.receipt_id) for c, chain in chains.items() for r in chain]),
            label="archive",
        )
        assert_that(
            archive["unreadable"] | beam.FlatMap(lambda r: [d.reason.split(" (")[0] for d in r.discrepancies]),
            equal_to(
                [
                    "receipts-2026-01-25T23.jsonl line 1 is not a JSON receipt",
                    "receipts-2026-01-25T23.jsonl line 3 is not a receipt: "
                    "a JSON object with a customer_id is expected",
                ]
            ),
            label="unreadable",
        )


def test_reconcile_customer_runs_every_check_on_grouped_input(signer, keyring) -> None:
    from tests.reconcile_helpers import archive_of, ledger_of

    chain, orphan = signed_chain(signer, 3, customer="cust_g"), signed_chain(signer, 1, customer="cust_orphan")
    records = exported(chain)
    grouped = [
        ("cust_g", {"ledger": [ledger_of(records)], "archive": [archive_of(records[:2])], "state": [state_of(chain)]}),
        ("cust_orphan", {"archive": [archive_of(exported(orphan))]}),  # only in the archive: no state element
    ]
    dofn = ReconcileCustomer(Scope("both", AS_OF), None, str(keyring.folder), read_state=True)
    with TestPipeline(runner=BATCH) as pipeline:
        results = pipeline | beam.Create(grouped) | beam.ParDo(dofn)
        assert_that(
            discrepancies(results),
            equal_to(
                [
                    ("stores", chain[2].receipt_id, "archive"),  # cust_g: its third receipt was not archived
                    ("stores", orphan[0].receipt_id, "ledger"),  # cust_orphan: in no store but the archive
                    ("stores", orphan[0].receipt_id, "state"),
                ]
            ),
        )


def test_the_job_on_a_whole_ledger_reports_nothing_wrong(ledger, keyring) -> None:
    folder = ledger[2]
    settings = settings_for(folder, keyring)
    with TestPipeline(runner=BATCH) as pipeline:
        report = build(pipeline, settings)["report"]
        assert_that(
            report | beam.Map(lambda r: (r["ok"], r["customers"], r["receipts"], r["discrepancies_found"])),
            equal_to([(True, 3, 12, 0)]),
        )
    written = json.loads((folder / "report.json").read_text())
    assert written["ok"] is True and written["source"] == "both" and written["as_of"] == AS_OF
    assert written["jwks"] == f"key ring {keyring.folder}"
    assert {name: counts["receipts"] for name, counts in written["checks"].items()}["stores"] == 12


def test_the_job_names_a_deleted_receipt_and_a_drifted_balance(ledger, keyring) -> None:
    store, chains, folder = ledger
    deleted = chains["cust_b"][1].receipt_id
    store._db.execute("DELETE FROM receipts WHERE receipt_id = ?", (deleted,))
    store._db.execute("UPDATE balances SET balance = '1.51' WHERE customer_id = 'Z-9'")
    with TestPipeline(runner=BATCH) as pipeline:
        outputs = build(pipeline, settings_for(folder, keyring, source="store"))
        assert_that(
            discrepancies(outputs["results"]),
            equal_to(
                [
                    ("stores", deleted, "ledger"),
                    ("chain", chains["cust_b"][2].receipt_id, "sequence"),
                    ("chain", chains["cust_b"][2].receipt_id, "previous_receipt_hash"),
                    ("money", chains["cust_b"][2].receipt_id, "balance_after"),
                    ("money", chains["cust_b"][3].receipt_id, "balances[USD]"),
                    ("money", chains["Z-9"][3].receipt_id, "balances[USD]"),
                ]
            ),
        )
    report = json.loads((folder / "report.json").read_text())
    assert report["ok"] is False and report["discrepancies_found"] == 6 and report["source"] == "store"
    assert report["checks"]["stores"]["discrepancies"] == 1 and report["checks"]["money"]["discrepancies"] == 3


def test_options_are_pipeline_options_and_are_checked(tmp_path: Path) -> None:
    argv = ["--store", "sqlite:///x.db", "--archive", "a", "--jwks", "j.json", "--report", "r.json"]
    settings = ReconcileSettings.from_options(PipelineOptions([*argv, "--settle_seconds", "30", "--alert_topic", "t"]))
    assert (settings.source, settings.settle_seconds, settings.alert_topic, settings.max_listed) == (
        "both",
        30,
        "t",
        1000,
    )
    assert settings.as_of is not None  # the cut defaults to the launch
    for wrong, message in (
        ({"store": None}, "give --store"),
        ({"archive": None}, "give --archive"),
        ({"jwks": None}, "give --jwks"),
        ({"as_of": "yesterday"}, "RFC 3339"),
        ({"as_of": "2099-01-01T00:00:00Z"}, "in the future"),
        ({"source": "ledger"}, "--source must be"),
    ):
        values = {"store": "sqlite:///x", "archive": "a", "jwks": "j", "as_of": AS_OF, **wrong}
        with pytest.raises(ValueError, match=message):
            ReconcileSettings(**values).checked()
    assert ReconcileSettings(None, "a", source="archive", jwks="j").checked().store is None


def test_the_module_runs_from_its_command_line_as_a_flex_template_would(ledger, keyring) -> None:
    from pipelines.reconcile import main

    store, chains, folder = ledger
    store._db.execute("DELETE FROM idempotency_keys WHERE receipt_id = ?", (chains["cust_a"][0].receipt_id,))
    argv = ["--store", store.url, "--archive", str(folder / "archive"), "--keys", str(keyring.folder)]
    assert main([*argv, "--report", str(folder / "cli.json"), "--max_listed_discrepancies", "5"]) == 1
    report = json.loads((folder / "cli.json").read_text())
    assert [(d["check"], d["receipt_id"], d["field"]) for d in report["discrepancies"]] == [
        ("stores", chains["cust_a"][0].receipt_id, "state")
    ]


def test_on_dataflow_the_job_needs_a_jwks_and_a_report_before_anything_is_built() -> None:
    from pipelines.reconcile import main

    argv = ["--runner", "DataflowRunner", "--store", "gcp://billing-test", "--archive", "gs://b/receipts"]
    with pytest.raises(ValueError, match=r"on Dataflow needs --jwks, --report$"):
        main(argv)
    with pytest.raises(ValueError, match=r"needs --report$"):
        main([*argv, "--jwks", "https://receipts.example/.well-known/jwks.json"])


def test_a_scheduled_run_names_its_report_by_its_cut() -> None:
    """Cloud Scheduler launches the same parameters every hour; {as_of} makes each run's
    report a new object, which a create-only identity may write."""
    argv = ["--archive", "a", "--source", "archive", "--jwks", "gs://b/keys/jwks.json", "--as_of", AS_OF]
    settings = ReconcileSettings.from_options(PipelineOptions([*argv, "--report", "gs://b/reconcile/{as_of}.json"]))
    assert settings.report == f"gs://b/reconcile/{AS_OF}.json"
    assert ReconcileSettings.from_options(PipelineOptions([*argv, "--report", "r.json"])).report == "r.json"


def test_a_gs_report_is_written_under_its_own_name_and_never_renamed(monkeypatch) -> None:
    """A rename would delete the temporary object: the reconciliation's identity may only
    create objects in the reports bucket. A local report still goes through a temporary name."""
    import transforms.reconcile as module

    calls: list[tuple] = []

    class Recording:
        @staticmethod
        def create(path):
            calls.append(("create", path))
            return open(os.devnull, "wb")  # the DoFn closes it

        @staticmethod
        def rename(sources, destinations):
            calls.append(("rename", *sources, *destinations))

    monkeypatch.setattr(module, "FileSystems", Recording)
    report = {"ok": True, "customers": 0, "receipts": 0, "discrepancies_found": 0}
    list(module.WriteReport("gs://reports/reconcile/t.json", lambda _: "ok").process(report))
    assert calls == [("create", "gs://reports/reconcile/t.json")]
    calls.clear()
    list(module.WriteReport("reports/r.json", lambda _: "ok").process(report))
    assert calls == [("create", "reports/r.json.partial"), ("rename", "reports/r.json.partial", "reports/r.json")]
