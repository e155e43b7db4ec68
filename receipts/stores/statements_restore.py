"""Statements back from their archive (receipts.stores.statement_files: a home's
archive/statements/, or gs://BUCKET/statements/), on either store, after `receipts restore`
has rebuilt the chains and before it rebuilds the log (whose leaves include the statements'
hashes). Each archived statement is verified against the customer's restored chain and the
statement before it (receipts.restoration.statements) and written back where the store lacks
it or holds another; its period's close first, where the store lost or changed it. Nothing
unverified is written, nor a customer's statements after one that fails. Restoring twice
writes nothing. On Spanner it runs as the restorer (spanner_roles.sql: receipts_restorer)."""

import json
from dataclasses import dataclass

from receipts.keys import Jwks
from receipts.restoration.report import StepRestored
from receipts.restoration.statements import Archived, agreed_closes, verified_statements
from receipts.stores.statement_files import StatementArchive

MAX_STATEMENT_BYTES = 1 << 20  # an archived statement object larger than this is not read


@dataclass
class StatementsRestored(StepRestored):
    """The statements' step (receipts.restoration.report.StepRestored), and what it did to the
    statements the store held otherwise and to the periods' closes."""

    replaced: int = 0  # the store held another under the (customer, period)
    closes: int = 0  # periods' closes written back (lost)
    closes_replaced: int = 0  # periods' closes the store held at another time


def archived_statements(archive: StatementArchive) -> tuple[dict[str, list[Archived]], list[str]]:
    """Every archived statement by customer, and why each line or object that is not one is not."""
    by_customer: dict[str, list[Archived]] = {}
    unreadable = []
    for path in archive.paths():
        where = archive.where(path)
        data = archive.read(path)
        if len(data) > MAX_STATEMENT_BYTES:
            unreadable.append(f"{where}: {len(data)} bytes, more than a statement's {MAX_STATEMENT_BYTES}")
            continue
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line:
                continue
            try:
                statement = json.loads(line)
                customer = statement["customer_id"]
                if not isinstance(customer, str):
                    raise TypeError(customer)
            except (ValueError, KeyError, TypeError):
                unreadable.append(f"{where} line {number}: not a statement")
                continue
            by_customer.setdefault(customer, []).append(Archived(statement, f"{where} line {number}"))
    return by_customer, unreadable


def restore_statements(store, archive: StatementArchive, jwks: Jwks) -> StatementsRestored:
    """Verify the archived statements and write back what the store lost or changed."""
    done = StatementsRestored(where=archive.where())
    by_customer, done.refused = archived_statements(archive)
    customers = []
    for customer, archived in sorted(by_customer.items()):
        done.archived += len(archived)
        checked = verified_statements(
            customer,
            archived,
            list(store.receipts(customer)),
            jwks,
            lambda period, customer=customer: store.previous_statement(customer, period),
        )
        customers.append(checked)
        if checked.refused:
            done.refused.append(checked.refused)
    closes, doubtful = agreed_closes([statement for checked in customers for statement in checked.verified])
    for period, why in sorted(doubtful.items()):
        done.refused.append(f"the close of {period}: {why}")
    for period, closed_at in sorted(closes.items()):
        outcome = store.restore_close(period, closed_at)
        done.closes += outcome == "written"
        done.closes_replaced += outcome == "replaced"
    for checked in customers:
        for statement in checked.verified:
            if statement["period"] not in closes:
                done.refused.append(
                    f"statement {statement['statement_id']} ({checked.customer_id}, {statement['period']}): its "
                    "period's close is in doubt (nor any of the customer's later statements)"
                )
                break
            outcome = store.restore_statement(statement)
            setattr(done, outcome, getattr(done, outcome) + 1)
    return done
