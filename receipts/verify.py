"""Verification of receipts and chain segments against a JWKS: the one implementation
used by `receipts verify`, the demo, the site and the reconciliation.

Each check yields a named `Check`; a failure carries a human reason that callers print
as it is. Nothing here trusts the receipt's own claims: hashes are recomputed from the
signed payload, and every exported field must equal the signed one.
"""

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey

from receipts.canonical import ZERO_HASH, canonical_bytes, sha256_hex, strict_loads
from receipts.events import Event, validate_event
from receipts.jws import ALG, TYP, b64url_decode, split_compact
from receipts.ledger import ACCEPTED, RECEIPT_VERSION, REJECTED, event_of
from receipts.money import AmountError, format_amount, parse_amount, parse_balance

BODY_FIELDS = frozenset(
    {
        "v",
        "receipt_id",
        "customer_id",
        "sequence",
        "previous_receipt_hash",
        "idempotent_key",
        "event_sha256",
        "entitlement_id",
        "amount",
        "currency",
        "usage_description",
        "event_timestamp",
        "processed_at",
        "status",
        "reason",
        "balance_after",
        "quota_remaining",
        "kid",
    }
)
EXPORT_EXTRA_FIELDS = ("receipt_hash", "signature")
HEX64 = re.compile(r"[0-9a-f]{64}")
UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z", re.ASCII)
DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
MIN_KEY_BITS = 2048
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})  # RFC 7518 section 6.3.2

# Check names, in the order they run.
FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT = "format", "signature", "canonical", "hash", "contract"
SEQUENCE, CHAIN_LINK, BALANCE, IDEMPOTENCY = "sequence", "chain_link", "balance", "idempotency"


NOT_CHECKED = "not checked"  # how a passed check's reason starts when there was nothing to compare with


@dataclass(frozen=True)
class Check:
    step: int
    check: str
    ok: bool
    reason: str = ""

    @property
    def ran(self) -> bool:
        """False for a check that had nothing to compare with (a segment's first receipt):
        it fails nothing, and no page may show it as passed."""
        return not (self.ok and self.reason.startswith(NOT_CHECKED))


@dataclass(frozen=True)
class Verification:
    """Every check run on one receipt; `ok` only if all passed."""

    receipt_id: str | None
    customer_id: str | None
    sequence: int | None
    checks: tuple[Check, ...]
    body: dict[str, Any] | None = None  # the signed body, when the payload could be read
    payload_hash: str | None = None  # SHA-256 of the signed payload, recomputed

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def named(self) -> str:
        where = self.receipt_id or "(unnamed receipt)"
        if self.customer_id is not None:
            where += f" (customer {self.customer_id}, sequence {self.sequence})"
        return where

    def with_checks(self, extra: Iterable[Check]) -> "Verification":
        return Verification(
            self.receipt_id, self.customer_id, self.sequence, self.checks + tuple(extra), self.body, self.payload_hash
        )


class Jwks:
    """Public keys by kid, from an RFC 7517 JWK Set. A key whose kid is not its RFC 7638
    thumbprint, that is not RSA or that is shorter than 2048 bits is not trusted."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.keys: dict[str, rsa.RSAPublicKey] = {}
        self.problems: dict[str, str] = {}
        entries = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(entries, list):
            raise ValueError("a JWKS is a JSON object with a 'keys' array")
        for entry in entries:
            kid = entry.get("kid") if isinstance(entry, Mapping) else None
            try:
                if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
                    raise ValueError("not an RSA key")
                if entry.get("alg", ALG) != ALG or entry.get("use", "sig") != "sig":
                    raise ValueError("not an RS256 signing key")
                leaked = sorted(PRIVATE_JWK_MEMBERS & set(entry))
                if leaked:
                    raise ValueError(f"private key material in a JWKS ({', '.join(leaked)}): the key is compromised")
                imported = RSAKey.import_key({"kty": "RSA", "n": entry["n"], "e": entry["e"]})
                thumbprint = imported.thumbprint()
                if kid is not None and kid != thumbprint:
                    raise ValueError(f"kid is not the key's RFC 7638 thumbprint ({thumbprint})")
                public = imported.public_key
                if public.key_size < MIN_KEY_BITS:
                    raise ValueError(f"key is {public.key_size} bits; at least {MIN_KEY_BITS} required")
                self.keys[thumbprint] = public
            except Exception as error:  # any malformed entry is untrusted, never a crash
                self.problems[str(kid)] = str(error) or type(error).__name__

    @classmethod
    def from_json(cls, text: str | bytes) -> "Jwks":
        return cls(json.loads(text))


def verify_receipt(receipt: Mapping[str, Any], jwks: Jwks) -> Verification:
    """Check one exported receipt: its JWS, canonical payload, hash and contract fields."""
    checks: list[Check] = []

    def fail(check: str, reason: str) -> None:
        checks.append(Check(len(checks) + 1, check, False, reason))

    def passed(check: str, note: str = "") -> None:
        checks.append(Check(len(checks) + 1, check, True, note))

    if not isinstance(receipt, Mapping):
        fail(FORMAT, "a receipt is a JSON object")
        return Verification(None, None, None, tuple(checks))
    claimed_id = receipt.get("receipt_id") if isinstance(receipt.get("receipt_id"), str) else None
    claimed_customer = receipt.get("customer_id") if isinstance(receipt.get("customer_id"), str) else None
    claimed_sequence = receipt.get("sequence") if is_int(receipt.get("sequence")) else None

    def done(body: dict[str, Any] | None = None, payload_hash: str | None = None) -> Verification:
        return Verification(claimed_id, claimed_customer, claimed_sequence, tuple(checks), body, payload_hash)

    token = receipt.get("signature")
    try:
        parts = split_compact(token)
        header = _header(parts.header_b64)
        payload = b64url_decode(parts.payload_b64)
        signature = b64url_decode(parts.signature_b64)
    except (ValueError, TypeError, RecursionError) as error:
        fail(FORMAT, f"signature is not a JWS compact serialization: {str(error)[:200]}")
        return done()
    passed(FORMAT)

    kid = header.get("kid") if isinstance(header, dict) else None
    problem = _header_problem(header) or signature_problem(jwks, kid, parts.signing_input, signature)
    if problem:
        fail(SIGNATURE, problem)
    else:
        passed(SIGNATURE, f"RS256 by key {kid}")

    try:
        body = _canonical_payload(payload)
    except (ValueError, RecursionError) as error:  # CanonicalizationError is a ValueError
        fail(CANONICAL, f"signed payload: {str(error)[:200]}")
        return done()
    exported = {name: value for name, value in receipt.items() if name not in EXPORT_EXTRA_FIELDS}
    if not _same_json(exported, body, payload):
        fail(CANONICAL, f"exported field {_first_difference(exported, body)!r} differs from the signed body")
    else:
        passed(CANONICAL)

    payload_hash = sha256_hex(payload)
    if receipt.get("receipt_hash") != payload_hash:
        fail(
            HASH,
            f"receipt_hash {str(receipt.get('receipt_hash'))[:64]!r} is not the SHA-256 "
            f"of the signed payload ({payload_hash})",
        )
    else:
        passed(HASH)

    problem = contract_problem(body, kid)
    if problem:
        fail(CONTRACT, problem)
    else:
        passed(CONTRACT)
    return done(body, payload_hash)


def contract_problem(body: Mapping[str, Any], header_kid: str | None) -> str | None:
    """First way the signed body breaks the v1 receipt contract (DESIGN.md), or None."""
    missing = sorted(BODY_FIELDS - set(body))
    extra = sorted(set(body) - BODY_FIELDS)
    if missing or extra:
        return f"body fields: missing {missing}, unexpected {extra}"
    if body["v"] != RECEIPT_VERSION or not is_int(body["v"]):
        return f"v must be {RECEIPT_VERSION}"
    fields = event_of(body)
    if not isinstance(fields["amount"], str):  # a receipt's amount is text, never a JSON number
        fields["amount"] = None
    event = validate_event(fields)
    if not isinstance(event, Event):
        return f"event fields: {event.detail}"
    if event.amount != body["amount"]:
        return f"amount {body['amount']!r} must have exactly {body['currency']}'s minor digits ({event.amount!r})"
    if event.timestamp != body["event_timestamp"]:
        return f"event_timestamp must be normalized to UTC ({event.timestamp!r})"
    if event.receipt_id != body["receipt_id"]:
        return f"receipt_id is not derived from customer_id and idempotent_key (expected {event.receipt_id})"
    if event.event_sha256 != body["event_sha256"]:
        return "event_sha256 does not match the event fields in the body"
    sequence, previous = body["sequence"], body["previous_receipt_hash"]
    if not is_int(sequence) or sequence < 1:
        return "sequence must be an integer >= 1"
    if not isinstance(previous, str) or not HEX64.fullmatch(previous):
        return "previous_receipt_hash must be 64 lowercase hex digits"
    if (sequence == 1) != (previous == ZERO_HASH):
        return "previous_receipt_hash must be 64 zeros exactly when sequence is 1"
    if body["status"] not in (ACCEPTED, REJECTED):
        return f"status must be {ACCEPTED!r} or {REJECTED!r}"
    if (body["status"] == ACCEPTED) != (body["reason"] is None):
        return "reason must be null for an accepted receipt and a string for a rejected one"
    if body["reason"] is not None and not isinstance(body["reason"], str):
        return "reason must be a string"
    if parse_balance(body["balance_after"], body["currency"]) is None:
        return f"balance_after must be a non-negative amount with {body['currency']}'s minor digits"
    remaining = body["quota_remaining"]
    if remaining is not None and not (isinstance(remaining, str) and DECIMAL_TEXT.fullmatch(remaining)):
        return "quota_remaining must be null or a decimal string"
    if not isinstance(body["processed_at"], str) or not UTC_TIMESTAMP.fullmatch(body["processed_at"]):
        return "processed_at must be an RFC 3339 UTC timestamp"
    if body["kid"] != header_kid:
        return f"body kid {body['kid']!r} is not the JWS header kid {header_kid!r}"
    return None


def verify_chain(receipts: Sequence[Mapping[str, Any]], jwks: Jwks) -> list[Verification]:
    """Verify each receipt, then the links between them, per customer in the given order.

    A segment may start past sequence 1; then its first link and the balances before it
    are unknown and only checked from there on. Balances must move by exactly the
    amount of each accepted receipt and not at all for a rejected one.
    """
    results = [verify_receipt(receipt, jwks) for receipt in receipts]
    previous: dict[str, Verification] = {}
    balances: dict[tuple[str, str], int] = {}
    from_start: set[str] = set()  # customers whose segment begins at sequence 1
    first_line: dict[object, int] = {}
    for index, result in enumerate(results):
        body = result.body
        if body is None:
            continue
        extra: list[Check] = []

        def add(check: str, ok: bool, reason: str = "", extra: list[Check] = extra, base: int = len(result.checks)):
            extra.append(Check(base + len(extra) + 1, check, ok, reason))

        customer, sequence = str(body.get("customer_id")), body.get("sequence")
        ids = (("id", str(body.get("receipt_id"))), ("key", customer, str(body.get("idempotent_key"))))
        repeats = [first_line[k] for k in ids if k in first_line]
        if repeats:
            add(IDEMPOTENCY, False, f"repeats the receipt id or idempotency key of line {repeats[0] + 1}")
        else:
            add(IDEMPOTENCY, True)
        for k in ids:
            first_line.setdefault(k, index)

        before = previous.get(customer)
        if before is None:
            if sequence == 1:
                from_start.add(customer)
                add(SEQUENCE, True, "sequence 1: the start of this customer's chain")
            else:
                add(
                    SEQUENCE,
                    True,
                    f"{NOT_CHECKED}: the receipt before this one was not given, so neither its "
                    "sequence nor its chain link can be compared",
                )
        else:
            last = before.body.get("sequence")  # a body signed by anyone may lack it: the contract says so
            expected = last + 1 if is_int(last) else None
            if sequence != expected:
                add(SEQUENCE, False, f"sequence {sequence} follows {last}; expected {expected}")
            else:
                add(SEQUENCE, True)
            if body.get("previous_receipt_hash") != before.payload_hash:
                add(
                    CHAIN_LINK,
                    False,
                    (
                        f"previous_receipt_hash {str(body.get('previous_receipt_hash'))[:16]}… is not the hash "
                        f"of the receipt before it, sequence {last} ({before.payload_hash[:16]}…)"
                    ),
                )
            else:
                add(CHAIN_LINK, True)
        previous[customer] = result

        add(BALANCE, *_balance_check(body, balances, customer in from_start))
        results[index] = result.with_checks(extra)
    return results


def _balance_check(body: Mapping[str, Any], balances: dict[tuple[str, str], int], from_start: bool) -> tuple[bool, str]:
    """Does balance_after move by exactly the accepted amount since the last one seen?
    (ok, reason); a balance with nothing to compare with passes as NOT_CHECKED."""
    currency = body.get("currency")
    after = parse_balance(body.get("balance_after"), currency)
    if after is None:
        return True, f"{NOT_CHECKED}: balance_after or currency is malformed (see the contract check)"
    key = (str(body.get("customer_id")), str(currency))
    known = balances.get(key, 0 if from_start else None)
    balances[key] = after
    if known is None:
        return True, f"{NOT_CHECKED}: no earlier balance in {currency} was given to compare with"
    try:
        charged = parse_amount(body["amount"], currency) if body.get("status") == ACCEPTED else 0
    except (AmountError, KeyError, TypeError):
        return True, f"{NOT_CHECKED}: the amount is malformed (see the contract check)"
    if after != known + charged:
        return False, (
            f"balance_after {body['balance_after']} {currency} should be "
            f"{format_amount(known + charged, currency)}: the previous balance "
            f"{format_amount(known, currency)}{' plus the accepted amount' if charged else ', nothing charged'}"
        )
    return True, ""


def _header_problem(header: Any) -> str | None:
    if not isinstance(header, dict):
        return "the JWS header is not a JSON object"
    if header.get("alg") != ALG:
        return f"JWS alg must be {ALG}, not {str(header.get('alg'))[:20]!r}"
    if header.get("typ") != TYP:
        return f"JWS typ must be {TYP!r}"
    unexpected = sorted(set(header) - {"alg", "kid", "typ"})
    if unexpected:
        return f"unexpected JWS header parameters {unexpected}"
    if not isinstance(header.get("kid"), str):
        return "the JWS header has no kid"
    return None


def signature_problem(jwks: Jwks, kid: str, signing_input: bytes, signature: bytes) -> str | None:
    """Why the RS256 `signature` over `signing_input` does not verify with the key `kid` of
    `jwks`, or None. The one RSA check: verifiers and the KMS signer's self-check use it."""
    public = jwks.keys.get(kid)
    if public is None:
        problem = jwks.problems.get(kid)
        return f"key {kid} in the JWKS is not trusted: {problem}" if problem else f"key {kid} is not in the JWKS"
    try:
        public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return f"RS256 signature does not verify with key {kid}"
    return None


@lru_cache(maxsize=64)
def _header(header_b64: str) -> dict[str, Any]:
    """The protected header, parsed once per distinct text (one per signing key in practice).
    Callers only read it."""
    return strict_loads(b64url_decode(header_b64).decode("utf-8"))  # RFC 7515: UTF-8, no BOM, no guessing


def _canonical_payload(payload: bytes) -> dict[str, Any]:
    """The signed body, when the payload is a JSON object in RFC 8785 form; ValueError saying
    what is wrong otherwise. A payload that re-serializes to itself has no duplicate member
    and no NaN (both would change the bytes), so the strict parser only runs to name the
    fault of one that does not."""
    body = json.loads(payload)
    if isinstance(body, dict) and _canonical_or_none(body) == payload:
        return body
    body = strict_loads(payload.decode("utf-8"))
    if not isinstance(body, dict):
        raise ValueError("the payload is not a JSON object")
    if canonical_bytes(body) != payload:
        raise ValueError("the payload is not in RFC 8785 canonical form")
    return body


def same_values(first: Any, second: Any) -> bool:
    """The same JSON, checked cheaply: equal values of the same types all the way down (so
    True is not 1). False may still be the same JSON (1.0 and 1): RFC 8785 bytes decide
    then (`differing_fields`)."""
    if type(first) is not type(second):
        return False
    if type(first) is dict:
        return first.keys() == second.keys() and all(same_values(value, second[name]) for name, value in first.items())
    if type(first) is list:
        return len(first) == len(second) and all(same_values(a, b) for a, b in zip(first, second, strict=True))
    return first == second


def _same_json(exported: dict[str, Any], body: dict[str, Any], payload: bytes) -> bool:
    """Are the exported fields the signed body, as JSON? Typed-equal values are; anything else
    is decided by RFC 8785 bytes (so 1.0 is 1)."""
    return same_values(exported, body) or _canonical_or_none(exported) == payload


def _canonical_or_none(value: Mapping[str, Any]) -> bytes | None:
    """RFC 8785 bytes, or None when the value has no I-JSON form. Equal to the signed payload
    means every field equals the signed one: one serialization instead of two per field."""
    try:
        return canonical_bytes(value)
    except (ValueError, TypeError, RecursionError):
        return None


def _first_difference(exported: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
    """First field whose exported value is not the signed one (compared as RFC 8785 JSON)."""
    return next(iter(differing_fields(exported, body)), None)


def differing_fields(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """Every field, sorted, that one record lacks or holds with another value than the other
    (values compared as RFC 8785 JSON, so 1.0 and 1 are the same and "1" is not)."""
    different = []
    for name in sorted(set(first) | set(second)):
        if name not in first or name not in second:
            different.append(name)
            continue
        try:
            if canonical_bytes({"x": first[name]}) != canonical_bytes({"x": second[name]}):
                different.append(name)
        except ValueError:  # not representable in I-JSON, so not what was signed
            different.append(name)
    return different


def is_int(value: Any) -> bool:
    """A JSON integer: an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)
