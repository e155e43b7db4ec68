"""`receipts run --signer delegated://local/HOME/keys`, then `receipts verify` checks each
receipt's key against the home's endorsements, and `receipts keys revoke` makes the receipts
signed from the revocation on fail as key_revoked."""

import json
from pathlib import Path

import pytest

from receipts.stores.keyring import KeyRing
from tests.conftest import event_bytes
from tests.test_cli import exported, invoke, write_events

pytestmark = pytest.mark.beam


def test_run_with_delegated_keys_then_verify_and_revoke(home: Path, tmp_path: Path) -> None:
    assert invoke(home, "keys", "rotate").exit_code == 0  # the home's key ring key stands in for the HSM key
    events = write_events(tmp_path / "events.jsonl", [event_bytes(idempotent_key=f"e{n}") for n in range(3)])
    signer = f"delegated://local{(home / 'keys').resolve()}?window=1d"
    result = invoke(home, "run", "--input", str(events), "--signer", signer)
    assert result.exit_code == 0, result.output
    receipts = exported(home)
    published = json.loads(invoke(home, "keys", "jwks").output)  # what the reconciliation's jwks.json needs
    ring = {key["kid"] for key in KeyRing(home / "keys").jwks()["keys"]}
    assert {key["kid"] for key in published["keys"]} == {receipt["kid"] for receipt in receipts} | ring
    listed = invoke(home, "keys", "delegated")
    [kid] = {receipt["kid"] for receipt in receipts}
    assert kid[:30] in listed.output and "endorsed" in listed.output
    export = tmp_path / "receipts.jsonl"
    export.write_text("".join(json.dumps(receipt) + "\n" for receipt in receipts))

    verified = invoke(home, "verify", str(export))
    assert verified.exit_code == 0, verified.output
    reconciled = invoke(home, "reconcile", "--report", str(tmp_path / "before.json"))
    assert reconciled.exit_code == 0, reconciled.output

    first = min(receipt["processed_at"] for receipt in receipts)
    revoked = invoke(home, "keys", "revoke", "--reason", "leaked in a test", "--at", first, "--", kid)
    assert revoked.exit_code == 0, revoked.output
    again = invoke(home, "verify", str(export))
    assert again.exit_code == 1 and "key_revoked" in again.output
    reconciled = invoke(home, "reconcile", "--report", str(tmp_path / "after.json"))
    report = json.loads((tmp_path / "after.json").read_text())
    assert reconciled.exit_code == 1 and "key_revoked" in json.dumps(report["discrepancies"])
    assert invoke(home, "keys", "revoke", "--reason", "twice", "--at", first, "--", kid).exit_code == 0  # kept once
    logged = invoke(home, "log", "integrate")
    assert logged.exit_code == 0, logged.output
    assert "holds 5 receipt(s) (1 new)" in logged.output  # 3 receipts and the endorsement, then the revocation
