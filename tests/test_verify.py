"""verify_receipt and verify_chain (receipts/verify.py): one test per way a receipt or a
chain segment can be wrong, each naming the check that must fail and why.

Forgeries are built the way an attacker would: by editing the export, re-encoding the
payload, re-signing with some key (ours, a foreign one, a weak one, an HMAC secret) or by
reordering, deleting and repeating lines. Nothing here patches the code under test.
"""

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import RSAKey

from receipts.canonical import ZERO_HASH, canonical_bytes, receipt_id, sha256_hex
from receipts.events import Event, validate_event
from receipts.jws import Signer, b64url, b64url_decode, sign_payloads
from receipts.keys import Jwks, public_jwk
from receipts.ledger import QUOTA_EXCEEDED, REJECTED, ChainState, Entitlement
from receipts.records import SignedReceipt
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.verify import (
    BALANCE,
    CANONICAL,
    CHAIN_LINK,
    CONTRACT,
    FORMAT,
    HASH,
    IDEMPOTENCY,
    SEQUENCE,
    SIGNATURE,
    Verification,
    verify_chain,
    verify_receipt,
)
from tests.conftest import PROCESSED_AT, make_event

ALL_CHECKS = {FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT, SEQUENCE, CHAIN_LINK, BALANCE, IDEMPOTENCY}
RECEIPT_CHECKS = [FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT]

Receipt = dict[str, Any]


# -- helpers: build forgeries ------------------------------------------------------------


def body_of(receipt: Receipt) -> dict[str, Any]:
    """The signed body fields of an exported receipt (everything but hash and signature)."""
    return {name: value for name, value in receipt.items() if name not in ("receipt_hash", "signature")}


def exported(body: dict[str, Any], token: str, payload: bytes | None = None) -> Receipt:
    """An export line's object for `body`, with receipt_hash over `payload` (default canonical)."""
    payload = canonical_bytes(body) if payload is None else payload
    return {**body, "receipt_hash": sha256_hex(payload), "signature": token}


def resign(signer: Signer, body: dict[str, Any]) -> Receipt:
    """What someone holding `signer`'s key can do: sign any body the proper way."""
    [token] = sign_payloads(signer, [canonical_bytes(body)])
    return exported(body, token)


def rederive(body: dict[str, Any]) -> dict[str, Any]:
    """Recompute receipt_id and event_sha256 after the event fields of a body were edited."""
    event = validate_event(
        {
            "idempotent_key": body["idempotent_key"],
            "customer_id": body["customer_id"],
            "amount": body["amount"],
            "currency": body["currency"],
            "timestamp": body["event_timestamp"],
            "entitlement_id": body["entitlement_id"],
            "usage_description": body["usage_description"],
        }
    )
    assert isinstance(event, Event), event
    return {**body, "receipt_id": event.receipt_id, "event_sha256": event.event_sha256}


def raw_jws(header: dict[str, Any] | bytes, payload: bytes, sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS with any header and payload, signed by `sign` over the signing input."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    signing_input = f"{b64url(header_bytes)}.{b64url(payload)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64url(sign(signing_input))}"


def rsa_sign(signer: Signer) -> Callable[[bytes], bytes]:
    return lambda data: signer.sign([data])[0]


def new_signer(bits: int = 2048) -> LocalKeySigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return LocalKeySigner(pem)


def public_pem_of(signer: LocalKeySigner) -> bytes:
    return signer._key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def token_parts(receipt: Receipt) -> list[str]:
    return receipt["signature"].split(".")


# -- helpers: read results ---------------------------------------------------------------


def names(checks: Iterable[Any]) -> list[str]:
    return [check.check for check in checks]


def assert_fails(result: Verification, check: str, *words: str) -> str:
    """`result` is not ok, `check` is among its failures and its reason holds every word."""
    assert result.ok is False
    failing = {failure.check: failure.reason for failure in result.failures}
    assert check in failing, f"expected {check!r} to fail, failures were {failing}"
    reason = failing[check]
    assert reason.strip(), f"{check} failed without a reason"
    for word in words:
        assert word.lower() in reason.lower(), f"{word!r} not in the {check} reason {reason!r}"
    return reason


def assert_only_failure(result: Verification, check: str, *words: str) -> str:
    reason = assert_fails(result, check, *words)
    assert names(result.failures) == [check], [(f.check, f.reason) for f in result.failures]
    return reason


def assert_all_ok(results: Sequence[Verification]) -> None:
    for result in results:
        assert result.ok, (result.named(), [(f.check, f.reason) for f in result.failures])


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(make_chain: Callable[..., list[Receipt]]) -> list[Receipt]:
    """Five receipts of one customer with distinct amounts (so balances tell them apart)."""
    return make_chain(5, customer="cust_v", amounts=["1.50", "2.25", "10.00", "0.01", "3.00"])


@pytest.fixture(scope="module")
def foreign() -> LocalKeySigner:
    """A well-formed RSA key that is not ours and is not in our JWKS."""
    return new_signer()


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


# -- per receipt: canonical payload ------------------------------------------------------


def test_payload_with_spaces_signed_validly_fails_canonical(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = body_of(chain[0])
    payload = json.dumps(body, sort_keys=True).encode()  # ", " and ": " separators
    assert json.loads(payload) == body and payload != canonical_bytes(body)
    token = raw_jws({"alg": "RS256", "kid": body["kid"], "typ": "receipt+jws"}, payload, rsa_sign(signer))
    result = verify_receipt(exported(body, token, payload), jwks)
    assert_only_failure(result, CANONICAL, "RFC 8785")
    assert result.body is None


def test_payload_with_unsorted_keys_signed_validly_fails_canonical(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = body_of(chain[0])
    payload = json.dumps(dict(reversed(list(body.items()))), separators=(",", ":")).encode()
    assert json.loads(payload) == body and payload != canonical_bytes(body)
    token = raw_jws({"alg": "RS256", "kid": body["kid"], "typ": "receipt+jws"}, payload, rsa_sign(signer))
    assert_only_failure(verify_receipt(exported(body, token, payload), jwks), CANONICAL, "RFC 8785")


def test_payload_with_escaped_ascii_signed_validly_fails_canonical(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = body_of(chain[0])
    payload = canonical_bytes(body).replace(b'"cust_v"', b'"cust\\u005fv"')
    assert json.loads(payload) == body and payload != canonical_bytes(body)
    token = raw_jws({"alg": "RS256", "kid": body["kid"], "typ": "receipt+jws"}, payload, rsa_sign(signer))
    assert_only_failure(verify_receipt(exported(body, token, payload), jwks), CANONICAL, "RFC 8785")


def test_payload_with_duplicate_member_names_fails_canonical(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = body_of(chain[0])
    canonical = canonical_bytes(body)
    # A parser that keeps the last value reads 1.50; one that keeps the first reads 0.01.
    payload = b'{"amount":"0.01",' + canonical[1:]
    token = raw_jws({"alg": "RS256", "kid": body["kid"], "typ": "receipt+jws"}, payload, rsa_sign(signer))
    result = verify_receipt(exported(body, token, payload), jwks)
    assert_only_failure(result, CANONICAL, "duplicate member", "amount")
    assert result.body is None


@pytest.mark.parametrize(
    "payload",
    [b"[1,2]", b'"text"', b"not json", b"\xff\xfe", b'{"amount":NaN}', b"{}"],
    ids=["array", "string", "garbage", "not-utf8", "nan", "empty-object"],
)
def test_payload_that_is_not_a_receipt_body(signer: LocalKeySigner, jwks: Jwks, payload: bytes) -> None:
    token = raw_jws({"alg": "RS256", "kid": signer.kid, "typ": "receipt+jws"}, payload, rsa_sign(signer))
    result = verify_receipt({"receipt_hash": sha256_hex(payload), "signature": token}, jwks)
    assert result.ok is False
    failing = names(result.failures)
    assert failing in ([CANONICAL], [CONTRACT]), failing
    assert all(failure.reason for failure in result.failures)
    assert SIGNATURE not in failing  # the signature itself is fine: the payload is the problem


# -- per receipt: hash and contract ------------------------------------------------------


@pytest.mark.parametrize(
    "claimed",
    [ZERO_HASH, "A" * 64, None, "", "sha256:abc"],
    ids=["zeros", "upper", "null", "empty", "prefixed"],
)
def test_receipt_hash_wrong_fails_hash(chain: list[Receipt], jwks: Jwks, claimed: Any) -> None:
    result = verify_receipt({**chain[1], "receipt_hash": claimed}, jwks)
    assert_only_failure(result, HASH, "receipt_hash", chain[1]["receipt_hash"])


def test_receipt_hash_in_upper_case_fails_hash(chain: list[Receipt], jwks: Jwks) -> None:
    result = verify_receipt({**chain[1], "receipt_hash": chain[1]["receipt_hash"].upper()}, jwks)
    assert_only_failure(result, HASH, "SHA-256")


def test_kid_in_body_differs_from_header_fails_contract(
    chain: list[Receipt], signer: LocalKeySigner, foreign: LocalKeySigner, jwks: Jwks
) -> None:
    body = {**body_of(chain[0]), "kid": foreign.kid}
    result = verify_receipt(resign(signer, body), jwks)  # header kid is ours, body kid is not
    assert_only_failure(result, CONTRACT, "kid", foreign.kid, signer.kid)


def test_sequence_one_with_nonzero_previous_hash_fails_contract(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = {**body_of(chain[0]), "previous_receipt_hash": chain[3]["receipt_hash"]}
    assert_only_failure(verify_receipt(resign(signer, body), jwks), CONTRACT, "64 zeros", "sequence is 1")


def test_later_sequence_with_zero_previous_hash_fails_contract(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = {**body_of(chain[2]), "previous_receipt_hash": ZERO_HASH}
    assert_only_failure(verify_receipt(resign(signer, body), jwks), CONTRACT, "64 zeros")


def test_receipt_id_not_derived_from_customer_and_key_fails_contract(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = body_of(chain[1])
    for wrong in (
        "r_" + "a" * 26,
        receipt_id("cust_other", body["idempotent_key"]),
        receipt_id(body["customer_id"], "evt-0"),
    ):
        result = verify_receipt(resign(signer, {**body, "receipt_id": wrong}), jwks)
        assert_only_failure(result, CONTRACT, "receipt_id", "not derived", body["receipt_id"])


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("v", 2, ["v must be 1"]),
        ("v", True, ["v must be 1"]),
        ("sequence", 0, ["sequence"]),
        ("sequence", "2", ["sequence"]),
        ("status", "refunded", ["status"]),
        ("reason", "quota_exceeded", ["reason"]),
        ("amount", "2.2", ["amount"]),
        ("balance_after", "-1.00", ["balance_after"]),
        ("quota_remaining", 5, ["quota_remaining"]),
        ("processed_at", "2026-01-25T12:00:00+01:00", ["processed_at"]),
        ("event_timestamp", "2026-01-25T11:01:00+01:00", ["UTC"]),
        ("previous_receipt_hash", "AB" * 32, ["previous_receipt_hash"]),
    ],
)
def test_contract_violations_signed_validly_fail_contract(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks, field: str, value: Any, words: list[str]
) -> None:
    body = {**body_of(chain[1]), field: value}
    assert_only_failure(verify_receipt(resign(signer, body), jwks), CONTRACT, *words)


def test_body_fields_missing_or_unexpected_fail_contract(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    body = body_of(chain[1])
    missing = {name: value for name, value in body.items() if name != "balance_after"}
    assert_only_failure(verify_receipt(resign(signer, missing), jwks), CONTRACT, "missing", "balance_after")
    extra = {**body, "discount": "0.50"}
    assert_only_failure(verify_receipt(resign(signer, extra), jwks), CONTRACT, "unexpected", "discount")


# -- chains: sequence, links, idempotency, balances --------------------------------------


def test_sequence_gap_fails_sequence_and_chain_link(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain([chain[0], chain[3], chain[4]], jwks)  # 2 and 3 missing
    assert results[0].ok and results[2].ok
    assert_fails(results[1], SEQUENCE, "sequence 4 follows 1", "expected 2")
    assert_fails(results[1], CHAIN_LINK, "sequence 1")
    assert_fails(results[1], BALANCE)
    assert set(names(results[1].failures)) == {SEQUENCE, CHAIN_LINK, BALANCE}


def test_receipt_deleted_from_the_middle_names_the_next_one(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain([*chain[:2], *chain[3:]], jwks)
    failing = [result for result in results if not result.ok]
    assert len(failing) == 1
    [culprit] = failing
    assert culprit.sequence == 4 and culprit.receipt_id == chain[3]["receipt_id"]
    assert "sequence 4" in culprit.named()
    assert_fails(culprit, SEQUENCE, "sequence 4 follows 2; expected 3")
    assert_fails(culprit, CHAIN_LINK, "sequence 2")
    assert_fails(culprit, BALANCE, "13.76", "3.75")


def test_repeated_sequence_fork_fails_sequence_and_chain_link(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    # A second, different receipt 3 (another event) that links to receipt 2: a fork.
    fork_body = rederive({**body_of(chain[2]), "idempotent_key": "evt-fork"})
    fork = resign(signer, fork_body)
    assert verify_receipt(fork, jwks).ok
    results = verify_chain([*chain[:3], fork], jwks)
    assert all(result.ok for result in results[:3])
    assert_fails(results[3], SEQUENCE, "sequence 3 follows 3", "expected 4")
    assert_fails(results[3], CHAIN_LINK, "sequence 3")
    assert IDEMPOTENCY not in names(results[3].failures)


def test_two_receipts_swapped_names_the_first_out_of_place(chain: list[Receipt], jwks: Jwks) -> None:
    swapped = [chain[0], chain[1], chain[3], chain[2], chain[4]]
    results = verify_chain(swapped, jwks)
    assert results[0].ok and results[1].ok
    first_bad = next(result for result in results if not result.ok)
    assert first_bad is results[2]
    assert first_bad.sequence == 4 and first_bad.receipt_id == chain[3]["receipt_id"]
    assert_fails(results[2], SEQUENCE, "sequence 4 follows 2; expected 3")
    assert_fails(results[2], CHAIN_LINK, "sequence 2")
    assert results[3].sequence == 3 and results[3].receipt_id == chain[2]["receipt_id"]
    assert_fails(results[3], SEQUENCE, "sequence 3 follows 4; expected 5")
    assert_fails(results[3], CHAIN_LINK, "sequence 4")
    for result in results:  # each receipt on its own is still fine
        assert all(check.ok for check in result.checks if check.check in RECEIPT_CHECKS)


def test_same_receipt_twice_fails_idempotency(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain([*chain[:3], chain[2]], jwks)
    assert all(result.ok for result in results[:3])
    assert_fails(results[3], IDEMPOTENCY, "line 3")
    assert_fails(results[3], SEQUENCE)
    assert_fails(results[3], CHAIN_LINK)


def test_idempotency_key_reused_by_a_later_receipt_fails_idempotency(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    # Receipt 5 re-signed for a key already charged in receipt 1: links and balance are fine.
    reused = resign(signer, rederive({**body_of(chain[4]), "idempotent_key": chain[0]["idempotent_key"]}))
    assert reused["receipt_id"] == chain[0]["receipt_id"]
    results = verify_chain([*chain[:4], reused], jwks)
    assert all(result.ok for result in results[:4])
    assert_only_failure(results[4], IDEMPOTENCY, "line 1")


def test_segment_starting_at_sequence_three_passes(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain(chain[2:], jwks)
    assert_all_ok(results)
    assert [result.sequence for result in results] == [3, 4, 5]
    assert CHAIN_LINK not in names(results[0].checks)  # its first link is unknown
    # Not compared is said so, never shown as a check that passed on evidence.
    first = {check.check: check for check in results[0].checks}
    assert first[SEQUENCE].reason.startswith("not checked: the receipt before this one was not given")
    assert first[BALANCE].reason.startswith("not checked: no earlier balance in USD was given")
    assert not first[SEQUENCE].ran and not first[BALANCE].ran and first[IDEMPOTENCY].ran
    assert all(check.ran for result in results[1:] for check in result.checks)


def test_the_first_receipt_of_a_chain_says_so_plainly(chain: list[Receipt], jwks: Jwks) -> None:
    first = {check.check: check for check in verify_chain(chain[:1], jwks)[0].checks}
    assert first[SEQUENCE].reason == "sequence 1: the start of this customer's chain"
    assert first[SEQUENCE].ran and first[BALANCE].ran


def test_a_receipt_after_a_body_without_sequence_is_checked_not_a_crash(
    chain: list[Receipt], foreign: LocalKeySigner, jwks: Jwks
) -> None:
    # Anyone can sign a body without "sequence" with some key and paste it before a real receipt.
    headless = {name: value for name, value in body_of(chain[0]).items() if name != "sequence"}
    results = verify_chain([resign(foreign, headless), chain[1]], jwks)
    assert_fails(results[0], SIGNATURE)
    assert_fails(results[1], SEQUENCE, "sequence 2 follows None; expected None")


def test_segment_then_edited_balance_still_checked(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    forged = resign(signer, {**body_of(chain[3]), "balance_after": "99.99"})
    results = verify_chain([chain[2], forged], jwks)
    assert results[0].ok
    assert_only_failure(results[1], BALANCE, "99.99", "13.76")


def test_chains_of_two_customers_interleaved_pass(make_chain: Callable[..., list[Receipt]], jwks: Jwks) -> None:
    first = make_chain(3, customer="cust_a", amounts=["1.00"])
    second = make_chain(3, customer="cust_b", amounts=["5"], currency="JPY")
    mixed = [first[0], second[0], second[1], first[1], first[2], second[2]]
    assert_all_ok(verify_chain(mixed, jwks))


def test_rejected_receipts_verify_and_balances_hold(
    make_chain: Callable[..., list[Receipt]], signer: LocalKeySigner, jwks: Jwks
) -> None:
    entitlement = Entitlement("cust_q", "ent_small", 400, "USD")  # 4.00 USD
    receipts = make_chain(5, customer="cust_q", amounts=["1.50"], entitlement=entitlement)
    assert [r["status"] for r in receipts] == ["accepted", "accepted", REJECTED, REJECTED, REJECTED]
    assert [r["reason"] for r in receipts] == [None, None, QUOTA_EXCEEDED, QUOTA_EXCEEDED, QUOTA_EXCEEDED]
    assert [r["balance_after"] for r in receipts] == ["1.50", "3.00", "3.00", "3.00", "3.00"]
    assert [r["quota_remaining"] for r in receipts] == ["2.50", "1.00", "1.00", "1.00", "1.00"]
    assert_all_ok(verify_chain(receipts, jwks))

    # A rejected receipt that charges anyway breaks the balance.
    charged = resign(signer, {**body_of(receipts[2]), "balance_after": "4.50"})
    assert verify_receipt(charged, jwks).ok
    results = verify_chain([*receipts[:2], charged], jwks)
    assert_only_failure(results[2], BALANCE, "4.50", "3.00", "nothing charged")

    # A rejected receipt claimed as accepted (reason dropped) passes alone but its balance does not.
    accepted = resign(signer, {**body_of(receipts[2]), "status": "accepted", "reason": None})
    assert verify_receipt(accepted, jwks).ok
    assert_only_failure(verify_chain([*receipts[:2], accepted], jwks)[2], BALANCE, "3.00", "4.50")


def test_receipts_of_the_same_chain_with_a_foreign_receipt_mixed_in(
    chain: list[Receipt], foreign: LocalKeySigner, jwks: Jwks
) -> None:
    forged = resign(foreign, {**body_of(chain[2]), "kid": foreign.kid})
    results = verify_chain([*chain[:2], forged, *chain[3:]], jwks)
    assert_only_failure(results[2], SIGNATURE, "not in the JWKS")
    assert_only_failure(results[3], CHAIN_LINK, "sequence 3")  # another kid, another payload hash
    assert results[0].ok and results[1].ok and results[4].ok


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
