"""Which keys a JWKS makes trusted (receipts.keys.Jwks): thumbprint kids, key sizes, key
types, private material, rotation."""

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import RSAKey

from receipts.canonical import canonical_bytes
from receipts.jws import b64url, sign_payloads
from receipts.keys import Jwks, public_jwk
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.verify import (
    CONTRACT,
    SIGNATURE,
    verify_chain,
    verify_receipt,
)
from tests.conftest import PROCESSED_AT, make_event
from tests.verify.forgeries import (
    Receipt,
    assert_all_ok,
    assert_fails,
    assert_only_failure,
    body_of,
    exported,
    new_signer,
    public_pem_of,
    raw_jws,
    resign,
    rsa_sign,
)

# -- JWKS --------------------------------------------------------------------------------


def test_jwk_whose_kid_is_not_its_thumbprint_is_untrusted(
    chain: list[Receipt], signer: LocalKeySigner, keyring: KeyRing
) -> None:
    [ours] = keyring.jwks()["keys"]
    bogus = {**ours, "kid": "my-signing-key-2026"}
    jwks = Jwks({"keys": [bogus]})
    assert jwks.keys == {}
    assert "thumbprint" in jwks.problems["my-signing-key-2026"]

    # A receipt that names the bogus kid is refused with the reason.
    body = {**body_of(chain[0]), "kid": "my-signing-key-2026"}
    token = raw_jws(
        {"alg": "RS256", "kid": "my-signing-key-2026", "typ": "receipt+jws"}, canonical_bytes(body), rsa_sign(signer)
    )
    result = verify_receipt(exported(body, token), jwks)
    assert_only_failure(result, SIGNATURE, "not trusted", "thumbprint", ours["kid"])

    # A real receipt is not verified through the mislabelled key either.
    assert_only_failure(verify_receipt(chain[0], jwks), SIGNATURE, "not in the JWKS")


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_1024_bit_key_is_untrusted(chain: list[Receipt], keyring: KeyRing) -> None:
    weak = new_signer(1024)
    weak_jwk = public_jwk(public_pem_of(weak))
    assert weak_jwk["kid"] == weak.kid
    jwks = Jwks({"keys": [*keyring.jwks()["keys"], weak_jwk]})
    assert weak.kid not in jwks.keys and "1024" in jwks.problems[weak.kid]
    forged = resign(weak, {**body_of(chain[0]), "kid": weak.kid})
    assert_only_failure(verify_receipt(forged, jwks), SIGNATURE, "not trusted", "1024 bits", "2048")
    assert verify_receipt(chain[0], jwks).ok  # the other key is unaffected


def test_non_rsa_and_malformed_key_entries_are_ignored(chain: list[Receipt], keyring: KeyRing) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    ec_jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(ec_key.x.to_bytes(32, "big")),
        "y": b64url(ec_key.y.to_bytes(32, "big")),
        "kid": "ec-1",
    }
    [ours] = keyring.jwks()["keys"]
    entries = [
        ec_jwk,
        {"kty": "oct", "k": b64url(b"secret"), "kid": "hmac-1"},
        {"kty": "RSA", "kid": "no-modulus"},
        {"kty": "RSA", "n": "!!!", "e": "AQAB", "kid": "bad-modulus"},
        {**ours, "alg": "PS256", "kid": "x-ps256"},
        {**ours, "use": "enc", "kid": "x-enc"},
        "not a key",
        None,
        42,
        ours,
    ]
    jwks = Jwks({"keys": entries})
    assert list(jwks.keys) == [ours["kid"]]
    for kid in ("ec-1", "hmac-1", "no-modulus", "bad-modulus", "x-ps256", "x-enc"):
        assert jwks.problems[kid], kid
    assert "RSA" in jwks.problems["ec-1"]
    assert_all_ok(verify_chain(chain, jwks))

    # A receipt naming the EC key's kid is refused, not crashed on.
    result = verify_receipt(chain[0], Jwks({"keys": [ec_jwk]}))
    assert_only_failure(result, SIGNATURE, "not in the JWKS")


def test_jwk_with_private_key_material_is_untrusted() -> None:
    key = RSAKey.generate_key(2048)
    leaked = {**key.as_dict(private=True), "kid": key.thumbprint(), "alg": "RS256", "use": "sig"}
    assert "d" in leaked and "p" in leaked
    jwks = Jwks({"keys": [leaked]})
    assert key.thumbprint() not in jwks.keys
    assert "private" in jwks.problems[key.thumbprint()]


@pytest.mark.parametrize(
    "document",
    [[], [{"kty": "RSA"}], "keys", None, {}, {"keys": None}, {"keys": {}}, {"keys": "abc"}, {"key": []}],
    ids=["list", "list-of-keys", "string", "null", "empty", "keys-null", "keys-object", "keys-string", "key"],
)
def test_jwks_that_is_not_an_object_with_keys_raises(document: Any) -> None:
    with pytest.raises(ValueError, match="keys"):
        Jwks(document)


def test_jwks_from_json_text(keyring: KeyRing, chain: list[Receipt]) -> None:
    assert verify_receipt(chain[0], Jwks.from_json(json.dumps(keyring.jwks()))).ok
    with pytest.raises(ValueError):
        Jwks.from_json("[]")
    with pytest.raises(ValueError):
        Jwks.from_json("not json")


def test_empty_jwks_trusts_nothing(chain: list[Receipt]) -> None:
    assert_only_failure(verify_receipt(chain[0], Jwks({"keys": []})), SIGNATURE, "not in the JWKS")


def test_retired_key_still_verifies_old_receipts(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    old_kid = ring.ensure_current()
    old_signer = LocalKeySigner(ring.private_pem(old_kid))

    state = ChainState("cust_r")

    def append(signer: LocalKeySigner, index: int) -> Receipt:
        event = make_event(idempotent_key=f"evt-{index}", customer_id="cust_r", amount="2.00")
        chained = state.append(event, None, signer.kid, PROCESSED_AT)
        [token] = sign_payloads(signer, [chained.canonical])
        return SignedReceipt(chained, token).export()

    old = [append(old_signer, 0), append(old_signer, 1)]
    before_rotation = Jwks(ring.jwks())
    assert_all_ok(verify_chain(old, before_rotation))

    new_kid = ring.rotate()
    assert new_kid != old_kid and ring.current_kid == new_kid
    new_signer_ = LocalKeySigner(ring.private_pem(new_kid))
    new = [append(new_signer_, 2)]

    document = ring.jwks()
    assert [key["kid"] for key in document["keys"]] == [new_kid, old_kid]  # current first, retired kept
    retired = {info.kid: info.retired_at for info in ring.entries()}
    assert retired[old_kid] is not None and retired[new_kid] is None

    after_rotation = Jwks(document)
    results = verify_chain([*old, *new], after_rotation)
    assert_all_ok(results)
    assert [r.checks[1].reason for r in results] == [f"RS256 by key {k}" for k in (old_kid, old_kid, new_kid)]

    # Without the retired key the old receipts no longer verify, so publishing it matters.
    only_new = Jwks({"keys": [key for key in document["keys"] if key["kid"] == new_kid]})
    assert_fails(verify_receipt(old[0], only_new), SIGNATURE, old_kid, "not in the JWKS")
    assert verify_receipt(new[0], only_new).ok
    # And the old JWKS (before rotation) does not know the new key.
    assert_fails(verify_receipt(new[0], before_rotation), SIGNATURE, new_kid)


def test_a_chain_of_payloads_without_a_sequence_fails_instead_of_crashing(jwks: Jwks) -> None:
    """Bodies that lack fields (here `{}`, signed by nobody) still go through the chain
    checks: the second must not look up the first's missing sequence."""
    header = b64url(json.dumps({"alg": "RS256", "kid": "k", "typ": "receipt+jws"}).encode())
    token = f"{header}.{b64url(b'{}')}.AAAA"
    results = verify_chain([{"receipt_id": "r_1", "signature": token}, {"receipt_id": "r_2", "signature": token}], jwks)
    assert [result.ok for result in results] == [False, False]
    assert {c.check for c in results[1].failures} >= {SIGNATURE, CONTRACT}
