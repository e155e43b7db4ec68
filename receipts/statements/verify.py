"""`verify_statement`: the one check of a statement, for `receipts verify`, the site, the
reconciliation and the browser's vectors alike.

Given the statement as exported (its body fields, `statement_hash`, `signature`) and, to
recompute it, the customer's chain from sequence 1 through at least `closing_sequence`
(exported receipts), it checks the signature (JWS RS256, typ `statement+jws`), the
canonical payload and hash, the contract, then every receipt of the chain
(receipts.verify.verify_chain), the close (the chain head it names, every receipt up to it
processed by `closed_at` and the next one after), the lines (count and RFC 6962 root) and
every total, and, given the statement before it, the link. Nothing is taken from the
statement itself: lines and totals are recomputed from the signed receipts.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from receipts.canonical import ZERO_HASH
from receipts.jws import STATEMENT_TYP
from receipts.keys import Jwks
from receipts.statements.body import EXPORT_EXTRA_FIELDS, statement_problem
from receipts.statements.lines import lines_root, select_lines, totals
from receipts.statements.periods import Period, instant_key
from receipts.verify import NOT_CHECKED, Check, checks_ok, failed_checks, verify_chain, verify_signed

CHAIN, CLOSING, LINES, TOTALS, PREVIOUS = "chain", "closing", "lines", "totals", "previous_statement"


@dataclass(frozen=True)
class StatementVerification:
    statement_id: str | None
    customer_id: str | None
    period: str | None
    checks: tuple[Check, ...]
    body: dict[str, Any] | None = None
    payload_hash: str | None = None

    ok = property(lambda self: checks_ok(self.checks))
    failures = property(lambda self: failed_checks(self.checks))

    def named(self) -> str:
        return f"statement {self.statement_id or '(unnamed)'} ({self.customer_id}, {self.period})"


def verify_statement(
    statement: Mapping[str, Any],
    jwks: Jwks,
    chain: Sequence[Mapping[str, Any]] | None = None,
    previous: Mapping[str, Any] | None = None,
    chain_verified: bool = False,
) -> StatementVerification:
    """Every check of one statement; `chain` and `previous` as the module says (without the
    chain only the signature, hash and contract are checked; the rest say so).
    `chain_verified`: the caller verified every receipt of the chain already (the
    reconciliation does, once for all of a customer's statements)."""
    checks, body, payload_hash = verify_signed(
        statement, jwks, STATEMENT_TYP, "statement_hash", statement_problem, EXPORT_EXTRA_FIELDS
    )

    def add(check: str, ok: bool, reason: str = "") -> None:
        checks.append(Check(len(checks) + 1, check, ok, reason))

    def claimed(name: str) -> str | None:
        value = statement.get(name) if isinstance(statement, Mapping) else None
        return value if isinstance(value, str) else None

    def done() -> StatementVerification:
        return StatementVerification(
            claimed("statement_id"), claimed("customer_id"), claimed("period"), tuple(checks), body, payload_hash
        )

    if body is None or not all(check.ok for check in checks if check.check == "contract"):
        return done()
    _check_previous(body, previous, add)
    if chain is None:
        add(CHAIN, True, f"{NOT_CHECKED}: no chain was given, so the lines and totals could not be recomputed")
        return done()
    problem = _chain_problem(body, chain, None if chain_verified else jwks)
    if problem:
        add(CHAIN, False, problem)
        return done()
    add(CHAIN, True, f"sequences 1..{len(chain)} verified")
    closing = body["closing_sequence"]
    add(CLOSING, *_closing_check(body, chain))
    lines = select_lines(chain, Period.parse(body["period"]), closing, body["previous_closing_sequence"])
    root = lines_root(line.receipt_hash for line in lines)
    if len(lines) != body["line_count"] or root != body["lines_root"]:
        add(
            LINES,
            False,
            f"the chain gives {len(lines)} line(s) with root {root[:16]}…; the statement says "
            f"{body['line_count']} with root {body['lines_root'][:16]}…",
        )
    else:
        add(LINES, True, f"{len(lines)} line(s)")
    recomputed = totals(lines)
    if recomputed != body["totals"]:
        add(TOTALS, False, _totals_difference(recomputed, body["totals"]))
    else:
        add(TOTALS, True)
    return done()


def _check_previous(body: Mapping[str, Any], previous: Mapping[str, Any] | None, add) -> None:
    if previous is None:
        if body["previous_statement_hash"] == ZERO_HASH:
            add(PREVIOUS, True, "the customer's first statement")
        else:
            add(PREVIOUS, True, f"{NOT_CHECKED}: the statement before it was not given")
        return
    wanted = (previous.get("statement_hash"), previous.get("closing_sequence"), previous.get("customer_id"))
    if wanted != (body["previous_statement_hash"], body["previous_closing_sequence"], body["customer_id"]):
        add(PREVIOUS, False, "previous_statement_hash, previous_closing_sequence or customer_id is not the given one's")
    elif not isinstance(previous.get("period"), str) or previous["period"] >= body["period"]:
        add(PREVIOUS, False, f"the previous statement's period {str(previous.get('period'))[:8]!r} is not earlier")
    else:
        add(PREVIOUS, True, f"follows {previous['period']}")


def _chain_problem(body: Mapping[str, Any], chain: Sequence[Mapping[str, Any]], jwks: Jwks | None) -> str | None:
    closing = body["closing_sequence"]
    if len(chain) < closing:
        return f"the chain given ends at sequence {len(chain)}, before closing_sequence {closing}"
    for number, receipt in enumerate(chain, start=1):
        if not isinstance(receipt, Mapping) or receipt.get("sequence") != number:
            return f"the chain given must run from sequence 1 without gaps (line {number})"
        if receipt.get("customer_id") != body["customer_id"]:
            return f"sequence {number} of the chain given is not {body['customer_id']}'s"
    if jwks is None:
        return None
    failed = next((result for result in verify_chain(chain, jwks) if not result.ok), None)
    if failed is not None:
        return f"receipt {failed.named()} does not verify: {failed.failures[0].check}: {failed.failures[0].reason}"
    return None


def _closing_check(body: Mapping[str, Any], chain: Sequence[Mapping[str, Any]]) -> tuple[bool, str]:
    closing, bound = body["closing_sequence"], instant_key(body["closed_at"])
    head = chain[closing - 1]["receipt_hash"] if closing else ZERO_HASH
    if head != body["closing_receipt_hash"]:
        return False, f"closing_receipt_hash is not the hash of sequence {closing} ({head[:16]}…)"
    late = next((r for r in chain[:closing] if instant_key(r["processed_at"]) > bound), None)
    if late is not None:
        return False, f"sequence {late['sequence']} was processed at {late['processed_at']}, after the close"
    if len(chain) > closing and instant_key(chain[closing]["processed_at"]) <= bound:
        return False, f"sequence {closing + 1} was processed by the close but is not part of it"
    if len(chain) == closing:
        return True, f"{NOT_CHECKED}: the chain given ends at the close, so the receipt after it was not compared"
    return True, f"chain head {closing} at the close"


def _totals_difference(recomputed: Mapping[str, Any], signed: Mapping[str, Any]) -> str:
    for currency in sorted(set(recomputed) | set(signed)):
        mine, theirs = recomputed.get(currency), signed.get(currency)
        if mine != theirs:
            if mine is None or theirs is None:
                return f"{currency}: the statement {'lacks' if theirs is None else 'has'} totals the lines do not give"
            name = next(name for name in sorted(mine) if mine[name] != theirs.get(name))
            return f"totals.{currency}.{name} is {theirs.get(name)!r}; the lines add up to {mine[name]!r}"
    return "totals differ"


def is_statement(item: Any) -> bool:
    """An exported statement, as a file of receipts and statements mixes them."""
    return isinstance(item, Mapping) and "statement_id" in item


def verify_held_statements(
    statements: Sequence[Mapping[str, Any]], receipts: Sequence[Mapping[str, Any]], jwks: Jwks
) -> list[StatementVerification]:
    """Verify statements with whatever else the holder has: each customer's receipts (in
    sequence order) as its chain, and the statement its previous_statement_hash names when
    that one is held too."""
    chains: dict[str, list[Mapping[str, Any]]] = {}
    for receipt in receipts:
        chains.setdefault(str(receipt.get("customer_id")), []).append(receipt)
    for chain in chains.values():
        chain.sort(key=lambda receipt: receipt.get("sequence") if isinstance(receipt.get("sequence"), int) else 0)
    by_hash = {statement.get("statement_hash"): statement for statement in statements}
    return [
        verify_statement(
            statement,
            jwks,
            chains.get(str(statement.get("customer_id"))),
            by_hash.get(statement.get("previous_statement_hash")),
        )
        for statement in statements
    ]
