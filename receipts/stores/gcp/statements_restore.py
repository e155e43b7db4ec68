"""Statements back from the archive (gs://BUCKET/statements/PERIOD/STATEMENT_ID.jsonl), after
`receipts restore` has rebuilt the chains: each archived statement is verified against the
customer's restored chain and the statement before it (receipts.statements.verify_statement,
the check every verifier runs) and written back where Spanner lacks it or holds another; its
period's close first, where Spanner lost that too. Nothing unverified is written, nor a
customer's statements after one that fails (each links to the one before). Restoring twice
writes nothing. Runs as the restorer (spanner_roles.sql: receipts_restorer)."""

import json
from dataclasses import dataclass, field
from typing import Any

from receipts.keys import Jwks
from receipts.statements import verify_statement
from receipts.statements.periods import StatementOrderError
from receipts.stores.gcp.bucket_archive import BucketArchive
from receipts.stores.gcp.statements import statements_archive_url


@dataclass
class StatementsRestored:
    archived: int = 0  # statements read from the archive
    kept: int = 0  # Spanner held them as archived
    written: int = 0  # Spanner held none
    replaced: int = 0  # Spanner held another under the (customer, period)
    closes: int = 0  # periods' closes written back
    refused: list[str] = field(default_factory=list)  # what was not written, and why

    @property
    def ok(self) -> bool:
        return not self.refused


def archived_statements(archive: BucketArchive) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every archived statement by customer, and the lines that are not one."""
    by_customer: dict[str, list[dict[str, Any]]] = {}
    unreadable = []
    for name in archive.objects():
        for number, line in enumerate(archive.read(name).split(b"\n"), start=1):
            if not line:
                continue
            try:
                statement = json.loads(line)
                by_customer.setdefault(str(statement["customer_id"]), []).append(statement)
            except (ValueError, KeyError, TypeError):
                unreadable.append(f"{archive.where(name)} line {number}: not a statement")
    return by_customer, unreadable


def restore_statements(store, jwks: Jwks) -> StatementsRestored:
    """Verify the archived statements and write back what Spanner lost or changed."""
    done = StatementsRestored()
    by_customer, done.refused = archived_statements(BucketArchive(statements_archive_url(store.location.bucket)))
    verified = []
    for customer, statements in sorted(by_customer.items()):
        done.archived += len(statements)
        chain, previous = list(store.receipts(customer)), None
        for statement in sorted(statements, key=lambda s: str(s.get("period"))):
            result = verify_statement(statement, jwks, chain, previous)
            if not result.ok:
                failure = result.failures[0]
                done.refused.append(f"{result.named()}: {failure.check}: {failure.reason} (and any after it)")
                break
            verified.append(statement)
            previous = statement
    closes: dict[str, str] = {}
    for statement in verified:
        closes.setdefault(statement["period"], statement["closed_at"])
    for period, closed_at in sorted(closes.items()):
        if store.period_closed_at(period) is None:
            try:
                store.begin_close(period, closed_at)
                done.closes += 1
            except StatementOrderError as error:
                done.refused.append(f"the close of {period}: {error}")
    for statement in verified:
        if store.period_closed_at(statement["period"]) != statement["closed_at"]:
            done.refused.append(f"{statement['statement_id']}: its period closed at another time in Spanner")
            continue
        outcome = store.restore_statement(statement)
        setattr(done, outcome, getattr(done, outcome) + 1)
    return done
