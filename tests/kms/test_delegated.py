"""The delegated signer on Cloud KMS (the fake server, real client, real keys): the HSM key
endorses each window's key with one AsymmetricSign, KMS Encrypt wraps it once, each other
worker unwraps it with one Decrypt, and no KMS call is made per receipt. The calls are the
server's own count."""

from pathlib import Path

import pytest

from receipts.delegation import Delegations, key_endorsements_document
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.delegated import DelegatedSigner, public_jwks_of
from receipts.stores.signers import signer_from_url
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.conftest import make_event
from tests.kms.fake import VERSION, WRAP_KEY, FakeKms

URL = f"delegated://kms/{VERSION}?wrap={WRAP_KEY}&window=1d"


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    yield store
    store.close()


def sign_many(signer: DelegatedSigner, processed_at: str, count: int, customer: str) -> list[dict]:
    state, receipts = ChainState(customer), []
    for n in range(count):
        key = signer.signer_at(processed_at)
        chained = state.append(make_event(customer_id=customer, idempotent_key=f"e{n}"), None, key.kid, processed_at)
        receipts.append(SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0]).export())
    return receipts


def counts(kms: FakeKms) -> dict[str, int]:
    return {
        "GetPublicKey": kms.public_key_calls,
        "AsymmetricSign": kms.sign_calls,
        "Encrypt": kms.encrypt_calls,
        "Decrypt": kms.decrypt_calls,
    }


def test_kms_is_called_per_window_and_worker_not_per_receipt(fake_kms: FakeKms, store: SqliteStore) -> None:
    fake_kms.add_crypto_key()
    first = signer_from_url(URL, store)
    assert isinstance(first, DelegatedSigner)
    assert (fake_kms.public_key_calls, fake_kms.calls) == (1, 1)  # worker start: the HSM key's public part
    receipts = sign_many(first, "2026-03-01T08:00:00.000000Z", 500, "cust_a")
    assert (fake_kms.sign_calls, fake_kms.encrypt_calls, fake_kms.decrypt_calls) == (1, 1, 0)
    second = signer_from_url(URL, store)  # another worker: it unwraps the window's key, once
    again = sign_many(second, "2026-03-01T08:00:00.000000Z", 500, "cust_a")
    assert again == receipts  # a retried bundle on another worker: the same bytes
    assert counts(fake_kms) == {"GetPublicKey": 2, "AsymmetricSign": 1, "Encrypt": 1, "Decrypt": 1}
    sign_many(second, "2026-03-02T08:00:00.000000Z", 10, "cust_b")  # a new day: this worker makes its key
    assert counts(fake_kms) == {"GetPublicKey": 2, "AsymmetricSign": 2, "Encrypt": 2, "Decrypt": 1}
    assert fake_kms.calls == 7  # for 1,010 receipts over two windows and two workers

    jwks = Jwks({"keys": [first.endorser.jwk, *public_jwks_of(store.delegated_keys())]})
    document = key_endorsements_document([first.kid], [doc.jws for doc in store.key_documents("endorsement")], [])
    delegations = Delegations.from_document(document, Jwks({"keys": [first.endorser.jwk]}))
    assert all(result.ok for result in verify_chain(receipts, jwks, delegations))


def test_a_wrapping_key_kms_lacks_keeps_no_key(fake_kms: FakeKms, store: SqliteStore) -> None:
    signer = signer_from_url(URL.replace(WRAP_KEY, WRAP_KEY + "-missing"), store)
    with pytest.raises(Exception, match=r"not found"):
        signer.signer_at("2026-03-01T08:00:00Z")
    assert store.delegated_keys() == []  # nothing kept: no receipt names a key no worker can unwrap


def test_the_url_names_what_it_lacks() -> None:
    with pytest.raises(ValueError, match="wrap="):
        signer_from_url(f"delegated://kms/{VERSION}")
    with pytest.raises(ValueError, match="unknown delegated:// parameter"):
        signer_from_url(f"delegated://kms/{VERSION}?wrap={WRAP_KEY}&windows=1d")
    with pytest.raises(ValueError, match="window"):
        signer_from_url(f"delegated://kms/{VERSION}?wrap={WRAP_KEY}&window=1y")
