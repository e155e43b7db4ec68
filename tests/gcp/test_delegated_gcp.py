"""The delegated signer on the Google Cloud store (the emulators, and the fake Cloud KMS: a
real gRPC server, real keys): the batch job signs with `--signer delegated://kms/…` on
gcp://, Spanner keeps each window's key wrapped by KMS Encrypt and its endorsement as a log
leaf, the site publishes the keys and endorsements, `receipts verify` and the reconciliation
check them; two stores racing for one window end with one key; a revocation fails the
receipts processed after it as key_revoked."""

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from receipts.delegation import window_at
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.rows import KEYS_MARK
from receipts.stores.delegated import DelegatedSigner, KeyRevoked, wrapping_aad
from receipts.stores.gcp.delegated_keys import document_id
from receipts.stores.gcp.kms import EMULATOR_HOST_ENV
from receipts.stores.gcp.log_rows import raw_bytes
from receipts.stores.signers import signer_from_url
from receipts_cli.main import main
from tests.conftest import event_bytes, make_event
from tests.kms.fake import VERSION, WRAP_KEY, FakeKms
from verifier_site import create_app

URL = f"delegated://kms/{VERSION}?wrap={WRAP_KEY}&window=1d"
LOG_TABLES = ("LogState", "LogLeaves", "LogMarks", "LogHashes", "LogBundles", "LogCheckpoints")


@pytest.fixture
def fake_kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKms]:
    kms = FakeKms()
    kms.add_version()
    kms.add_crypto_key()
    monkeypatch.setenv(EMULATOR_HOST_ENV, kms.start())
    yield kms
    kms.stop()


def invoke(cloud, *args: str):
    home = cloud.folder / "home"
    return CliRunner().invoke(main, ["--home", str(home), "--store", cloud.url, *args], catch_exceptions=False)


def site_documents(cloud, folder: Path):
    """The site on the gcp:// store with the KMS key as its key source: its client, and its
    JWKS and key endorsements saved as a verifier would download them."""
    app = create_app({"STORE_URL": cloud.url, "KMS_KEY_VERSIONS": [VERSION], "KEYS_CACHE_SECONDS": 0})
    client = app.test_client()
    jwks, endorsements = folder / "jwks.json", folder / "key-endorsements.json"
    jwks.write_bytes(client.get("/.well-known/jwks.json").data)
    endorsements.write_bytes(client.get("/.well-known/key-endorsements.json").data)
    return client, jwks, endorsements


def signed(signer: DelegatedSigner, store, customer: str, times: list[str]) -> list[SignedReceipt]:
    """One receipt per processed_at, signed by its window's key and written to `store`."""
    state, receipts = ChainState(customer), []
    for n, processed_at in enumerate(times):
        key = signer.signer_at(processed_at)
        event = make_event(customer_id=customer, idempotent_key=f"{customer}-{n}", amount="1.00")
        chained = state.append(event, None, key.kid, processed_at)
        receipts.append(SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0]))
    assert [outcome.value for outcome in store.write_receipts(receipts)] == ["written"] * len(times)
    return receipts


def stored_wrapped_keys(store) -> list[tuple[str, str, bytes]]:
    with store._database.snapshot() as snapshot:
        rows = snapshot.execute_sql("SELECT NotBefore, Kid, WrappedPrivate FROM DelegatedKeys ORDER BY NotBefore")
        return [(not_before, kid, raw_bytes(wrapped)) for not_before, kid, wrapped in rows]


@pytest.mark.beam
def test_a_batch_job_on_gcp_signs_with_window_keys_that_verify_and_are_logged(
    cloud, fake_kms: FakeKms, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(event_bytes(idempotent_key=f"e{n}", amount=f"{n + 1}.00") for n in range(6)) + b"\n")
    ran = invoke(cloud, "run", "--input", str(events), "--signer", URL)
    assert ran.exit_code == 0, ran.output
    exported = invoke(cloud, "export")
    receipts = [json.loads(line) for line in exported.stdout_bytes.splitlines() if line]
    assert len(receipts) == 6
    store = cloud.store()
    [row] = store.delegated_keys()  # one window, one key, however many workers and bundles signed
    assert {receipt["kid"] for receipt in receipts} == {row.kid}
    assert fake_kms.encrypt_calls == 1 and fake_kms.sign_calls == 1  # one wrap, one endorsement: not per receipt

    # The private key is stored wrapped only: not its PEM or DER, and KMS's key (with the
    # window and kid as AAD) is what opens it.
    [(not_before, kid, wrapped)] = stored_wrapped_keys(store)
    key = DelegatedSigner.from_url(URL, store).signer_at(receipts[0]["processed_at"])
    der = key._key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert b"PRIVATE KEY" not in wrapped and der not in wrapped and der[16:48] not in wrapped
    with pytest.raises(ValueError):
        serialization.load_der_private_key(wrapped, password=None)
    opened = AESGCM(fake_kms.crypto_keys[WRAP_KEY]).decrypt(wrapped[:12], wrapped[12:], wrapping_aad(not_before, kid))
    assert opened == der

    # The site publishes the window's key (from its endorsement) beside the HSM key.
    exported_file = tmp_path / "receipts.jsonl"
    exported_file.write_bytes(exported.stdout_bytes)
    client, jwks, endorsements = site_documents(cloud, tmp_path)
    assert {key["kid"] for key in json.loads(jwks.read_text())["keys"]} == {key.kid, DelegatedSigner.from_url(URL).kid}
    document = json.loads(endorsements.read_text())
    assert len(document["endorsements"]) == 1 and document["revocations"] == []
    verified = invoke(cloud, "verify", str(exported_file), "--jwks", str(jwks), "--endorsements", str(endorsements))
    assert verified.exit_code == 0, verified.output
    assert "OK 6 receipt(s) verified" in verified.output
    answer = client.post("/v1/verify", data=exported.stdout_bytes, content_type="application/x-ndjson").json
    assert answer["ok"] is True, answer

    # The endorsement is a leaf of the log, before the receipts its key signed.
    assert store.logged_through(KEYS_MARK) == 1 and store.unlogged_count() == 0
    leaf = store.log_leaf_index(document_id("endorsement", row.kid))
    assert leaf is not None and all(store.log_leaf_index(r["receipt_id"]) > leaf for r in receipts)
    reconciled = invoke(cloud, "reconcile", "--jwks", str(jwks), "--report", str(tmp_path / "report.json"))
    assert reconciled.exit_code == 0, reconciled.output
    assert json.loads((tmp_path / "report.json").read_text())["discrepancies"] == []

    # A store that lost its log tables gets them back from the published log, the endorsement's leaf included.
    for table in LOG_TABLES:
        store._database.execute_partitioned_dml(f"DELETE FROM {table} WHERE TRUE")
    assert store.logged_through(KEYS_MARK) == 0 and store.log_leaf_index(document_id("endorsement", row.kid)) is None
    restored = invoke(cloud, "log", "restore")
    assert restored.exit_code == 0, restored.output
    assert store.logged_through(KEYS_MARK) == 1 and store.log_leaf_index(document_id("endorsement", row.kid)) == leaf


def test_the_streaming_job_on_gcp_signs_with_the_windows_key(cloud, fake_kms: FakeKms, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(event_bytes(idempotent_key=f"s{n}", amount="1.00") for n in range(5)) + b"\n")
    assert invoke(cloud, "publish", "--input", str(events)).exit_code == 0
    streamed = invoke(cloud, "stream", "--until-receipts", "5", "--run-for", "300", "--signer", URL)
    assert streamed.exit_code == 0, streamed.output
    receipts = [json.loads(line) for line in invoke(cloud, "export").stdout_bytes.splitlines() if line]
    [row] = cloud.store().delegated_keys()
    assert [r["sequence"] for r in receipts] == [1, 2, 3, 4, 5] and {r["kid"] for r in receipts} == {row.kid}
    _, jwks, endorsements = site_documents(cloud, tmp_path)
    exported = tmp_path / "receipts.jsonl"
    exported.write_bytes(invoke(cloud, "export").stdout_bytes)
    verified = invoke(cloud, "verify", str(exported), "--jwks", str(jwks), "--endorsements", str(endorsements))
    assert verified.exit_code == 0 and "OK 5 receipt(s) verified" in verified.output, verified.output


def test_two_stores_racing_for_one_window_both_sign_with_the_winners_key(cloud, fake_kms: FakeKms) -> None:
    stores = [cloud.store(), cloud.store()]  # two workers, two Spanner sessions
    signers = [DelegatedSigner.from_url(URL, store) for store in stores]
    window = window_at("2026-03-01T08:00:00Z", signers[0].seconds)
    candidates = [signer._make(window)[1] for signer in signers]  # both found no key and made one
    assert candidates[0].kid != candidates[1].kid
    start, kept = threading.Barrier(2), [None, None]

    def add(n: int) -> None:
        start.wait()
        kept[n] = stores[n].add_delegated_key(candidates[n])

    threads = [threading.Thread(target=add, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert kept[0] == kept[1] and kept[0] in candidates
    assert [row.kid for row in stores[0].delegated_keys()] == [kept[0].kid]
    assert [doc.kid for doc in stores[1].key_documents()] == [kept[0].kid]  # one endorsement, number 1
    # Each worker's signer now signs the window's receipts with the winner's key, byte for byte alike.
    first = signed(signers[0], stores[0], "cust_a", ["2026-03-01T08:00:00Z"])
    again = [signers[1].signer_at("2026-03-01T08:00:00Z")]
    assert first[0].chained.body["kid"] == again[0].kid == kept[0].kid
    assert sign_payloads(again[0], [first[0].chained.canonical]) == [first[0].signature]
    # And the whole signer on a fresh window: made once, the other reads it.
    keys = [signer.signer_at("2026-03-02T08:00:00Z").kid for signer in signers]
    assert keys[0] == keys[1] and len(stores[0].delegated_keys()) == 2


def test_a_revoked_key_fails_the_receipts_processed_after_its_revocation(
    cloud, fake_kms: FakeKms, tmp_path: Path
) -> None:
    store = cloud.store()
    signer = DelegatedSigner.from_url(URL, store)
    receipts = signed(signer, store, "cust_r", ["2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"])
    kid = receipts[0].chained.body["kid"]
    listed = invoke(cloud, "keys", "delegated")
    assert listed.exit_code == 0 and kid[:20] in listed.output and "endorsed" in listed.output

    revoked = invoke(
        cloud,
        "keys",
        "revoke",
        "--reason",
        "leaked",
        "--at",
        "2026-03-01T10:30:00Z",
        "--signer",
        f"kms://{VERSION}",
        "--",
        kid,  # after --: a thumbprint may start with "-"
    )
    assert revoked.exit_code == 0, revoked.output
    assert "Revoked" in revoked.output
    again = invoke(cloud, "keys", "revoke", "--reason", "twice", "--signer", f"kms://{VERSION}", "--", kid)
    assert again.exit_code == 0 and "revoked already" in again.output
    assert [doc.kind for doc in store.key_documents()] == ["endorsement", "revocation"]
    assert "revoked" in invoke(cloud, "keys", "delegated").output

    exported = tmp_path / "receipts.jsonl"
    exported.write_bytes(invoke(cloud, "export").stdout_bytes)
    client, jwks, endorsements = site_documents(cloud, tmp_path)
    assert len(json.loads(endorsements.read_text())["revocations"]) == 1
    answer = client.post("/v1/verify", data=exported.read_bytes(), content_type="application/x-ndjson").json
    assert answer["ok"] is False and "key_revoked" in json.dumps(answer)
    verified = invoke(cloud, "verify", str(exported), "--jwks", str(jwks), "--endorsements", str(endorsements))
    assert verified.exit_code == 1, verified.output
    failures = [line for line in verified.output.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1 and receipts[1].receipt_id in failures[0]  # processed at 11:00, after 10:30
    assert "key_endorsement: key_revoked" in failures[0] and "1 of 2 receipt(s) failed" in verified.output
    from_store = invoke(cloud, "verify", str(exported), "--jwks", str(jwks))  # the store's own documents
    assert from_store.exit_code == 1 and "key_revoked" in from_store.output

    report = tmp_path / "report.json"
    reconciled = invoke(cloud, "reconcile", "--jwks", str(jwks), "--report", str(report))
    assert reconciled.exit_code == 1, reconciled.output
    discrepancies = json.loads(report.read_text())["discrepancies"]
    assert [(d["receipt_id"], d["rule"]) for d in discrepancies] == [(receipts[1].receipt_id, "key_endorsement")]
    assert "key_revoked" in json.dumps(discrepancies)

    # A worker that reads the revocation signs nothing more with the key after it.
    fresh = signer_from_url(URL, cloud.store())
    with pytest.raises(KeyRevoked, match="revoked at 2026-03-01T10:30:00Z"):
        fresh.signer_at("2026-03-01T12:00:00Z")
    assert fresh.signer_at("2026-03-01T10:15:00Z").kid == kid
