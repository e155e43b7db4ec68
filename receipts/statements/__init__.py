"""Billing periods and statements: the math every close and every check shares.

`build_statement(customer, period, closed_at, chain, previous, kid)` makes the body
(receipts.statements.body: the contract), `verify_statement(statement, jwks, chain,
previous)` checks one (receipts.statements.verify), from the lines' rules of
receipts.statements.lines and the periods of receipts.statements.periods.
"""

from receipts.statements.body import (
    Previous,
    UnsignedStatement,
    build_statement,
    exported_statement,
    statement_problem,
)
from receipts.statements.lines import Line, closing_sequence, lines_root, receipt_type, select_lines, totals
from receipts.statements.periods import Period, instant_key, parse_duration, statement_id
from receipts.statements.verify import StatementVerification, is_statement, verify_held_statements, verify_statement

__all__ = [
    "Line",
    "Period",
    "Previous",
    "StatementVerification",
    "UnsignedStatement",
    "build_statement",
    "closing_sequence",
    "exported_statement",
    "instant_key",
    "is_statement",
    "lines_root",
    "parse_duration",
    "receipt_type",
    "select_lines",
    "statement_id",
    "statement_problem",
    "totals",
    "verify_held_statements",
    "verify_statement",
]
