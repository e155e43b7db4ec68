"""Building blocks of the shared test vectors: the test-only keys, genuine chains made with
the domain code, and forgeries made the way an attacker would (edit the export, re-encode
or re-sign the payload, sign with another key, write JSON text by hand).

The keys in keys/ are test-only: nothing trusts them outside these vectors.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receipts.canonical import canonical_bytes, receipt_id, sha256_hex
from receipts.credits import ChargeBook
from receipts.events import Event, parse_event, validate_event
from receipts.jws import b64url, sign_payloads
from receipts.keys import public_jwk
from receipts.ledger import ChainedReceipt, ChainState, Entitlement, event_of
from receipts.records import SignedReceipt
from receipts.stores.signers import LocalKeySigner

KEYS = Path(__file__).parent / "keys"
PROCESSED_AT = "2026-02-01T09:00:00.000000Z"
WRONG_KID = "k_this_is_not_the_thumbprint"

Receipt = dict[str, Any]


def signer(name: str) -> LocalKeySigner:
    return LocalKeySigner((KEYS / f"{name}.pem").read_bytes())


def public_pem(key: LocalKeySigner) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key._key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def vector_jwks() -> dict[str, Any]:
    """The JWKS every vector is verified against: two trusted keys (current and retired) and
    three a verifier must not trust (a kid that is not the thumbprint, 1024 bits, private
    material published). The foreign key is in no JWKS."""
    wrong = {**public_jwk(public_pem(signer("wrong_kid"))), "kid": WRONG_KID}
    leaked = {**public_jwk(public_pem(signer("leaked"))), "d": "AA"}
    return {
        "keys": [
            public_jwk(public_pem(signer("current"))),
            public_jwk(public_pem(signer("retired"))),
            wrong,
            public_jwk(public_pem(signer("short"))),
            leaked,
        ]
    }


@dataclass(frozen=True)
class Charge:
    """One producer event of a genuine chain."""

    key: str
    amount: str
    currency: str = "USD"
    timestamp: str = "2026-01-25T10:00:00Z"
    entitlement: str | None = None
    description: str | None = None
    signed_by: str = "current"
    kind: str | None = None  # "credit" (contract v2), or None: a charge that names no type
    corrects: str | None = None  # a credit: the idempotent_key of the customer's event it corrects
    v1: bool = False  # issued before contract v2 (as_v1)


def as_v1(chained: ChainedReceipt) -> ChainedReceipt:
    """The receipt contract v1 form of a charge's receipt (no type or corrects, "v": 1): what
    this project issued before v2, which every verifier must keep accepting."""
    assert chained.body["type"] == "charge", "v1 has no credits"
    body = {name: value for name, value in chained.body.items() if name not in ("type", "corrects")}
    body["v"] = 1
    canonical = canonical_bytes(body)
    return ChainedReceipt(body, canonical, sha256_hex(canonical), chained.entitlement_used_minor)


def event(customer: str, charge: Charge) -> Event:
    fields = {
        "idempotent_key": charge.key,
        "customer_id": customer,
        "amount": charge.amount,
        "currency": charge.currency,
        "timestamp": charge.timestamp,
        "entitlement_id": charge.entitlement,
        "usage_description": charge.description,
        "type": charge.kind,
        "corrects": receipt_id(customer, charge.corrects) if charge.corrects is not None else None,
    }
    parsed = parse_event(json.dumps({k: v for k, v in fields.items() if v is not None}).encode())
    assert isinstance(parsed, Event), parsed
    return parsed


def chain(
    customer: str, charges: list[Charge], entitlements: dict[str, Entitlement] | None = None, version: int = 2
) -> list[Receipt]:
    """Genuine exported receipts, chained and signed by the domain code (with version=1, in
    the v1 form the project issued before credit notes, chained on each other)."""
    state = ChainState(customer)
    book = ChargeBook()
    out = []
    for charge in charges:
        parsed = event(customer, charge)
        key = signer(charge.signed_by)
        limit = (entitlements or {}).get(state.entitlement_of(parsed, book) or "")
        chained = state.append(parsed, limit, key.kid, PROCESSED_AT, book)
        if version == 1 or charge.v1:
            chained = as_v1(chained)
            state.head_hash = chained.receipt_hash
        [token] = sign_payloads(key, [chained.canonical])
        out.append(SignedReceipt(chained, token).export())
    return out


def body_of(receipt: Receipt) -> dict[str, Any]:
    return {name: value for name, value in receipt.items() if name not in ("receipt_hash", "signature")}


def exported(body: dict[str, Any], token: str, payload: bytes | None = None) -> Receipt:
    """The export of `body` with `token`, receipt_hash taken over `payload` (default canonical)."""
    payload = canonical_bytes(body) if payload is None else payload
    return {**body, "receipt_hash": sha256_hex(payload), "signature": token}


def jws(header: dict[str, Any] | bytes, payload: bytes, key: LocalKeySigner | None = None) -> str:
    """A compact JWS with any header and payload bytes, RS256-signed by `key` (default: current)."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    signing_input = f"{b64url(header_bytes)}.{b64url(payload)}"
    signature = (key or signer("current")).sign([signing_input.encode("ascii")])[0]
    return f"{signing_input}.{b64url(signature)}"


def header(kid: str) -> dict[str, str]:
    return {"alg": "RS256", "kid": kid, "typ": "receipt+jws"}


def resign(body: dict[str, Any], key_name: str = "current", kid: str | None = None) -> Receipt:
    """What a holder of a key can do: sign any body properly (the body's kid is left as given)."""
    key = signer(key_name)
    return exported(body, jws(header(kid or key.kid), canonical_bytes(body), key))


def signed_payload(body: dict[str, Any], payload: bytes) -> Receipt:
    """`body` exported with a JWS over exactly `payload`, validly signed by the current key."""
    return exported(body, jws(header(body["kid"]), payload), payload)


def rederive(body: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    """Recompute receipt_id and event_sha256 after a body's event fields were edited (when
    they are no valid event any more: an error, or with strict=False the body as it is)."""
    parsed = validate_event(event_of(body))
    if not isinstance(parsed, Event):
        assert not strict, parsed
        return body
    return {**body, "receipt_id": parsed.receipt_id, "event_sha256": parsed.event_sha256}


def line(record: Receipt | str) -> str:
    """One JSONL line: RFC 8785 as `receipts export` writes it when the record has that form,
    else JSON with ASCII escapes (big integers, lone surrogates); text is taken as it is."""
    if isinstance(record, str):
        return record
    try:
        return canonical_bytes(record).decode("utf-8")
    except ValueError:
        return json.dumps(record, separators=(",", ":"))


def member_text(name: str, value: Any) -> str:
    """`"name":value` as JSON text, to splice into an object by hand."""
    return f"{json.dumps(name)}:{json.dumps(value, ensure_ascii=False)}"


def with_member(text: str, member: str, first: bool = True) -> str:
    """An object's JSON text with one more member written in, first or last."""
    return "{" + member + "," + text[1:] if first else text[:-1] + "," + member + "}"
