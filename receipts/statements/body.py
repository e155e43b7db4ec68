"""The statement contract: the body a statement signs (RFC 8785 bytes, JWS RS256 with typ
`statement+jws`), how one is built from a customer's chain, and the rules a signed body obeys.

    {"v": 1, "statement_id": "s_…", "customer_id", "period": "2026-11",
     "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z",
     "closed_at", "closing_sequence", "closing_receipt_hash",
     "previous_statement_hash", "previous_closing_sequence",
     "line_count", "lines_root",
     "totals": {"USD": {"charged", "credited", "net", "accepted", "rejected",
                        "late_lines", "late_net"}},
     "kid"}

`statement_hash` is the SHA-256 of the payload; the statement is a leaf of the log.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from receipts.canonical import ZERO_HASH, canonical_bytes, sha256_hex
from receipts.contract import HEX64, UTC_TIMESTAMP, is_int
from receipts.currencies import MINOR_UNITS
from receipts.money import parse_balance
from receipts.statements.lines import closing_sequence, lines_root, select_lines, totals
from receipts.statements.periods import Period, instant_key, statement_id

STATEMENT_VERSION = 1
BODY_FIELDS = frozenset(
    {
        "v",
        "statement_id",
        "customer_id",
        "period",
        "period_start",
        "period_end",
        "closed_at",
        "closing_sequence",
        "closing_receipt_hash",
        "previous_statement_hash",
        "previous_closing_sequence",
        "line_count",
        "lines_root",
        "totals",
        "kid",
    }
)
TOTAL_FIELDS = frozenset({"charged", "credited", "net", "accepted", "rejected", "late_lines", "late_net"})
EXPORT_EXTRA_FIELDS = ("statement_hash", "signature")


@dataclass(frozen=True)
class Previous:
    """What a statement links to: the customer's statement before it (None for the first)."""

    statement_hash: str
    closing_sequence: int
    period: str

    @classmethod
    def of(cls, statement: Mapping[str, Any] | None) -> "Previous | None":
        if statement is None:
            return None
        return cls(statement["statement_hash"], statement["closing_sequence"], statement["period"])


@dataclass(frozen=True)
class UnsignedStatement:
    body: dict[str, Any]
    canonical: bytes
    statement_hash: str


def build_statement(
    customer_id: str,
    period: Period,
    closed_at: str,
    chain: Sequence[Mapping[str, Any]],
    previous: Previous | None,
    kid: str,
) -> UnsignedStatement:
    """The statement of `customer_id` for `period`, closed at `closed_at`, from the customer's
    chain as stored (exported receipts from sequence 1, in order)."""
    closing = closing_sequence(chain, closed_at)
    previous_closing = previous.closing_sequence if previous else 0
    if closing < previous_closing:
        raise ValueError(
            f"{customer_id}'s chain closes at sequence {closing} at {closed_at}, before its previous statement's "
            f"{previous_closing}: the chain or the previous statement is not the one stored"
        )
    lines = select_lines(chain, period, closing, previous_closing)
    body = {
        "v": STATEMENT_VERSION,
        "statement_id": statement_id(customer_id, period),
        "customer_id": customer_id,
        "period": str(period),
        "period_start": period.start,
        "period_end": period.end,
        "closed_at": closed_at,
        "closing_sequence": closing,
        "closing_receipt_hash": chain[closing - 1]["receipt_hash"] if closing else ZERO_HASH,
        "previous_statement_hash": previous.statement_hash if previous else ZERO_HASH,
        "previous_closing_sequence": previous_closing,
        "line_count": len(lines),
        "lines_root": lines_root(line.receipt_hash for line in lines),
        "totals": totals(lines),
        "kid": kid,
    }
    canonical = canonical_bytes(body)
    return UnsignedStatement(body, canonical, sha256_hex(canonical))


def statement_problem(body: Mapping[str, Any], header_kid: str | None) -> str | None:
    """First way a signed body breaks the statement contract, or None. (Whether its lines
    and totals are right needs the chain: receipts.statements.verify.)"""
    missing, extra = sorted(BODY_FIELDS - set(body)), sorted(set(body) - BODY_FIELDS)
    if missing or extra:
        return f"body fields: missing {missing}, unexpected {extra}"
    if not is_int(body["v"]) or body["v"] != STATEMENT_VERSION:
        return f"v must be {STATEMENT_VERSION}"
    try:
        period = Period.parse(body["period"])
    except ValueError as error:
        return str(error)
    if not isinstance(body["customer_id"], str) or body["statement_id"] != statement_id(body["customer_id"], period):
        return "statement_id is not derived from customer_id and period"
    if body["period_start"] != period.start or body["period_end"] != period.end:
        return f"period_start and period_end must be {period.start} and {period.end}"
    if not isinstance(body["closed_at"], str) or not UTC_TIMESTAMP.fullmatch(body["closed_at"]):
        return "closed_at must be an RFC 3339 UTC timestamp"
    if instant_key(body["closed_at"]) < instant_key(period.end):
        return "closed_at is before the period's end"
    for name in ("closing_sequence", "previous_closing_sequence", "line_count"):
        if not is_int(body[name]) or body[name] < 0:
            return f"{name} must be an integer >= 0"
    if body["previous_closing_sequence"] > body["closing_sequence"]:
        return "previous_closing_sequence is past closing_sequence"
    if body["line_count"] > body["closing_sequence"]:
        return "line_count is more than the receipts up to closing_sequence"
    for name in ("closing_receipt_hash", "previous_statement_hash", "lines_root"):
        if not isinstance(body[name], str) or not HEX64.fullmatch(body[name]):
            return f"{name} must be 64 lowercase hex digits"
    if (body["closing_sequence"] == 0) != (body["closing_receipt_hash"] == ZERO_HASH):
        return "closing_receipt_hash must be 64 zeros exactly when closing_sequence is 0"
    if body["previous_statement_hash"] == ZERO_HASH and body["previous_closing_sequence"] != 0:
        return "previous_closing_sequence must be 0 when there is no previous statement"
    problem = _totals_problem(body["totals"])
    if problem:
        return problem
    if body["kid"] != header_kid:
        return f"body kid {body['kid']!r} is not the JWS header kid {header_kid!r}"
    return None


def _totals_problem(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "totals must be an object of currencies"
    for currency, entry in value.items():
        if currency not in MINOR_UNITS:
            return f"totals name {str(currency)[:8]!r}, not an ISO 4217 currency"
        if not isinstance(entry, dict) or set(entry) != TOTAL_FIELDS:
            return f"totals of {currency} must hold exactly {sorted(TOTAL_FIELDS)}"
        for name in ("accepted", "rejected", "late_lines"):
            if not is_int(entry[name]) or entry[name] < 0:
                return f"totals.{currency}.{name} must be an integer >= 0"
        for name in ("charged", "credited"):
            if parse_balance(entry[name], currency) is None:
                return f"totals.{currency}.{name} must be an amount with {currency}'s minor digits"
        for name in ("net", "late_net"):
            text = entry[name]
            magnitude = parse_balance(text.removeprefix("-"), currency) if isinstance(text, str) else None
            if magnitude is None or (text.startswith("-") and magnitude == 0):
                return f"totals.{currency}.{name} must be a signed amount with {currency}'s minor digits"
    return None


def exported_statement(unsigned: UnsignedStatement, signature: str) -> dict[str, Any]:
    """A statement as stored and exported: its body fields, statement_hash and the JWS
    (receipts.jws.sign_payloads with typ STATEMENT_TYP)."""
    return {**unsigned.body, "statement_hash": unsigned.statement_hash, "signature": signature}
