"""Key documents through the archive and `receipts restore` on the embedded store (SQLite,
folder archive): a home signing with delegated keys (`delegated://local/HOME/keys`) archives
each endorsement and revocation write-once at archive/keys/NNNNNNNN-KIND-KID.jws; a home that
lost its database gets them back, verified, after its statements and before its log, whose
key-document leaves come back with them; `receipts reconcile` is clean after, and the next
receipts of the window get a new endorsed key. A tampered archived key document is refused
(KEY DOCUMENT NOT RESTORED), and the log with it; `receipts reconcile` names a missing or
edited archived statement or key document, and an archived one the store lacks."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts_cli.main import main
from tests.conftest import event_bytes

pytestmark = pytest.mark.beam


def flat(text: str) -> str:
    """Output without its whitespace: the terminal wraps long paths anywhere."""
    return "".join(text.split())


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def signer(home: Path) -> str:
    return f"delegated://local{(home / 'keys').resolve()}?window=1d"


def charge(home: Path, name: str, events: list[bytes]) -> None:
    path = home.parent / f"{name}.jsonl"
    path.write_bytes(b"\n".join(events) + b"\n")
    result = invoke(home, "run", "--input", str(path), "--signer", signer(home))
    assert result.exit_code == 0, result.output


def documents(home: Path) -> list[tuple]:
    connection = sqlite3.connect(home / "receipts.db")
    try:
        return connection.execute("SELECT * FROM key_documents ORDER BY number").fetchall()
    finally:
        connection.close()


def archived(home: Path) -> list[Path]:
    return sorted((home / "archive" / "keys").glob("*.jws"))


def wipe(home: Path) -> None:
    for name in ("receipts.db", "receipts.db-wal", "receipts.db-shm"):
        (home / name).unlink(missing_ok=True)


def restore(home: Path, expected: int = 0) -> tuple[dict, str]:
    report = home.parent / "restore.json"
    result = invoke(home, "restore", "--report", str(report))
    assert result.exit_code == expected, result.output
    return json.loads(report.read_text()), " ".join(result.output.split())


def reconcile(home: Path, expected: int = 0) -> tuple[list, str]:
    report = home.parent / "reconcile.json"
    result = invoke(home, "reconcile", "--report", str(report))
    assert result.exit_code == expected, result.output
    return json.loads(report.read_text())["discrepancies"], " ".join(result.output.split())


def exported_receipts(home: Path) -> Path:
    result = invoke(home, "export")
    assert result.exit_code == 0, result.output
    path = home.parent / "receipts.jsonl"
    path.write_bytes(result.stdout_bytes)
    return path


@pytest.fixture(scope="module")
def delegated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home that signed October's receipts with a delegated key, revoked it (from far ahead,
    so its receipts stay good), closed October and logged everything."""
    home = tmp_path_factory.mktemp("restore-keys") / "home"
    assert invoke(home, "keys", "rotate").exit_code == 0  # the key ring key stands in for the HSM key
    charge(
        home,
        "october",
        [
            event_bytes(customer_id="cust_a", idempotent_key="a-oct", amount="10.00", timestamp="2026-10-03T10:00:00Z"),
            event_bytes(customer_id="cust_b", idempotent_key="b-oct", amount="3.00", timestamp="2026-10-09T10:00:00Z"),
        ],
    )
    [(_, _, _, kid, _, _)] = documents(home)
    revoked = invoke(home, "keys", "revoke", "--reason", "rotated in a test", "--at", "2099-01-01T00:00:00Z", "--", kid)
    assert revoked.exit_code == 0, revoked.output
    closed = invoke(home, "statements", "close", "--period", "2026-10")
    assert closed.exit_code == 0, closed.output
    logged = invoke(home, "log", "integrate")
    assert logged.exit_code == 0, logged.output
    return home


@pytest.fixture
def home(delegated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(delegated, copy)
    return copy


def test_every_key_document_is_archived_once_in_log_order(home: Path) -> None:
    stored = documents(home)
    assert [row[2] for row in stored] == ["endorsement", "revocation"]
    files = archived(home)
    assert [path.name for path in files] == [f"{row[0]:08d}-{row[2]}-{row[3]}.jws" for row in stored]
    assert [path.read_text() for path in files] == [row[4] for row in stored]  # the bare JWS, byte for byte
    assert not list((home / "archive" / "keys").glob(".*.tmp"))

    files[1].write_text(files[1].read_text()[:-4] + "AAAA")  # another revocation under the name
    caught = invoke(home, "archive", "catch-up")
    said = " ".join(caught.output.split())
    assert caught.exit_code == 1 and str(files[1]) in flat(said) and "nothing was overwritten" in said, said
    assert files[1].read_text() != stored[1][4]  # not overwritten

    files[0].unlink()  # an archive that lacks one: catch-up writes it back
    files[1].write_text(stored[1][4])
    caught = invoke(home, "archive", "catch-up")
    assert caught.exit_code == 0 and "Archived 1 key document(s)" in caught.output, caught.output
    assert [path.read_text() for path in archived(home)] == [row[4] for row in stored]


def test_a_wiped_home_gets_its_key_documents_back_before_its_log(home: Path) -> None:
    before = documents(home)
    receipts = exported_receipts(home)
    wipe(home)
    report, said = restore(home)
    assert report["ok"], said
    counts = {name: report["key_documents"][name] for name in ("archived", "kept", "written")}
    assert counts == {"archived": 2, "kept": 0, "written": 2}, said
    assert "Key documents: 2 archived, 0 kept as stored, 2 written back" in said
    assert report["log"]["outcome"] == "rebuilt", said
    assert documents(home) == before  # numbers, ids, JWS: the log's leaves under "keys:"
    assert reconcile(home)[0] == []
    verified = invoke(home, "verify", str(receipts))  # the delegated key's endorsement is back
    assert verified.exit_code == 0, verified.output
    listed = invoke(home, "keys", "delegated")
    assert "key not kept" in " ".join(listed.output.split()), listed.output

    again, said = restore(home)  # twice changes nothing
    assert again["key_documents"]["kept"] == 2 and again["key_documents"]["written"] == 0, said

    # The window's wrapped key is not restorable: the next receipt of the window gets a new key,
    # endorsed for the same window, and both keys' receipts verify.
    charge(home, "later", [event_bytes(customer_id="cust_a", idempotent_key="a-later", amount="1.00")])
    after = documents(home)
    assert [row[2] for row in after] == ["endorsement", "revocation", "endorsement"]
    assert after[2][3] != before[0][3]
    bodies = [json.loads(_payload(row[4])) for row in (after[0], after[2])]
    assert bodies[0]["not_before"] == bodies[1]["not_before"]  # one window, two endorsed keys
    assert [path.name for path in archived(home)][-1] == f"00000003-endorsement-{after[2][3]}.jws"
    verified = invoke(home, "verify", str(exported_receipts(home)))
    assert verified.exit_code == 0, verified.output
    integrated = invoke(home, "log", "integrate")
    assert integrated.exit_code == 0, integrated.output
    assert reconcile(home)[0] == []


def test_keys_restore_runs_the_key_documents_step_alone(home: Path) -> None:
    before = documents(home)
    connection = sqlite3.connect(home / "receipts.db", isolation_level=None)
    connection.execute("DELETE FROM key_documents WHERE number = 2")  # the revocation lost
    connection.close()
    result = invoke(home, "keys", "restore")
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "2 archived, 1 kept as stored, 1 written back" in said, said
    assert documents(home) == before
    archived(home)[0].write_text("not.a.jws")
    again = invoke(home, "keys", "restore")
    assert again.exit_code == 1 and "KEY DOCUMENT NOT RESTORED" in again.output, again.output


def test_a_tampered_archived_key_document_is_refused_and_the_log_with_it(home: Path) -> None:
    revocation = archived(home)[1]
    header, _, signature = revocation.read_text().split(".")
    body = json.loads(_payload(revocation.read_text()))
    forged = _b64(json.dumps({**body, "revoked_at": "2026-01-01T00:00:00Z"}, separators=(",", ":")).encode())
    revocation.write_text(f"{header}.{forged}.{signature}")
    wipe(home)
    report, said = restore(home, expected=1)
    assert not report["key_documents"]["ok"] and report["key_documents"]["written"] == 1, said
    assert f"KEYDOCUMENTNOTRESTORED{revocation}" in flat(said), said
    assert [row[2] for row in documents(home)] == ["endorsement"]  # nothing unverified written
    assert report["log"]["outcome"] == "refused" and "KEY DOCUMENT NOT RESTORED" in report["log"]["reason"]


def test_reconcile_names_missing_and_edited_archived_statements_and_key_documents(home: Path) -> None:
    keys = archived(home)
    statements = sorted((home / "archive" / "statements").rglob("*.jsonl"))
    keys[0].unlink()
    statements[0].write_bytes(statements[0].read_bytes().replace(b'"line_count":1', b'"line_count":7'))
    statements[1].unlink()
    stray = home / "archive" / "keys" / f"00000009-revocation-{'A' * 43}.jws"
    stray.write_text("a.b.c")
    found, said = reconcile(home, expected=1)
    rules = sorted((item["rule"], item["field"]) for item in found)
    assert rules == [
        ("archived_key_document", "archive"),
        ("archived_key_document", "store"),
        ("archived_statement", "archive"),
        ("archived_statement", "bytes"),
    ], found
    assert f"FAILstores:(nocustomer){documents(home)[0][1]}({keys[0]})archive" in flat(said), said
    assert str(statements[0]) in flat(said) and "the archived bytes are not the stored ones" in said, said
    assert f"revocation:{'A' * 43}" in flat(said) and "the store does not hold it" in said, said


def _payload(token: str) -> bytes:
    import base64

    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
