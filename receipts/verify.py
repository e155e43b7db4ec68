"""Verification of receipts and chain segments against a JWKS: the one implementation
used by `receipts verify`, the demo, the site and the reconciliation.

Each check yields a named `Check`; a failure carries a human reason that callers print
as it is. The rules it applies live beside it: the receipt contract (receipts.contract), the
keys a JWKS may hold and the RS256 check (receipts.keys), JSON compared as RFC 8785
(receipts.canonical). Nothing here trusts the receipt's own claims: hashes are recomputed from the
signed payload, and every exported field must equal the signed one.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from receipts.canonical import (
    plain_canonical,
    sha256_hex,
)
from receipts.contract import EXPORT_EXTRA_FIELDS, contract_problem, is_int
from receipts.delegation import Delegations, delegation_problem
from receipts.jws import TYP, b64url_decode, split_compact
from receipts.keys import Jwks, signature_problem
from receipts.verify_steps import (
    NOT_CHECKED,
    balance_check,
    canonical_payload,
    first_difference,
    header_problem_of,
    parsed_header,
    same_json,
)

# Check names, in the order they run.
FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT = "format", "signature", "canonical", "hash", "contract"
SEQUENCE, CHAIN_LINK, BALANCE, IDEMPOTENCY = "sequence", "chain_link", "balance", "idempotency"
KEY_ENDORSEMENT = "key_endorsement"  # with Delegations: the signing key is an HSM key or endorsed for the time


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


@lru_cache(maxsize=4096)
def passed_check(step: int, check: str, reason: str = "") -> Check:
    """A passed check, one shared instance per (step, check, reason): a Check is immutable, and
    building a frozen dataclass costs more than looking one up (ten per receipt verified)."""
    return Check(step, check, True, reason)


def checks_ok(checks: Iterable[Check]) -> bool:
    """A document verifies when every check ran on it passed."""
    return all(check.ok for check in checks)


def failed_checks(checks: Iterable[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


@dataclass(frozen=True)
class Verification:
    """Every check run on one receipt; `ok` only if all passed."""

    receipt_id: str | None
    customer_id: str | None
    sequence: int | None
    checks: tuple[Check, ...]
    body: dict[str, Any] | None = None  # the signed body, when the payload could be read
    payload_hash: str | None = None  # SHA-256 of the signed payload, recomputed

    ok = property(lambda self: checks_ok(self.checks))
    failures = property(lambda self: failed_checks(self.checks))

    def named(self) -> str:
        where = self.receipt_id or "(unnamed receipt)"
        if self.customer_id is not None:
            where += f" (customer {self.customer_id}, sequence {self.sequence})"
        return where

    def with_checks(self, extra: Iterable[Check]) -> "Verification":
        return Verification(
            self.receipt_id, self.customer_id, self.sequence, self.checks + tuple(extra), self.body, self.payload_hash
        )


def verify_receipt(receipt: Mapping[str, Any], jwks: Jwks, delegations: Delegations | None = None) -> Verification:
    """Check one exported receipt: its JWS, canonical payload, hash and contract fields; with
    `delegations`, also that its key is an HSM key or was endorsed for its processed_at."""
    return Verification(*_receipt_fields(receipt, jwks, delegations))


def _receipt_fields(receipt: Mapping[str, Any], jwks: Jwks, delegations: Delegations | None) -> tuple:
    """verify_receipt's Verification as its fields (the checks a tuple), so verify_chain makes
    each receipt's once, with the chain's checks added, not twice."""
    claimed_id = receipt.get("receipt_id") if isinstance(receipt, Mapping) else None
    claimed_customer = receipt.get("customer_id") if isinstance(receipt, Mapping) else None
    claimed_sequence = receipt.get("sequence") if isinstance(receipt, Mapping) else None
    checks, body, payload_hash = verify_signed(receipt, jwks, TYP, "receipt_hash", contract_problem)
    if delegations is not None and body is not None:
        checks.append(key_endorsement_check(len(checks) + 1, delegations, body))
    return (
        claimed_id if isinstance(claimed_id, str) else None,
        claimed_customer if isinstance(claimed_customer, str) else None,
        claimed_sequence if is_int(claimed_sequence) else None,
        tuple(checks),
        body,
        payload_hash,
    )


def key_endorsement_check(step: int, delegations: Delegations, body: Mapping[str, Any]) -> Check:
    """The signed body's key against the trusted delegations (receipts.delegation)."""
    problem = delegation_problem(delegations, body.get("kid"), body.get("processed_at"))
    if problem:
        return Check(step, KEY_ENDORSEMENT, False, problem)
    kid = body.get("kid")
    how = "an HSM key" if kid in delegations.root_kids else "endorsed by the HSM key for this time"
    return Check(step, KEY_ENDORSEMENT, True, f"key {kid} is {how}")


def verify_signed(
    document: Any,
    jwks: Jwks,
    typ: str,
    hash_field: str,
    contract: Callable[[dict[str, Any], str | None], str | None],
    extra_fields: Sequence[str] = EXPORT_EXTRA_FIELDS,
) -> tuple[list[Check], dict[str, Any] | None, str | None]:
    """The checks every signed document we export shares (a receipt, a statement): its JWS
    (`signature`, RS256, header `typ`), its RFC 8785 payload, every exported field equal to
    the signed one, `hash_field` the payload's SHA-256, and its `contract`. (checks, the
    signed body or None, the payload's hash or None.)"""
    checks: list[Check] = []

    def fail(check: str, reason: str) -> None:
        checks.append(Check(len(checks) + 1, check, False, reason))

    def passed(check: str, note: str = "") -> None:
        checks.append(passed_check(len(checks) + 1, check, note))

    if not isinstance(document, Mapping):
        fail(FORMAT, "a signed document is a JSON object")
        return checks, None, None
    token = document.get("signature")
    try:
        parts = split_compact(token)
        header = parsed_header(parts.header_b64)
        payload = b64url_decode(parts.payload_b64)
        signature = b64url_decode(parts.signature_b64)
    except (ValueError, TypeError, RecursionError) as error:
        fail(FORMAT, f"signature is not a JWS compact serialization: {str(error)[:200]}")
        return checks, None, None
    passed(FORMAT)

    kid = header.get("kid") if isinstance(header, dict) else None
    problem = header_problem_of(parts.header_b64, typ) or signature_problem(jwks, kid, parts.signing_input, signature)
    if problem:
        fail(SIGNATURE, problem)
    else:
        passed(SIGNATURE, f"RS256 by key {kid}")

    exported = {name: value for name, value in document.items() if name not in extra_fields}
    if plain_canonical(exported) == payload:  # the payload is these fields, type for type: no parse
        names = list(exported)
        body = exported if names == sorted(names) else {name: exported[name] for name in sorted(names)}  # as parsed
        passed(CANONICAL)
    else:
        try:
            body = canonical_payload(payload)
        except (ValueError, RecursionError) as error:  # CanonicalizationError is a ValueError
            fail(CANONICAL, f"signed payload: {str(error)[:200]}")
            return checks, None, None
        if not same_json(exported, body, payload):
            fail(CANONICAL, f"exported field {first_difference(exported, body)!r} differs from the signed body")
        else:
            passed(CANONICAL)

    payload_hash = sha256_hex(payload)
    if document.get(hash_field) != payload_hash:
        fail(
            HASH,
            f"{hash_field} {str(document.get(hash_field))[:64]!r} is not the SHA-256 "
            f"of the signed payload ({payload_hash})",
        )
    else:
        passed(HASH)

    problem = contract(body, kid)
    if problem:
        fail(CONTRACT, problem)
    else:
        passed(CONTRACT)
    return checks, body, payload_hash


def verify_chain(
    receipts: Sequence[Mapping[str, Any]], jwks: Jwks, delegations: Delegations | None = None
) -> list[Verification]:
    """Verify each receipt, then the links between them, per customer in the given order.

    A segment may start past sequence 1; then its first link and the balances before it
    are unknown and only checked from there on. Balances must move by exactly the
    amount of each accepted receipt (up for a charge, down for a v2 credit) and not at all
    for a rejected one.
    """
    verified = [_receipt_fields(receipt, jwks, delegations) for receipt in receipts]
    results: list[Verification] = []
    previous: dict[str, tuple[dict[str, Any], str]] = {}  # per customer: the last body and its payload's hash
    balances: dict[tuple[str, str], int] = {}
    from_start: set[str] = set()  # customers whose segment begins at sequence 1
    first_line: dict[object, int] = {}
    for index, fields in enumerate(verified):
        checks, body, payload_hash = fields[3], fields[4], fields[5]
        if body is None:
            results.append(Verification(*fields))
            continue
        extra: list[Check] = []

        def add(check: str, ok: bool, reason: str = "", extra: list[Check] = extra, base: int = len(checks)):
            step = base + len(extra) + 1
            extra.append(passed_check(step, check, reason) if ok else Check(step, check, ok, reason))

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
            before_body, before_hash = before
            last = before_body.get("sequence")  # a body signed by anyone may lack it: the contract says so
            expected = last + 1 if is_int(last) else None
            if sequence != expected:
                add(SEQUENCE, False, f"sequence {sequence} follows {last}; expected {expected}")
            else:
                add(SEQUENCE, True)
            if body.get("previous_receipt_hash") != before_hash:
                add(
                    CHAIN_LINK,
                    False,
                    (
                        f"previous_receipt_hash {str(body.get('previous_receipt_hash'))[:16]}… is not the hash "
                        f"of the receipt before it, sequence {last} ({before_hash[:16]}…)"
                    ),
                )
            else:
                add(CHAIN_LINK, True)
        previous[customer] = (body, payload_hash)

        add(BALANCE, *balance_check(body, balances, customer in from_start))
        results.append(Verification(*fields[:3], checks + tuple(extra), body, payload_hash))
    return results
