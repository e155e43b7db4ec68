"""The reconciliation's statements check, per customer: every statement issued verifies
against the stored chain and links to the one before it, each closed period has the
customer's statement when the customer had a chain at its close, and every receipt is on
exactly one statement of a closed period (or on none, while its period or the close that
will take it is still to come)."""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from receipts.keys import Jwks
from receipts.reconciliation.findings import LEDGER, STATEMENTS, CustomerResult, Discrepancy, Tally
from receipts.statements import Period, instant_key, select_lines, verify_statement


def check_statements(
    customer_id: str,
    chain: Sequence[Mapping[str, Any]],
    statements: Sequence[Mapping[str, Any]],
    closes: Mapping[str, str],
    jwks: Jwks,
    chain_verified: bool = True,
) -> CustomerResult:
    """`chain`: the customer's stored receipts from sequence 1, verified already by the
    chain check (`chain_verified`); `statements`: the customer's, any order; `closes`: every
    closed period's close time."""
    tally = Tally()  # the customer is counted by the chain's check
    found: list[Discrepancy] = []

    def add(statement_id: str | None, sequence: int | None, field: str, reason: str, rule: str) -> None:
        found.append(Discrepancy(STATEMENTS, customer_id, statement_id, sequence, field, reason, rule, LEDGER))

    ordered = sorted(statements, key=lambda statement: str(statement.get("period")))
    previous = None
    on: Counter[int] = Counter()
    for statement in ordered:
        result = verify_statement(statement, jwks, chain, previous, chain_verified=chain_verified)
        for failure in result.failures:
            add(result.statement_id, None, failure.check, failure.reason, failure.check)
        if result.ok:
            body = result.body
            lines = select_lines(
                chain, Period.parse(body["period"]), body["closing_sequence"], body["previous_closing_sequence"]
            )
            on.update(line.sequence for line in lines)
        previous = statement
    held = {str(statement.get("period")) for statement in ordered}
    first = chain[0] if chain else None
    for period, closed_at in sorted(closes.items()):
        if period not in held and first is not None and instant_key(first["processed_at"]) <= instant_key(closed_at):
            add(
                None,
                None,
                "statement",
                f"no statement for {period}, closed at {closed_at} after this chain began",
                "missing_statement",
            )
    covered = [(Period.parse(str(s["period"])), s["closing_sequence"]) for s in ordered if "closing_sequence" in s]
    for receipt in chain:
        sequence = receipt["sequence"]
        own = Period.of_timestamp(receipt["event_timestamp"])
        due = any(period >= own and closing >= sequence for period, closing in covered)
        if due and on[sequence] != 1:
            add(
                receipt["receipt_id"],
                sequence,
                "statement",
                f"on {on[sequence]} statements, not exactly one",
                "one_statement",
            )
        elif not due and on[sequence]:
            add(
                receipt["receipt_id"],
                sequence,
                "statement",
                "on a statement before its period or close",
                "one_statement",
            )
    tally.examined(STATEMENTS, len(chain))  # every receipt: on one statement, or still open
    tally.found(found)
    return CustomerResult(customer_id, tuple(found), tally)
