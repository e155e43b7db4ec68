"""One statement of the signed-in customer, as the account's statement page and its browser
check read it: the stored statement, its lines chosen from the stored chain, and the checks
receipts.statements.verify_statement recomputes (as GET /v1/statements/<id>?lines=true does).
Another customer's statement answers exactly like a missing one."""

import re
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

from receipts.statements import Line, Period, StatementVerification, select_lines, verify_statement
from verifier_site.errors import SiteError
from verifier_site.key_source import trusted_jwks
from verifier_site.storage import get_store

STATEMENT_ID_PATTERN = re.compile(r"s_[a-z2-7]{26}", re.ASCII)
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 25, 100  # receipts per page of the account (and the OpenAPI document)


@dataclass(frozen=True)
class StatementReport:
    statement: dict[str, Any]
    lines: list[Line]
    verification: StatementVerification | None


def keeps_statements() -> bool:
    return hasattr(get_store(), "statements")


def owned_statement(statement_id: str, customer_id: str) -> dict[str, Any]:
    if not STATEMENT_ID_PATTERN.fullmatch(statement_id):
        raise SiteError(400, "a statement id is s_ followed by 26 characters a-z and 2-7", code="invalid_statement_id")
    record = get_store().statement(statement_id) if keeps_statements() else None
    if record is None or record.get("customer_id") != customer_id:
        raise SiteError(404, f"no statement {statement_id} for this API key's customer")
    return record


def statement_report(statement_id: str, customer_id: str, verify: bool = True) -> StatementReport:
    """The statement, its lines and (with `verify`) its checks, from the chain through the
    receipt after its close."""
    store = get_store()
    record = owned_statement(statement_id, customer_id)
    closing = record["closing_sequence"]
    chain = list(takewhile(lambda receipt: receipt["sequence"] <= closing + 1, store.receipts(customer_id)))
    previous = store.previous_statement(customer_id, record["period"]) if verify else None
    verification = verify_statement(record, trusted_jwks(), chain, previous) if verify else None
    lines = select_lines(chain, Period.parse(record["period"]), closing, record["previous_closing_sequence"])
    return StatementReport(record, lines, verification)


def browser_data(report: StatementReport) -> dict[str, Any]:
    """What static/statement.js recomputes from: the statement as stored, its lines, and each
    line's signed receipt (no verdict of ours: the browser reaches its own)."""
    return {
        "statement": report.statement,
        "lines": [
            {
                "sequence": line.sequence,
                "receipt_id": line.receipt["receipt_id"],
                "receipt_hash": line.receipt_hash,
                "late": line.late,
            }
            for line in report.lines
        ],
        "receipts": [dict(line.receipt) for line in report.lines],
    }
