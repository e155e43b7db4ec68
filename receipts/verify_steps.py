"""The single steps of receipts.verify's checks, each judging one thing: the balance rule
between a receipt and the balance before it, the JWS protected header (parsed and judged
once per distinct text: one per signing key in practice), the signed payload as RFC 8785
JSON, and the exported fields against it."""

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from receipts.canonical import canonical_bytes, canonical_or_none, differing_fields, same_values, strict_loads
from receipts.events import CREDIT
from receipts.jws import ALG, b64url_decode
from receipts.ledger import ACCEPTED
from receipts.money import AmountError, format_amount, parse_amount, parse_balance

NOT_CHECKED = "not checked"  # how a passed check's reason starts when there was nothing to compare with


def balance_check(body: Mapping[str, Any], balances: dict[tuple[str, str], int], from_start: bool) -> tuple[bool, str]:
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
    how = " plus the accepted amount" if charged else ", nothing charged"
    if charged and body.get("type") == CREDIT:  # a v2 credit moves the balance down
        charged, how = -charged, " less the credited amount"
    if after != known + charged:
        return False, (
            f"balance_after {body['balance_after']} {currency} should be "
            f"{format_amount(known + charged, currency)}: the previous balance "
            f"{format_amount(known, currency)}{how}"
        )
    return True, ""


def _header_problem(header: Any, typ: str) -> str | None:
    if not isinstance(header, dict):
        return "the JWS header is not a JSON object"
    if header.get("alg") != ALG:
        return f"JWS alg must be {ALG}, not {str(header.get('alg'))[:20]!r}"
    if header.get("typ") != typ:
        return f"JWS typ must be {typ!r}"
    unexpected = sorted(set(header) - {"alg", "kid", "typ"})
    if unexpected:
        return f"unexpected JWS header parameters {unexpected}"
    if not isinstance(header.get("kid"), str):
        return "the JWS header has no kid"
    return None


@lru_cache(maxsize=64)
def header_problem_of(header_b64: str, typ: str) -> str | None:
    """`_header_problem` of a header already parsed (`parsed_header`), once per distinct text."""
    return _header_problem(parsed_header(header_b64), typ)


@lru_cache(maxsize=64)
def parsed_header(header_b64: str) -> dict[str, Any]:
    """The protected header, parsed once per distinct text (one per signing key in practice).
    Callers only read it."""
    return strict_loads(b64url_decode(header_b64).decode("utf-8"))  # RFC 7515: UTF-8, no BOM, no guessing


def canonical_payload(payload: bytes) -> dict[str, Any]:
    """The signed body, when the payload is a JSON object in RFC 8785 form; ValueError saying
    what is wrong otherwise. A payload that re-serializes to itself has no duplicate member
    and no NaN (both would change the bytes), so the strict parser only runs to name the
    fault of one that does not."""
    body = json.loads(payload)
    if isinstance(body, dict) and canonical_or_none(body) == payload:
        return body
    body = strict_loads(payload.decode("utf-8"))
    if not isinstance(body, dict):
        raise ValueError("the payload is not a JSON object")
    if canonical_bytes(body) != payload:
        raise ValueError("the payload is not in RFC 8785 canonical form")
    return body


def same_json(exported: dict[str, Any], body: dict[str, Any], payload: bytes) -> bool:
    """Are the exported fields the signed body, as JSON? Typed-equal values are; anything else
    is decided by RFC 8785 bytes (so 1.0 is 1)."""
    if same_values(exported, body):
        return True
    return canonical_or_none(exported) == payload


def first_difference(exported: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
    """First field whose exported value is not the signed one (compared as RFC 8785 JSON)."""
    return next(iter(differing_fields(exported, body)), None)
