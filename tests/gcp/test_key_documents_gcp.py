"""Key documents on the Google Cloud store (the emulators and the fake Cloud KMS): Spanner's
KeyDocuments are each archived write-once at gs://BUCKET/keys/NNNNNNNN-KIND-KID.jws after
their commit (a replay writes nothing, other bytes are refused, naming the object); a store
that lost KeyDocuments and DelegatedKeys gets the documents back from the bucket, verified
with the HSM key, under their numbers; a tampered object is refused and not written; the
next receipt of the window gets a new key endorsed for it; and `receipts reconcile` names an
archived key document the store lacks."""

import json
from pathlib import Path

import pytest
from google.cloud import storage

from receipts.canonical import canonical_bytes
from receipts.delegation import REVOCATION_TYP, revocation_body
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.stores.archives import open_key_document_archive
from receipts.stores.delegated import DelegatedSigner
from receipts.stores.key_document_files import KeyDocumentArchiveConflict, key_document_path
from receipts.stores.key_documents_restore import restore_key_documents
from tests.gcp.test_delegated_gcp import URL, invoke, signed
from tests.gcp.test_delegated_gcp import fake_kms as fake_kms  # the fixture


def bucket(cloud):
    return storage.Client(project="local-emulator").bucket(cloud.location.bucket)


def archived(cloud) -> dict[str, str]:
    return {blob.name: blob.download_as_text() for blob in bucket(cloud).list_blobs(prefix="keys/")}


def forget_keys(store) -> None:
    for table in ("KeyDocuments", "DelegatedKeys"):
        store._database.execute_partitioned_dml(f"DELETE FROM {table} WHERE TRUE")


def test_key_documents_are_archived_once_and_restored_verified(cloud, fake_kms: object, tmp_path: Path) -> None:
    store = cloud.store()
    signer = DelegatedSigner.from_url(URL, store)
    receipts = signed(signer, store, "cust_k", ["2026-03-01T10:00:00Z"])
    kid = receipts[0].chained.body["kid"]
    body = revocation_body(kid, "2099-01-01T00:00:00Z", "rotated in a test", signer.kid)
    [revocation] = sign_payloads(signer.endorser, [canonical_bytes(body)], REVOCATION_TYP)
    assert store.add_key_revocation(revocation)
    documents = store.key_documents()
    expected = {f"keys/{key_document_path(d.number, d.kind, d.kid)}": d.jws for d in documents}
    assert [d.kind for d in documents] == ["endorsement", "revocation"] and archived(cloud) == expected

    archive = open_key_document_archive(cloud.location.archive_url)
    first = documents[0]
    path = key_document_path(first.number, first.kind, first.kid)
    assert archive.write_once(path, first.jws.encode()) is False  # a replay
    with pytest.raises(KeyDocumentArchiveConflict, match="nothing was overwritten") as refused:
        archive.write_once(path, first.jws.encode() + b"x")
    assert f"keys/{path}" in str(refused.value) and archived(cloud) == expected

    roots = Jwks({"keys": [signer.endorser.jwk]})  # the HSM key alone
    forget_keys(store)
    done = restore_key_documents(store, archive, roots)
    assert done.ok and (done.archived, done.written, done.kept) == (2, 2, 0), done.refused
    assert store.key_documents() == documents  # numbers, ids (cut to 32), JWS, hashes
    again = restore_key_documents(store, archive, roots)
    assert (again.written, again.kept) == (0, 2)

    # A tampered revocation (another payload under its signature) is refused and not written.
    header, _, signature = documents[1].jws.split(".")
    forged = sign_payloads(signer.endorser, [b"{}"], REVOCATION_TYP)[0].split(".")[1]  # a payload it did not sign
    bucket(cloud).blob(f"keys/{key_document_path(2, 'revocation', kid)}").upload_from_string(
        f"{header}.{forged}.{signature}"
    )
    forget_keys(store)
    done = restore_key_documents(store, archive, roots)
    assert not done.ok and done.written == 1 and "signature does not verify" in " ".join(done.refused), done.refused
    assert [d.kind for d in store.key_documents()] == ["endorsement"]

    # The window's key row is gone: its next receipt gets a new key, endorsed for the same window.
    fresh = DelegatedSigner.from_url(URL, cloud.store())
    assert fresh.signer_at("2026-03-01T11:00:00Z").kid != kid
    endorsements = store.key_documents("endorsement")
    assert len(endorsements) == 2 and endorsements[1].number == 2
    windows = [json.loads(_payload(d.jws))["not_before"] for d in endorsements]
    assert windows[0] == windows[1] == "2026-03-01T00:00:00Z"

    # The store lacks the archived revocation (number 2 is the new endorsement's now): reconcile says so.
    report = tmp_path / "reconcile.json"
    reconciled = invoke(cloud, "reconcile", "--jwks", str(_jwks_file(tmp_path, signer, fresh)), "--report", str(report))
    found = [d for d in json.loads(report.read_text())["discrepancies"] if d["rule"] == "archived_key_document"]
    assert reconciled.exit_code == 1 and found, reconciled.output


def _jwks_file(folder: Path, *signers: DelegatedSigner) -> Path:
    path = folder / "jwks.json"
    path.write_text(json.dumps({"keys": [signers[0].endorser.jwk]}))
    return path


def _payload(token: str) -> bytes:
    import base64

    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
