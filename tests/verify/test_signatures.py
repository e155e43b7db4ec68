"""verify_receipt and verify_chain (receipts/verify.py): one test per way a receipt or a
chain segment can be wrong, each naming the check that must fail and why. Nothing here
patches the code under test. This module: a clean chain, then the export, the JWS header
and the signature; test_payloads.py, test_chains.py and test_jwks.py the rest."""

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from receipts.canonical import ZERO_HASH, canonical_bytes
from receipts.jws import b64url, b64url_decode
from receipts.keys import Jwks
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.verify import (
    BALANCE,
    CANONICAL,
    CHAIN_LINK,
    CONTRACT,
    FORMAT,
    IDEMPOTENCY,
    SEQUENCE,
    SIGNATURE,
    verify_chain,
    verify_receipt,
)
from tests.verify.forgeries import (
    ALL_CHECKS,
    RECEIPT_CHECKS,
    Receipt,
    assert_all_ok,
    assert_fails,
    assert_only_failure,
    body_of,
    exported,
    names,
    raw_jws,
    rederive,
    resign,
    rsa_sign,
    token_parts,
)

# -- a clean chain -----------------------------------------------------------------------


def test_clean_chain_of_five_passes_every_check(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain(chain, jwks)
    assert len(results) == 5
    assert_all_ok(results)
    seen = {check.check for result in results for check in result.checks}
    assert seen == ALL_CHECKS
    for index, result in enumerate(results):
        assert result.sequence == index + 1
        assert result.receipt_id == chain[index]["receipt_id"]
        assert result.payload_hash == chain[index]["receipt_hash"]
        assert all(check.ok for check in result.checks)
        assert names(result.checks)[:5] == RECEIPT_CHECKS
        expected = {IDEMPOTENCY, SEQUENCE, BALANCE} | ({CHAIN_LINK} if index else set())
        assert set(names(result.checks)[5:]) == expected
        steps = [check.step for check in result.checks]
        assert steps == list(range(1, len(steps) + 1))
    for receipt in chain:
        single = verify_receipt(receipt, jwks)
        assert single.ok and names(single.checks) == RECEIPT_CHECKS
        assert single.body == body_of(receipt)


def test_chain_links_and_balances_are_what_the_contract_says(chain: list[Receipt]) -> None:
    assert chain[0]["previous_receipt_hash"] == ZERO_HASH
    for before, after in itertools.pairwise(chain):
        assert after["previous_receipt_hash"] == before["receipt_hash"]
        assert after["sequence"] == before["sequence"] + 1
    assert [r["balance_after"] for r in chain] == ["1.50", "3.75", "13.75", "13.76", "16.76"]


# -- per receipt: export, payload and signature ------------------------------------------


def test_amount_edited_in_the_export_only_fails_canonical(chain: list[Receipt], jwks: Jwks) -> None:
    forged = {**chain[2], "amount": "1.00"}
    result = verify_receipt(forged, jwks)
    assert_only_failure(result, CANONICAL, "amount", "differs")
    # The signed body is still reported as what was signed, not what the export claims.
    assert result.body is not None and result.body["amount"] == "10.00"


def test_export_field_added_or_removed_fails_canonical(chain: list[Receipt], jwks: Jwks) -> None:
    assert_only_failure(verify_receipt({**chain[1], "discount": "1.00"}, jwks), CANONICAL, "discount")
    assert_only_failure(verify_receipt({**chain[1], "": "1.00"}, jwks), CANONICAL, "''")  # an empty name too
    without = {name: value for name, value in chain[1].items() if name != "quota_remaining"}
    assert_only_failure(verify_receipt(without, jwks), CANONICAL, "quota_remaining")
    # A number where the signed body has a string is a different value, not "the same amount".
    assert_only_failure(verify_receipt({**chain[1], "amount": 2.25}, jwks), CANONICAL, "amount")


def test_payload_reencoded_with_edited_amount_keeps_old_signature_fails_signature(
    chain: list[Receipt], jwks: Jwks
) -> None:
    body = rederive({**body_of(chain[2]), "amount": "1.00"})  # a self-consistent body
    payload = canonical_bytes(body)
    header_b64, _, signature_b64 = token_parts(chain[2])
    forged = exported(body, f"{header_b64}.{b64url(payload)}.{signature_b64}")
    result = verify_receipt(forged, jwks)
    assert_only_failure(result, SIGNATURE, "does not verify", body["kid"])


def test_signature_bytes_edited_fails_signature(chain: list[Receipt], jwks: Jwks) -> None:
    header_b64, payload_b64, signature_b64 = token_parts(chain[0])
    signature = bytearray(b64url_decode(signature_b64))
    signature[100] ^= 0x01
    forged = {**chain[0], "signature": f"{header_b64}.{payload_b64}.{b64url(bytes(signature))}"}
    assert_only_failure(verify_receipt(forged, jwks), SIGNATURE, "does not verify")


def test_resigned_with_our_key_passes_alone_but_breaks_the_next_link(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    # Someone with the signing key rewrites receipt 3 (a field outside the event hash).
    body = {**body_of(chain[2]), "processed_at": "2026-01-25T13:00:00Z"}
    forged = resign(signer, body)
    assert verify_receipt(forged, jwks).ok
    assert forged["receipt_hash"] != chain[2]["receipt_hash"]

    results = verify_chain([*chain[:2], forged, *chain[3:]], jwks)
    assert [result.ok for result in results] == [True, True, True, False, True]
    assert_only_failure(results[3], CHAIN_LINK, "previous_receipt_hash", "sequence 3", forged["receipt_hash"][:16])
    assert results[3].sequence == 4 and results[3].receipt_id == chain[3]["receipt_id"]


def test_resigned_with_edited_amount_fails_balance(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    # Even with event_sha256 recomputed, the running balance no longer adds up.
    body = rederive({**body_of(chain[2]), "amount": "1.00"})
    forged = resign(signer, body)
    assert verify_receipt(forged, jwks).ok

    results = verify_chain([*chain[:2], forged, *chain[3:]], jwks)
    assert_only_failure(results[2], BALANCE, "13.75", "4.75")  # claims 13.75; 3.75 + 1.00 is 4.75
    assert_fails(results[3], CHAIN_LINK)
    assert results[0].ok and results[1].ok and results[4].ok


def test_resigned_with_edited_balance_fails_balance(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    forged = resign(signer, {**body_of(chain[1]), "balance_after": "0.00"})
    assert verify_receipt(forged, jwks).ok
    results = verify_chain([chain[0], forged], jwks)
    assert_only_failure(results[1], BALANCE, "balance_after 0.00", "3.75")


def test_resigned_with_edited_amount_but_old_event_hash_fails_contract(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    forged = resign(signer, {**body_of(chain[2]), "amount": "1.00"})
    assert_only_failure(verify_receipt(forged, jwks), CONTRACT, "event_sha256")


def test_signature_from_foreign_key_not_in_jwks(chain: list[Receipt], foreign: LocalKeySigner, jwks: Jwks) -> None:
    assert foreign.kid not in jwks.keys
    forged = resign(foreign, {**body_of(chain[0]), "kid": foreign.kid})
    result = verify_receipt(forged, jwks)
    assert_only_failure(result, SIGNATURE, foreign.kid, "not in the JWKS")


def test_foreign_key_claiming_our_kid(chain: list[Receipt], foreign: LocalKeySigner, jwks: Jwks) -> None:
    body = body_of(chain[0])
    our_kid = body["kid"]
    token = raw_jws({"alg": "RS256", "kid": our_kid, "typ": "receipt+jws"}, canonical_bytes(body), rsa_sign(foreign))
    result = verify_receipt(exported(body, token), jwks)
    assert_only_failure(result, SIGNATURE, "does not verify", our_kid)


def test_alg_none_with_empty_signature_fails_format(chain: list[Receipt], jwks: Jwks) -> None:
    body = body_of(chain[0])
    header = b64url(json.dumps({"alg": "none", "kid": body["kid"], "typ": "receipt+jws"}).encode())
    forged = exported(body, f"{header}.{b64url(canonical_bytes(body))}.")
    assert_only_failure(verify_receipt(forged, jwks), FORMAT, "compact")


def test_alg_none_with_any_signature_fails_signature(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    body = body_of(chain[0])
    for sign in (lambda data: b"\x00", rsa_sign(signer)):  # junk, or even a valid RS256 signature
        token = raw_jws({"alg": "none", "kid": body["kid"], "typ": "receipt+jws"}, canonical_bytes(body), sign)
        assert_only_failure(verify_receipt(exported(body, token), jwks), SIGNATURE, "alg", "RS256", "none")


def test_hs256_with_public_key_as_secret_fails_signature(chain: list[Receipt], keyring: KeyRing, jwks: Jwks) -> None:
    """Algorithm confusion: an HMAC keyed with the published public key must never verify."""
    body = body_of(chain[0])
    kid = body["kid"]
    secrets = [keyring.public_pem(kid), json.dumps(keyring.jwks()["keys"][0]).encode()]
    for secret in secrets:

        def sign(data: bytes, secret: bytes = secret) -> bytes:
            return hmac.new(secret, data, hashlib.sha256).digest()

        token = raw_jws({"alg": "HS256", "kid": kid, "typ": "receipt+jws"}, canonical_bytes(body), sign)
        result = verify_receipt(exported(body, token), jwks)
        assert_only_failure(result, SIGNATURE, "alg must be RS256", "HS256")


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"], "exp": 1},
        {"jku": "https://attacker.example/jwks.json"},
        {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
        {"x5u": "https://attacker.example/cert.pem"},
        {"b64": False, "crit": ["b64"]},
    ],
    ids=["crit", "jku", "jwk", "x5u", "b64"],
)
def test_extra_header_parameter_fails_signature(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks, extra: dict[str, Any]
) -> None:
    body = body_of(chain[0])
    header = {"alg": "RS256", "kid": body["kid"], "typ": "receipt+jws", **extra}
    token = raw_jws(header, canonical_bytes(body), rsa_sign(signer))
    result = verify_receipt(exported(body, token), jwks)
    assert_only_failure(result, SIGNATURE, "unexpected JWS header parameters", sorted(extra)[0])


def test_missing_typ_fails_signature(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    body = body_of(chain[0])
    token = raw_jws({"alg": "RS256", "kid": body["kid"]}, canonical_bytes(body), rsa_sign(signer))
    assert_only_failure(verify_receipt(exported(body, token), jwks), SIGNATURE, "typ", "receipt+jws")


@pytest.mark.parametrize("typ", ["JWT", "JOSE", "receipt", "receipt+jwt", ""])
def test_wrong_typ_fails_signature(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks, typ: str) -> None:
    body = body_of(chain[0])
    token = raw_jws({"alg": "RS256", "kid": body["kid"], "typ": typ}, canonical_bytes(body), rsa_sign(signer))
    assert_only_failure(verify_receipt(exported(body, token), jwks), SIGNATURE, "typ", "receipt+jws")


def test_missing_kid_in_header_fails_signature(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    body = body_of(chain[0])
    token = raw_jws({"alg": "RS256", "typ": "receipt+jws"}, canonical_bytes(body), rsa_sign(signer))
    result = verify_receipt(exported(body, token), jwks)
    assert_fails(result, SIGNATURE, "kid")
    assert_fails(result, CONTRACT, "kid")


def test_header_that_is_not_an_object_fails_signature(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    body = body_of(chain[0])
    token = raw_jws(b'["RS256"]', canonical_bytes(body), rsa_sign(signer))
    assert_fails(verify_receipt(exported(body, token), jwks), SIGNATURE, "header", "object")


def test_header_with_duplicate_alg_fails_format(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    body = body_of(chain[0])
    header = b'{"alg":"none","alg":"RS256","kid":"%s","typ":"receipt+jws"}' % body["kid"].encode()
    token = raw_jws(header, canonical_bytes(body), rsa_sign(signer))
    assert_only_failure(verify_receipt(exported(body, token), jwks), FORMAT, "duplicate member", "alg")


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode(),  # UTF-8 with a byte order mark
        lambda text: text.encode("utf-16-le"),
        lambda text: text.encode("utf-32"),
    ],
    ids=["utf-8-bom", "utf-16", "utf-32"],
)
def test_header_that_is_not_plain_utf8_fails_format(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks, encode: Callable[[str], bytes]
) -> None:
    # RFC 7515: the header is UTF-8 JSON. json.loads(bytes) would also guess UTF-16 and UTF-32.
    body = body_of(chain[0])
    header = encode(json.dumps({"alg": "RS256", "kid": body["kid"], "typ": "receipt+jws"}, separators=(",", ":")))
    token = raw_jws(header, canonical_bytes(body), rsa_sign(signer))
    assert_only_failure(verify_receipt(exported(body, token), jwks), FORMAT, "not a JWS")


@pytest.mark.parametrize("part", [0, 1, 2])
def test_padded_base64url_fails_format(chain: list[Receipt], jwks: Jwks, part: int) -> None:
    parts = token_parts(chain[0])
    parts[part] += "=" * (-len(parts[part]) % 4 or 4)  # properly padded, or one '=' too many
    forged = {**chain[0], "signature": ".".join(parts)}
    assert_only_failure(verify_receipt(forged, jwks), FORMAT, "base64url")


def test_standard_base64_alphabet_fails_format(chain: list[Receipt], jwks: Jwks) -> None:
    receipt = next(r for r in chain if {"-", "_"} & set(token_parts(r)[2]))
    header_b64, payload_b64, signature_b64 = token_parts(receipt)
    standard = signature_b64.replace("-", "+").replace("_", "/")
    assert base64.b64decode(standard + "=" * (-len(standard) % 4)) == b64url_decode(signature_b64)
    forged = {**receipt, "signature": f"{header_b64}.{payload_b64}.{standard}"}
    assert_only_failure(verify_receipt(forged, jwks), FORMAT, "base64url")


def test_non_canonical_base64url_trailing_bits_fail_format(chain: list[Receipt], jwks: Jwks) -> None:
    # 256 signature bytes leave 4 unused bits in the last character; they must be zero.
    header_b64, payload_b64, signature_b64 = token_parts(chain[0])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature_b64[-1])
    sibling = alphabet[last ^ 0x01]
    forged = {**chain[0], "signature": f"{header_b64}.{payload_b64}.{signature_b64[:-1]}{sibling}"}
    assert_only_failure(verify_receipt(forged, jwks), FORMAT, "base64url")


@pytest.mark.parametrize(
    "token",
    [None, 42, "", "a.b", "a.b.c.d", "..", "a..c", "eyJ.eyJ.sig\u00e9", "a b.c.d"],
    ids=["none", "int", "empty", "two-parts", "four-parts", "empty-parts", "empty-payload", "non-ascii", "space"],
)
def test_malformed_signature_field_fails_format(chain: list[Receipt], jwks: Jwks, token: Any) -> None:
    result = verify_receipt({**chain[0], "signature": token}, jwks)
    assert_only_failure(result, FORMAT, "JWS")
    assert result.body is None


def test_receipt_that_is_not_an_object_fails_format(jwks: Jwks) -> None:
    for value in ([], "receipt", None, 7):
        result = verify_receipt(value, jwks)  # type: ignore[arg-type]
        assert_only_failure(result, FORMAT, "object")
