"""Restore of statements: which of a customer's archived statements may be written back, given
the chain the restore just rebuilt. Each is checked as every verifier checks one
(receipts.statements.verify_statement: signature, canonical body and hash, contract, the
close, lines and totals recomputed from the chain), and linked to the statement before it:
the archived one of the period before, or, for the first archived one that is not the
customer's first, the store's. In period order, cut at the first that fails: each links to
the one before, so nothing after it can be trusted either. Pure: no I/O.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from receipts.canonical import ZERO_HASH
from receipts.keys import Jwks
from receipts.statements import statement_id, verify_statement
from receipts.verify import verify_chain

Statement = dict[str, Any]


@dataclass(frozen=True)
class Archived:
    """One archived statement and where it was read (an object's name)."""

    statement: Statement
    where: str


@dataclass
class CustomerStatements:
    """A customer's archived statements that verified, in period order, and why the next did not."""

    customer_id: str
    verified: list[Statement] = field(default_factory=list)
    refused: str | None = None


def verified_statements(
    customer_id: str,
    archived: Sequence[Archived],
    chain: Sequence[Mapping[str, Any]],
    jwks: Jwks,
    stored_previous: Callable[[str], Statement | None],
) -> CustomerStatements:
    """The longest run of the customer's archived statements, by period, of which each is
    there in one version and verifies against `chain` (the customer's receipts from sequence
    1) and the statement before it. `stored_previous(period)`: the store's latest statement
    before `period`, asked only when the archive lacks the one a statement links to."""
    done = CustomerStatements(customer_id)
    by_period: dict[str, list[Archived]] = {}
    for item in archived:
        by_period.setdefault(str(item.statement.get("period")), []).append(item)
    good = _verified_prefix(chain, jwks)
    previous: Statement | None = None
    for period in sorted(by_period):
        copies = _distinct(by_period[period])
        if len(copies) > 1:
            places = ", ".join(item.where for item in copies)
            done.refused = f"{customer_id}'s statement of {period[:8]}: two different archived copies ({places})"
            break
        statement, where = copies[0].statement, copies[0].where
        problem = _claim_problem(customer_id, statement)
        if problem is None and previous is None and statement.get("previous_statement_hash") != ZERO_HASH:
            previous = stored_previous(period)  # the archive lacks the one before: the store's, if any
            if previous is None:
                problem = "previous_statement: it follows a statement that neither the archive nor the store holds"
        if problem is None:
            result = verify_statement(statement, jwks, good, previous, chain_verified=True)
            if not result.ok:
                failure = result.failures[0]
                problem = f"{failure.check}: {failure.reason}"
        if problem is not None:
            name = f"statement {str(statement.get('statement_id'))[:40]} ({customer_id}, {period[:8]})"
            done.refused = f"{name}: {problem} (archived at {where}; nor any of the customer's later statements)"
            break
        done.verified.append(statement)
        previous = statement
    return done


def _verified_prefix(chain: Sequence[Mapping[str, Any]], jwks: Jwks) -> list[Mapping[str, Any]]:
    """The chain up to its first receipt that does not verify: verified once for all of the
    customer's statements (a statement closing past it then fails its `chain` check)."""
    results = verify_chain(chain, jwks)
    end = next((index for index, result in enumerate(results) if not result.ok), len(chain))
    return list(chain[:end])


def _distinct(copies: Sequence[Archived]) -> list[Archived]:
    """The copies that differ (identical ones once)."""
    seen: dict[str, Archived] = {}
    for item in copies:
        seen.setdefault(json.dumps(item.statement, sort_keys=True), item)
    return list(seen.values())


def _claim_problem(customer_id: str, statement: Statement) -> str | None:
    """A statement is its customer's and period's, by its deterministic id."""
    period = statement.get("period")
    if not isinstance(period, str) or statement.get("statement_id") != statement_id(customer_id, period):
        return f"statement_id: not the id of {customer_id}'s statement of that period"
    return None


def agreed_closes(statements: Sequence[Statement]) -> tuple[dict[str, str], dict[str, str]]:
    """(period -> the close time its statements sign, period -> why not one): every verified
    statement of a period signs the same `closed_at`, or the period's close is in doubt."""
    times: dict[str, set[str]] = {}
    for statement in statements:
        times.setdefault(statement["period"], set()).add(statement["closed_at"])
    agreed = {period: next(iter(found)) for period, found in times.items() if len(found) == 1}
    doubtful = {
        period: f"its verified statements sign {len(found)} different close times: {', '.join(sorted(found)[:3])}"
        for period, found in times.items()
        if len(found) > 1
    }
    return agreed, doubtful
