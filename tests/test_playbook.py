"""The seed's corruption playbook end to end on the embedded store, as docs/RUNBOOK.md runs
it: the ledger damaged, the reconciliation fails and freezes intake, events that arrive
meanwhile are held (not charged, not lost), restore, the reconciliation passes, resume
charges the held events once, and the archive holds every stored receipt."""

import json
import shutil
from pathlib import Path

import pytest

from pipelines.batch import Settings, run
from receipts.records import INTAKE_FROZEN
from receipts.stores.folder_archive import read_archive
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.note_keys import NoteVerifier, parse_private_key
from receipts.tlog.proofs import verify_consistency
from receipts.tlog.proving import prove_consistency
from receipts_cli.home import Home
from tests.conftest import event_bytes
from tests.test_cli_reconcile import invoke, rows
from tests.test_cli_reconcile import made as made  # the home the batch job wrote (module fixture)

pytestmark = pytest.mark.beam


def test_detect_freeze_restore_prove_resume(made: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(made, home)
    before = invoke(home, "export").output
    old_note = (home / "archive" / "log" / "checkpoint").read_bytes()
    db = rows(home)
    customer, deleted = db.execute("SELECT customer_id, receipt_id FROM receipts WHERE sequence = 3 LIMIT 1").fetchone()
    db.execute("DELETE FROM receipts WHERE receipt_id = ?", (deleted,))
    db.execute("UPDATE balances SET balance = '999.00' WHERE customer_id = ?", (customer,))

    detected = invoke(home, "reconcile", "--freeze-on-failure")
    assert detected.exit_code == 1 and "Intake frozen by reconciliation" in " ".join(detected.output.split())
    assert "frozen since" in invoke(home, "intake", "status").output
    late = tmp_path / "late.jsonl"
    late.write_bytes(
        b"\n".join(event_bytes(customer_id=customer, idempotent_key=f"late-{n}") for n in range(3)) + b"\n"
    )
    assert invoke(home, "run", "--input", str(late)).exit_code == 1  # refused: nothing read
    owner = Home(home)  # a job that was running when the freeze landed holds what it reads
    run(Settings(str(late), owner.store_url, str(owner.keys), owner.keyring().current_kid, owner.archive_url))
    held = [letter for letter in map(json.loads, invoke(home, "dead-letters").output.splitlines())]
    assert sum(letter["reason"] == INTAKE_FROZEN for letter in held) == 3
    assert invoke(home, "export").output == before.replace(
        next(line for line in before.splitlines(keepends=True) if deleted in line), ""
    )  # nothing new was charged

    restored = invoke(home, "restore")
    assert restored.exit_code == 0, restored.output
    assert "Transparency log: the store's log" in restored.output and "is the published one: kept" in restored.output
    assert invoke(home, "export").output == before
    assert invoke(home, "reconcile").exit_code == 0

    resumed = invoke(home, "intake", "resume")
    assert resumed.exit_code == 0 and "3 replayed" in resumed.output
    charged = [json.loads(line) for line in invoke(home, "export", "--customer", customer).output.splitlines()]
    assert sorted(r["idempotent_key"] for r in charged if r["idempotent_key"].startswith("late-")) == [
        "late-0",
        "late-1",
        "late-2",
    ]
    assert "3 already charged" in invoke(home, "intake", "resume").output  # again: nothing more
    assert invoke(home, "archive", "status").exit_code == 0
    archived = [record["receipt_id"] for record in read_archive(home / "archive")]
    exported = [json.loads(line)["receipt_id"] for line in invoke(home, "export").output.splitlines()]
    assert sorted(archived) == sorted(exported)
    assert invoke(home, "reconcile").exit_code == 0
    assert invoke(home, "log", "integrate").exit_code == 0  # the log went on: one tree since before the incident
    assert_log_extends(home, old_note)


def assert_log_extends(home: Path, old_note: bytes) -> None:
    store = SqliteStore(f"sqlite:///{home / 'receipts.db'}")
    verifier = NoteVerifier(parse_private_key((home / "log" / "log.key").read_text()).public)
    old, _ = open_checkpoint(old_note, [verifier])
    new, _ = open_checkpoint(store.latest_checkpoint(), [verifier])
    assert new.size > old.size and store.unlogged_count() == 0
    verify_consistency(
        old.size, new.size, prove_consistency(old.size, new.size, store.log_hash_reader()), old.root, new.root
    )
    store.close()
