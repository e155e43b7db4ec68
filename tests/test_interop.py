"""The receipt format against tools we did not write (DESIGN.md, "The receipt contract (v1)").

joserfc and PyJWT verify our JWS, `openssl dgst` verifies the raw RS256 signature, the
RFC 7638 and RFC 8785 examples come out as the RFCs print them, and receipts signed by
those tools verify with our verifier.
"""

import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from receipts.canonical import canonical_bytes, receipt_hash, sha256_hex
from receipts.jws import b64url, b64url_decode, sign_payloads
from receipts.keys import Jwks, public_jwk
from receipts.ledger import ChainState
from receipts.records import SignedReceipt, export_line
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.verify import verify_chain, verify_receipt
from tests.conftest import PROCESSED_AT, make_event

Receipt = dict[str, Any]

# RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
        "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdA"
        "ZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
        "kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

BODY_FIELDS = {
    "v", "receipt_id", "customer_id", "sequence", "previous_receipt_hash", "idempotent_key", "event_sha256",
    "entitlement_id", "amount", "currency", "usage_description", "event_timestamp", "processed_at", "status",
    "reason", "balance_after", "quota_remaining", "kid", "type", "corrects",
}  # fmt: skip

UNICODE_DESCRIPTION = "Größe 10 € — line\u2028separator, paragraph\u2029end, emoji \U0001f600, tab\tnew\nline"


def body_of(receipt: Receipt) -> dict[str, Any]:
    return {name: value for name, value in receipt.items() if name not in ("receipt_hash", "signature")}


def b64url_pad(text: str) -> bytes:
    """Plain stdlib base64url decode (padding added): what a third party would write."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def independent_jcs(body: dict[str, Any]) -> bytes:
    """RFC 8785 for a receipt body (ASCII keys; strings, integers and null only), by the stdlib:
    sorted keys, no whitespace, UTF-8, only the characters JSON requires escaped."""
    assert all(key.isascii() for key in body)
    assert all(value is None or isinstance(value, str | int) for value in body.values())
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@pytest.fixture(scope="module")
def chain(make_chain: Callable[..., list[Receipt]]) -> list[Receipt]:
    return make_chain(4, customer="cust_i", amounts=["1.50", "20.00", "0.99"])


@pytest.fixture(scope="module")
def unicode_receipt(signer: LocalKeySigner) -> Receipt:
    """A receipt whose usage_description holds non-ASCII, U+2028/U+2029 and control characters."""
    event = make_event(customer_id="cust_u", idempotent_key="evt-ü€", usage_description=UNICODE_DESCRIPTION)
    chained = ChainState("cust_u").append(event, None, signer.kid, PROCESSED_AT)
    [token] = sign_payloads(signer, [chained.canonical])
    return SignedReceipt(chained, token).export()


@pytest.fixture(scope="module")
def all_receipts(chain: list[Receipt], unicode_receipt: Receipt) -> list[Receipt]:
    return [*chain, unicode_receipt]


# -- (a) joserfc -------------------------------------------------------------------------


def test_joserfc_verifies_every_jws_of_a_chain(all_receipts: list[Receipt], keyring: KeyRing) -> None:
    key_set = KeySet.import_key_set(keyring.jwks())
    for receipt in all_receipts:
        obj = jws.deserialize_compact(receipt["signature"], key_set, algorithms=["RS256"])
        assert obj.payload == canonical_bytes(body_of(receipt))
        assert json.loads(obj.payload) == body_of(receipt)
        assert obj.protected == {"alg": "RS256", "kid": receipt["kid"], "typ": "receipt+jws"}


def test_joserfc_rejects_a_tampered_payload(chain: list[Receipt], keyring: KeyRing) -> None:
    key_set = KeySet.import_key_set(keyring.jwks())
    header_b64, _, signature_b64 = chain[1]["signature"].split(".")
    edited = canonical_bytes({**body_of(chain[1]), "amount": "0.01"})
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(f"{header_b64}.{b64url(edited)}.{signature_b64}", key_set, algorithms=["RS256"])


def test_joserfc_signed_receipt_verifies_with_ours(chain: list[Receipt], keyring: KeyRing, jwks: Jwks) -> None:
    """The other direction: a JWS made by joserfc from the same body and key is a valid receipt."""
    body = body_of(chain[0])
    private = RSAKey.import_key(keyring.private_pem(body["kid"]))
    token = jws.serialize_compact(
        {"alg": "RS256", "kid": body["kid"], "typ": "receipt+jws"}, canonical_bytes(body), private
    )
    assert verify_receipt({**body, "receipt_hash": receipt_hash(body), "signature": token}, jwks).ok
    # RSASSA-PKCS1-v1_5 is deterministic: joserfc produces our exact token.
    assert token == chain[0]["signature"]


# -- (b) PyJWT ---------------------------------------------------------------------------


def test_pyjwt_verifies_every_jws_of_a_chain(all_receipts: list[Receipt], keyring: KeyRing) -> None:
    keys = {entry["kid"]: jwt.algorithms.RSAAlgorithm.from_jwk(entry) for entry in keyring.jwks()["keys"]}
    decoder = jwt.api_jws.PyJWS()
    for receipt in all_receipts:
        header = decoder.get_unverified_header(receipt["signature"])
        decoded = decoder.decode_complete(receipt["signature"], key=keys[header["kid"]], algorithms=["RS256"])
        assert decoded["payload"] == canonical_bytes(body_of(receipt))
        assert decoded["header"] == {"alg": "RS256", "kid": receipt["kid"], "typ": "receipt+jws"}
        assert decoded["signature"] == b64url_pad(receipt["signature"].split(".")[2])


def test_pyjwt_from_json_text_of_the_jwk(chain: list[Receipt], keyring: KeyRing) -> None:
    [entry] = [key for key in keyring.jwks()["keys"] if key["kid"] == chain[0]["kid"]]
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(entry))
    decoded = jwt.api_jws.PyJWS().decode_complete(chain[0]["signature"], key=key, algorithms=["RS256"])
    assert decoded["payload"] == canonical_bytes(body_of(chain[0]))


def test_pyjwt_rejects_a_tampered_payload_and_other_algorithms(chain: list[Receipt], keyring: KeyRing) -> None:
    [entry] = keyring.jwks()["keys"]
    key = jwt.algorithms.RSAAlgorithm.from_jwk(entry)
    decoder = jwt.api_jws.PyJWS()
    header_b64, _, signature_b64 = chain[1]["signature"].split(".")
    edited = canonical_bytes({**body_of(chain[1]), "amount": "0.01"})
    with pytest.raises(jwt.exceptions.InvalidSignatureError):
        decoder.decode_complete(f"{header_b64}.{b64url(edited)}.{signature_b64}", key=key, algorithms=["RS256"])
    with pytest.raises(jwt.exceptions.InvalidAlgorithmError):
        decoder.decode_complete(chain[1]["signature"], key=key, algorithms=["PS256"])


def test_pyjwt_signed_receipt_verifies_with_ours(chain: list[Receipt], keyring: KeyRing, jwks: Jwks) -> None:
    body = body_of(chain[2])
    token = jwt.api_jws.PyJWS().encode(
        canonical_bytes(body),
        keyring.private_pem(body["kid"]),
        algorithm="RS256",
        headers={"kid": body["kid"], "typ": "receipt+jws"},
    )
    assert verify_receipt({**body, "receipt_hash": receipt_hash(body), "signature": token}, jwks).ok


# -- (c) openssl -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("the openssl command line tool is not installed (PATH has no 'openssl')")
    return path


def openssl_verify(openssl: str, folder: Path, pem: bytes, signing_input: bytes, signature: bytes) -> tuple[int, str]:
    (folder / "pub.pem").write_bytes(pem)
    (folder / "input.txt").write_bytes(signing_input)
    (folder / "sig.bin").write_bytes(signature)
    completed = subprocess.run(
        [openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "input.txt"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def test_openssl_verifies_the_rs256_signature(
    openssl: str, all_receipts: list[Receipt], keyring: KeyRing, tmp_path: Path
) -> None:
    for index, receipt in enumerate(all_receipts):
        header_b64, payload_b64, signature_b64 = receipt["signature"].split(".")
        folder = tmp_path / f"r{index}"
        folder.mkdir()
        code, output = openssl_verify(
            openssl,
            folder,
            keyring.public_pem(receipt["kid"]),
            f"{header_b64}.{payload_b64}".encode("ascii"),
            b64url_pad(signature_b64),
        )
        assert code == 0 and "Verified OK" in output, output


def test_openssl_rejects_tampered_input_and_signature(
    openssl: str, chain: list[Receipt], keyring: KeyRing, tmp_path: Path
) -> None:
    header_b64, payload_b64, signature_b64 = chain[1]["signature"].split(".")
    pem = keyring.public_pem(chain[1]["kid"])
    signature = b64url_pad(signature_b64)
    edited = b64url(canonical_bytes({**body_of(chain[1]), "amount": "0.01"}))

    code, output = openssl_verify(openssl, tmp_path, pem, f"{header_b64}.{edited}".encode(), signature)
    assert code != 0 and "Verified OK" not in output and "Verification failure" in output, output

    code, output = openssl_verify(openssl, tmp_path, pem, f"{header_b64}.{payload_b64}\n".encode(), signature)
    assert code != 0 and "Verified OK" not in output, output

    flipped = bytes([signature[0] ^ 0x01]) + signature[1:]
    code, output = openssl_verify(openssl, tmp_path, pem, f"{header_b64}.{payload_b64}".encode(), flipped)
    assert code != 0 and "Verified OK" not in output, output


def test_openssl_signed_receipt_verifies_with_ours(
    openssl: str, chain: list[Receipt], keyring: KeyRing, jwks: Jwks, tmp_path: Path
) -> None:
    """openssl signs a signing input built by hand; our verifier accepts the result."""
    body = body_of(chain[3])
    header = b'{"alg":"RS256","kid":"%s","typ":"receipt+jws"}' % body["kid"].encode()
    signing_input = f"{b64url(header)}.{b64url(canonical_bytes(body))}".encode("ascii")
    (tmp_path / "key.pem").write_bytes(keyring.private_pem(body["kid"]))
    (tmp_path / "input.txt").write_bytes(signing_input)
    subprocess.run(
        [openssl, "dgst", "-sha256", "-sign", "key.pem", "-out", "sig.bin", "input.txt"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=60,
    )
    token = f"{signing_input.decode()}.{b64url((tmp_path / 'sig.bin').read_bytes())}"
    assert token == chain[3]["signature"]
    assert verify_receipt({**body, "receipt_hash": receipt_hash(body), "signature": token}, jwks).ok


# -- (d) RFC 7638 thumbprints -------------------------------------------------------------


def hand_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 section 3 by hand: SHA-256 of the required members, sorted, no whitespace."""
    required = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(required.encode()).digest()).rstrip(b"=").decode()


def test_rfc7638_example_thumbprint() -> None:
    assert hand_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT
    key = RSAKey.import_key(RFC7638_JWK)
    assert key.thumbprint() == RFC7638_THUMBPRINT
    # Our own path: the key as PEM through receipts.keys.public_jwk.
    pem = key.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    ours = public_jwk(pem)
    assert ours["kid"] == RFC7638_THUMBPRINT
    assert ours == {
        "kty": "RSA",
        "n": RFC7638_JWK["n"],
        "e": "AQAB",
        "kid": RFC7638_THUMBPRINT,
        "alg": "RS256",
        "use": "sig",
    }
    # And it is a key our verifier trusts under that kid (2048 bits, kid = thumbprint).
    assert list(Jwks({"keys": [ours]}).keys) == [RFC7638_THUMBPRINT]
    # Its "2011-04-29" kid is not a thumbprint, so as published in the RFC it is not trusted.
    assert "thumbprint" in Jwks({"keys": [RFC7638_JWK]}).problems["2011-04-29"]


def test_our_jwks_kids_are_third_party_thumbprints(keyring: KeyRing, tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.ensure_current()
    ring.rotate()
    for document in (keyring.jwks(), ring.jwks()):
        for entry in document["keys"]:
            assert set(entry) == {"kty", "n", "e", "kid", "alg", "use"}
            assert (entry["kty"], entry["alg"], entry["use"]) == ("RSA", "RS256", "sig")
            assert entry["kid"] == RSAKey.import_key(entry).thumbprint()
            assert entry["kid"] == hand_thumbprint(entry)
            assert entry["kid"] == jwt.PyJWK(entry).key_id
    for entry in ring.jwks()["keys"]:  # and the PEM served beside the JWKS is the same key
        assert RSAKey.import_key(ring.public_pem(entry["kid"])).thumbprint() == entry["kid"]


# -- (e) RFC 8785 canonical bytes -------------------------------------------------------


def test_rfc8785_sorting_example() -> None:
    """RFC 8785 section 3.2.3: keys sorted by UTF-16 code units (the emoji's surrogate
    D83D sorts before U+FB33 although its code point is larger)."""
    document = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
        '"\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode("utf-8")
    assert canonical_bytes(document) == expected
    # Code point order (what json.dumps(sort_keys=True) does) would differ: this is the UTF-16 rule.
    assert json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() != expected


def test_rfc8785_serialization_example() -> None:
    """RFC 8785 section 3.2.4: numbers in ECMAScript form, minimal string escaping."""
    source = (
        '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals":[null,true,false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode("utf-8")
    assert canonical_bytes(json.loads(source)) == expected


def test_unicode_body_is_canonical_utf8_and_hashed(unicode_receipt: Receipt, jwks: Jwks) -> None:
    body = body_of(unicode_receipt)
    canonical = canonical_bytes(body)
    # Non-ASCII and U+2028/U+2029 are raw UTF-8, not \u escapes; only controls are escaped.
    assert "Größe 10 €".encode() in canonical
    assert "\u2028".encode() in canonical and b"\\u2028" not in canonical
    assert "\u2029".encode() in canonical and b"\\u2029" not in canonical
    assert "\U0001f600".encode() in canonical and b"\\ud83d" not in canonical.lower()
    assert b"tab\\tnew\\nline" in canonical
    assert b"\n" not in canonical and b"\t" not in canonical
    assert canonical == independent_jcs(body)
    assert canonical.decode("utf-8")
    # The hash, the signed payload and the export line all agree.
    assert unicode_receipt["receipt_hash"] == hashlib.sha256(canonical).hexdigest()
    assert b64url_pad(unicode_receipt["signature"].split(".")[1]) == canonical
    line = export_line(unicode_receipt)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")  # U+2028 does not split the JSONL line
    assert json.loads(line) == unicode_receipt
    assert verify_receipt(json.loads(line), jwks).ok


def test_receipt_hash_is_sha256_of_the_canonical_body(all_receipts: list[Receipt]) -> None:
    previous = "0" * 64
    for receipt in all_receipts[:-1]:  # the chain
        body = body_of(receipt)
        assert set(body) == BODY_FIELDS
        canonical = independent_jcs(body)
        assert canonical == canonical_bytes(body)
        assert receipt["receipt_hash"] == hashlib.sha256(canonical).hexdigest() == sha256_hex(canonical)
        assert receipt["previous_receipt_hash"] == previous
        previous = receipt["receipt_hash"]


def test_amounts_are_decimal_strings_with_minor_digits(make_chain: Callable[..., list[Receipt]], jwks: Jwks) -> None:
    usd = make_chain(2, customer="cust_m", amounts=["150", "0.5"])
    jpy = make_chain(2, customer="cust_n", amounts=["5"], currency="JPY")
    assert [r["amount"] for r in usd] == ["150.00", "0.50"]
    assert [r["balance_after"] for r in usd] == ["150.00", "150.50"]
    assert [r["amount"] for r in jpy] == ["5", "5"]
    assert [r["balance_after"] for r in jpy] == ["5", "10"]
    assert all(result.ok for result in verify_chain([*usd, *jpy], jwks))


# -- (f) the JWS header ------------------------------------------------------------------


def test_jws_header_is_exactly_alg_kid_typ(all_receipts: list[Receipt], signer: LocalKeySigner) -> None:
    for receipt in all_receipts:
        header_b64, payload_b64, signature_b64 = receipt["signature"].split(".")
        raw_header = b64url_pad(header_b64)
        assert json.loads(raw_header) == {"alg": "RS256", "kid": receipt["kid"], "typ": "receipt+jws"}
        assert raw_header == b'{"alg":"RS256","kid":"%s","typ":"receipt+jws"}' % receipt["kid"].encode()
        assert receipt["kid"] == signer.kid
        # Strict base64url: no padding, URL-safe alphabet, and the stdlib agrees on the bytes.
        for part in (header_b64, payload_b64, signature_b64):
            assert "=" not in part and "+" not in part and "/" not in part
            assert b64url_decode(part) == b64url_pad(part)
        assert len(b64url_pad(signature_b64)) == 256  # RSA-2048
