"""verify_receipt on signed payloads that are not what a receipt must be: not canonical,
a wrong receipt_hash, or a body that breaks the receipt contract."""

import base64
import json
from typing import Any

import pytest

from receipts.canonical import ZERO_HASH, canonical_bytes, receipt_id, sha256_hex
from receipts.keys import Jwks
from receipts.stores.signers import LocalKeySigner
from receipts.verify import (
    CANONICAL,
    CONTRACT,
    HASH,
    SIGNATURE,
    verify_receipt,
)
from tests.verify.forgeries import (
    Receipt,
    assert_only_failure,
    body_of,
    exported,
    names,
    raw_jws,
    resign,
    rsa_sign,
)

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
        ("v", 3, ["unexpected ['corrects', 'type']"]),  # v 3 is no version: read as v1, whose fields it lacks
        ("v", 1, ["unexpected ['corrects', 'type']"]),  # a v2 body is no v1 body
        ("v", True, ["unexpected ['corrects', 'type']"]),
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


def test_the_body_is_the_signed_payload_parsed_however_the_fields_were_given(chain: list[Receipt], jwks: Jwks) -> None:
    """The exported fields stand in for the parsed payload only when they are it, type for
    type: reordered fields give the payload's order, a JSON-equal float gives the int signed."""
    payload = chain[1]["signature"].split(".")[1]
    signed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    reordered = dict(reversed(list(chain[1].items())))
    as_float = {**chain[1], "sequence": float(chain[1]["sequence"])}
    for given in (chain[1], reordered, as_float):
        result = verify_receipt(given, jwks)
        assert result.ok, result.failures
        assert list(result.body) == sorted(signed) and result.body == signed
        assert type(result.body["sequence"]) is int
