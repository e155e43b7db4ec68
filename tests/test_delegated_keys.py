"""Delegated signing keys (receipts.delegation, receipts.stores.delegated) with the home's
stand-ins: the key ring's key endorses, a local key-encryption key wraps, the SQLite store
keeps one key per window. Two signers on one store are two workers: they must sign a body
with the same key and the same bytes."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws as jose_jws
from joserfc.jwk import KeySet

from pipelines.options import signing
from receipts.canonical import canonical_bytes
from receipts.delegation import (
    REVOCATION_TYP,
    Delegations,
    Window,
    key_endorsements_document,
    revocation_body,
    window_at,
    window_seconds,
)
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.delegated import DelegatedSigner, KeyRevoked, public_jwks_of
from receipts.stores.keyring import KeyRing
from receipts.stores.log_files import FolderLogFiles
from receipts.stores.log_sequencer import integrate_log
from receipts.stores.signers import LocalKeySigner, signer_from_url
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.note_keys import NoteSigner, generate_key
from receipts.tlog.proofs import verify_inclusion
from receipts.tlog.proving import prove_inclusion
from receipts.verify import KEY_ENDORSEMENT, verify_chain
from tests.conftest import make_event
from transforms.chain import as_signed

DAY_ONE = "2026-03-01T10:00:00.000000Z"
DAY_TWO = "2026-03-02T00:00:00.000000Z"


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    ring = KeyRing(tmp_path / "keys")
    ring.ensure_current()
    return ring


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    yield store
    store.close()


def url_of(ring: KeyRing, window: str = "1d") -> str:
    return f"delegated://local{ring.folder}?window={window}"


def signed(signer, processed_at: str, count: int = 2, customer: str = "cust_1") -> list[dict]:
    state = ChainState(customer)
    receipts = []
    for n in range(count):
        event = make_event(customer_id=customer, idempotent_key=f"evt-{processed_at}-{n}")
        key = signer.signer_at(processed_at) if hasattr(signer, "signer_at") else signer
        chained = state.append(event, None, key.kid, processed_at)
        receipts.append(SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0]).export())
    return receipts


def delegations_of(ring: KeyRing, store: SqliteStore) -> tuple[Jwks, Delegations]:
    """What a verifier is handed: the published JWKS (HSM key + delegated keys) and the
    key-endorsements document, trusting the ring's keys as roots."""
    jwks = Jwks({"keys": ring.jwks()["keys"] + public_jwks_of(store.delegated_keys())})
    documents = {kind: [d.jws for d in store.key_documents(kind)] for kind in ("endorsement", "revocation")}
    document = key_endorsements_document([ring.current_kid], documents["endorsement"], documents["revocation"])
    return jwks, Delegations.from_document(document, Jwks(ring.jwks()))


def test_windows_are_epoch_aligned_and_named_in_whole_units() -> None:
    assert window_at("2026-03-01T23:59:59.999999Z", 86400) == Window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
    assert window_at(DAY_TWO, 86400).not_before == "2026-03-02T00:00:00Z"
    assert window_at("2026-03-01T10:17:00Z", 6 * 3600) == Window("2026-03-01T06:00:00Z", "2026-03-01T12:00:00Z")
    assert [window_seconds(spec) for spec in ("1d", "6h", "30m", "900s", "3600")] == [86400, 21600, 1800, 900, 3600]
    for bad in ("", "1w", "0d", "-1d", "1.5h", "40d", "10s", "١d"):
        with pytest.raises(ValueError, match="window"):
            window_seconds(bad)


def test_two_workers_sign_a_window_with_one_key_and_the_same_bytes(ring: KeyRing, store: SqliteStore) -> None:
    first = signer_from_url(url_of(ring), store)
    second = signer_from_url(url_of(ring), store)  # another worker, the same store
    assert isinstance(first, DelegatedSigner) and first.kid == ring.current_kid  # statements: the HSM key
    one, two = first.signer_at(DAY_ONE), second.signer_at("2026-03-01T23:00:00Z")
    assert one.kid == two.kid != ring.current_kid
    assert signed(first, DAY_ONE) == signed(second, DAY_ONE)  # a retried bundle: the same receipts, byte for byte
    assert first.signer_at(DAY_TWO).kid != one.kid  # the next window, the next key
    assert [row.kid for row in store.delegated_keys()] == [one.kid, first.signer_at(DAY_TWO).kid]
    assert [doc.number for doc in store.key_documents("endorsement")] == [1, 2]  # each made once


def test_the_private_part_is_never_kept_in_clear(ring: KeyRing, store: SqliteStore, tmp_path: Path) -> None:
    signer = signer_from_url(url_of(ring), store)
    key = signer.signer_at(DAY_ONE)._key
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    secret = key.private_numbers().d.to_bytes(256, "big")
    on_disk = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file() and "keys" not in path.parts)
    assert der[-64:] not in on_disk and secret[:32] not in on_disk
    assert (ring.folder / "delegated-kek.key").stat().st_mode & 0o777 == 0o600
    [row] = store.delegated_keys()
    moved = type(row)("2026-03-05T00:00:00Z", row.kid, row.wrapped_private, row.endorsement)
    with pytest.raises(Exception):  # noqa: B017 (AES-GCM's InvalidTag): a wrapped key is bound to its window
        signer._unwrapped(moved)


def test_a_receipt_verifies_by_kid_and_its_key_by_its_endorsement(ring: KeyRing, store: SqliteStore) -> None:
    signer = signer_from_url(url_of(ring), store)
    receipts = signed(signer, DAY_ONE)
    jwks, delegations = delegations_of(ring, store)
    assert delegations.problems == []
    results = verify_chain(receipts, jwks, delegations)
    assert all(result.ok for result in results), [result.failures for result in results]
    assert [check.check for check in results[0].checks if check.check == KEY_ENDORSEMENT] == [KEY_ENDORSEMENT]
    # Any JOSE library verifies the receipt against the published JWKS, unchanged.
    token = receipts[0]["signature"]
    published = KeySet.import_key_set({"keys": ring.jwks()["keys"] + public_jwks_of(store.delegated_keys())})
    decoded = jose_jws.deserialize_compact(token, published, algorithms=["RS256"])
    assert json.loads(decoded.payload)["kid"] == signer.signer_at(DAY_ONE).kid == decoded.headers()["kid"]
    # Without delegations (a JWKS only) the check is not run: receipts verify as before.
    assert all(KEY_ENDORSEMENT not in {c.check for c in r.checks} for r in verify_chain(receipts, jwks))


def reasons(results) -> list[str]:
    return [check.reason.split(":")[0] for result in results for check in result.checks if not check.ok]


def test_signed_outside_its_window_fails_as_outside_key_window(ring: KeyRing, store: SqliteStore) -> None:
    signer = signer_from_url(url_of(ring), store)
    key = signer.signer_at(DAY_ONE)
    state = ChainState("cust_1")
    chained = state.append(make_event(), None, key.kid, DAY_TWO)  # a day-one key on a day-two receipt
    receipt = SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0]).export()
    jwks, delegations = delegations_of(ring, store)
    assert reasons(verify_chain([receipt], jwks, delegations)) == ["outside_key_window"]


def test_signed_after_its_revocation_fails_as_key_revoked(ring: KeyRing, store: SqliteStore) -> None:
    signer = signer_from_url(url_of(ring), store)
    early, late = signed(signer, "2026-03-01T09:00:00Z", 1), signed(signer, "2026-03-01T11:00:00Z", 1, "cust_2")
    kid = signer.signer_at(DAY_ONE).kid
    body = revocation_body(kid, "2026-03-01T10:00:00Z", "leaked from worker 7", ring.current_kid)
    [revocation] = sign_payloads(signer.endorser, [canonical_bytes(body)], REVOCATION_TYP)
    assert store.add_key_revocation(revocation) and not store.add_key_revocation(revocation)
    jwks, delegations = delegations_of(ring, store)
    assert reasons(verify_chain(early, jwks, delegations)) == []  # signed before the revocation: still good
    assert reasons(verify_chain(late, jwks, delegations)) == ["key_revoked"]
    assert [doc.kind for doc in store.key_documents()] == ["endorsement", "revocation"]


def test_a_key_nobody_endorsed_fails_as_no_endorsement(ring: KeyRing, store: SqliteStore, tmp_path: Path) -> None:
    rogue_ring = KeyRing(tmp_path / "rogue")
    rogue = LocalKeySigner(rogue_ring.private_pem(rogue_ring.ensure_current()))
    rogue_store = SqliteStore(f"sqlite:///{tmp_path / 'rogue.db'}")
    rogue_delegated = signer_from_url(url_of(rogue_ring), rogue_store)  # endorsed, but by a key that is no root
    receipts = signed(rogue, DAY_ONE) + signed(rogue_delegated, DAY_ONE, 1, "cust_2")
    jwks = Jwks({"keys": ring.jwks()["keys"] + [rogue.jwk] + public_jwks_of(rogue_store.delegated_keys())})
    endorsements = [doc.jws for doc in rogue_store.key_documents("endorsement")]
    delegations = Delegations(Jwks(ring.jwks()), [ring.current_kid], endorsements)
    assert reasons(verify_chain(receipts, jwks, delegations)) == ["no_endorsement"] * 3
    assert delegations.problems and "not an HSM (root) key" in delegations.problems[0]
    rogue_store.close()


def test_each_endorsement_and_revocation_is_one_leaf_of_the_log(ring: KeyRing, store: SqliteStore, tmp_path) -> None:

    origin = "receipts.local/keys-test"
    note_key, files = NoteSigner(generate_key(origin)), FolderLogFiles(tmp_path / "log")
    signer = signer_from_url(url_of(ring), store)
    store.write_receipts([as_signed(receipt) for receipt in signed(signer, DAY_ONE, 2)])  # stored, then logged
    kid = signer.signer_at(DAY_ONE).kid
    assert store.unlogged_count() == 3  # two receipts, one endorsement
    assert integrate_log(store, files, note_key, origin).logged == 3
    body = revocation_body(kid, "2026-03-01T12:00:00Z", "rotated early", ring.current_kid)
    store.add_key_revocation(sign_payloads(signer.endorser, [canonical_bytes(body)], REVOCATION_TYP)[0])
    assert integrate_log(store, files, note_key, origin).logged == 1
    assert integrate_log(store, files, note_key, origin).logged == 0  # each once
    checkpoint, _ = open_checkpoint(store.latest_checkpoint(), [note_key.verifier], origin)
    assert checkpoint.size == 4
    for document in store.key_documents():
        index = store.log_leaf_index(document.document_id)
        assert index is not None and store.log_leaf(index) == document.document_id
        entry = bytes.fromhex(document.document_hash)
        assert store.log_entries(index, index + 1) == [entry]
        path = prove_inclusion(index, checkpoint.size, store.log_hash_reader())
        verify_inclusion(leaf_hash(entry), index, checkpoint.size, path, checkpoint.root)
    assert store.log_leaf_index(f"endorsement:{kid}") == 0  # before the receipts its key signed


def test_a_revoked_window_key_signs_nothing_processed_after_its_revocation(ring: KeyRing, store: SqliteStore) -> None:
    signer = signer_from_url(url_of(ring), store)
    now = [0.0]
    signer._clock = lambda: now[0]  # the worker's monotonic clock
    kid = signer.signer_at(DAY_ONE).kid
    body = revocation_body(kid, "2026-03-01T10:30:00Z", "leaked", ring.current_kid)
    store.add_key_revocation(sign_payloads(signer.endorser, [canonical_bytes(body)], REVOCATION_TYP)[0])
    assert signer.signer_at("2026-03-01T11:00:00Z").kid == kid  # not asked again yet: within the minute
    now[0] = 61.0
    assert signer.signer_at("2026-03-01T10:29:59.999999Z").kid == kid  # before the revocation: still its key
    with pytest.raises(KeyRevoked, match="revoked at 2026-03-01T10:30:00Z"):
        signer.signer_at("2026-03-01T10:30:00.000000Z")
    assert signer.signer_at(DAY_TWO).kid != kid  # the next window's key signs again


def test_a_job_on_a_store_that_keeps_no_delegated_keys_refuses_at_launch(
    ring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both stores keep them (Spanner's DelegatedKeys on gcp://): the endorsing key's kid names the job's.
    for store_url in ("gcp://billing-prod", f"sqlite:///{ring.folder.parent / 'receipts.db'}"):
        assert signing(url_of(ring), None, None, store_url) == (url_of(ring), ring.current_kid)

    class KeepsNoKeys:
        pass

    monkeypatch.setattr("pipelines.options.store_class", lambda url: KeepsNoKeys)
    with pytest.raises(ValueError, match="keeps none"):
        signing(url_of(ring), None, None, "elsewhere://billing")


def test_near_a_windows_end_the_next_windows_key_is_made_ready(ring: KeyRing, store: SqliteStore) -> None:
    signer = signer_from_url(url_of(ring), store)
    signer.signer_at("2026-03-01T12:00:00Z")
    assert [row.not_before for row in store.delegated_keys()] == ["2026-03-01T00:00:00Z"]
    signer.signer_at("2026-03-01T23:00:00Z")  # the last 5% of the day
    assert [row.not_before for row in store.delegated_keys()] == ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"]
    ready = store.delegated_keys()[1].kid
    assert signer.signer_at(DAY_TWO).kid == ready and len(store.key_documents("endorsement")) == 2
