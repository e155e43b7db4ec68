"""The key documents' archive and its restore, on a real SQLite store and key ring: names
that could not be a document's are refused; the folder writes once (a replay writes nothing,
other bytes are refused); a restore refuses a gap in the numbers, a number held twice, a
document under another kind's name, and one signed by a key that is not an HSM key."""

import shutil
from pathlib import Path

import pytest

from receipts.canonical import canonical_bytes
from receipts.delegation import REVOCATION_TYP, revocation_body
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.stores.delegated import DelegatedSigner
from receipts.stores.key_document_files import (
    FolderKeyDocuments,
    KeyDocumentArchiveConflict,
    key_document_path,
    parse_key_document_path,
)
from receipts.stores.key_documents_restore import restore_key_documents
from receipts.stores.keyring import KeyRing
from receipts.stores.sqlite import SqliteStore

KID = "A" * 43


def test_names_are_what_a_document_is_and_nothing_else() -> None:
    assert key_document_path(7, "revocation", KID) == f"00000007-revocation-{KID}.jws"
    assert parse_key_document_path(f"00000007-revocation-{KID}.jws").number == 7
    for number, kind, kid in (
        (0, "endorsement", KID),
        (1, "other", KID),
        (1, "endorsement", "../x"),
        (10**8, "endorsement", KID),
    ):
        with pytest.raises(ValueError):
            key_document_path(number, kind, kid)
    for name in (
        f"../00000001-endorsement-{KID}.jws",
        f"00000001-endorsement-{KID}.jws.tmp",
        "00000001-endorsement-x.jws",
    ):
        assert parse_key_document_path(name) is None


def test_the_folder_writes_once(tmp_path: Path) -> None:
    archive = FolderKeyDocuments(tmp_path / "keys")
    name = key_document_path(1, "endorsement", KID)
    assert archive.write_once(name, b"a.b.c") is True
    assert archive.write_once(name, b"a.b.c") is False  # a replay
    with pytest.raises(KeyDocumentArchiveConflict, match="nothing was overwritten"):
        archive.write_once(name, b"a.b.d")
    assert archive.read(name) == b"a.b.c" and archive.paths() == [name]


@pytest.fixture
def home(tmp_path: Path) -> tuple[SqliteStore, Path, Jwks]:
    """A store with an endorsement (1) and a revocation (2), archived in archive/keys/."""
    ring = KeyRing(tmp_path / "keys")
    ring.rotate()
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    signer = DelegatedSigner.from_url(f"delegated://local{tmp_path / 'keys'}?window=1d", store)
    kid = signer.signer_at("2026-03-01T10:00:00Z").kid
    body = revocation_body(kid, "2099-01-01T00:00:00Z", "test", signer.kid)
    assert store.add_key_revocation(sign_payloads(signer.endorser, [canonical_bytes(body)], REVOCATION_TYP)[0])
    return store, tmp_path / "archive" / "keys", Jwks(ring.jwks())


def fresh(tmp_path: Path, name: str) -> SqliteStore:
    return SqliteStore(f"sqlite:///{tmp_path / name / 'receipts.db'}")


def test_a_restore_refuses_gaps_twins_wrong_kinds_and_foreign_signers(home, tmp_path: Path) -> None:
    _, folder, jwks = home
    endorsement, revocation = sorted(folder.glob("*.jws"))
    assert restore_key_documents(fresh(tmp_path, "whole"), FolderKeyDocuments(folder), jwks).written == 2

    gap = tmp_path / "gap"
    shutil.copytree(folder, gap)
    (gap / endorsement.name).unlink()
    done = restore_key_documents(fresh(tmp_path, "a"), FolderKeyDocuments(gap), jwks)
    assert done.written == 0 and "document 1 is missing from the archive" in done.refused[0]

    twins = tmp_path / "twins"
    shutil.copytree(folder, twins)
    (twins / f"00000001-endorsement-{KID}.jws").write_text(endorsement.read_text())
    done = restore_key_documents(fresh(tmp_path, "b"), FolderKeyDocuments(twins), jwks)
    assert not done.ok and any("number 1 is also" in reason for reason in done.refused)

    kinds = tmp_path / "kinds"
    kinds.mkdir()
    shutil.copy(endorsement, kinds)
    number, _, kid = revocation.name.removesuffix(".jws").split("-", 2)
    (kinds / f"{number}-endorsement-{kid}.jws").write_text(revocation.read_text())  # a revocation named an endorsement
    done = restore_key_documents(fresh(tmp_path, "c"), FolderKeyDocuments(kinds), jwks)
    assert done.written == 1 and "typ 'key-endorsement+jws'" in done.refused[0]

    stranger = KeyRing(tmp_path / "stranger")
    stranger.rotate()
    done = restore_key_documents(fresh(tmp_path, "d"), FolderKeyDocuments(folder), Jwks(stranger.jwks()))
    assert done.written == 0 and "not an HSM (root) key" in done.refused[0]
