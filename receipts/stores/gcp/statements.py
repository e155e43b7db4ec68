"""Statements in the Google Cloud store, the same calls as receipts.stores.sqlite_statements:
each period's close (Spanner `StatementCloses`, fixed by its first run) and each customer's
statement (Spanner `Statements`, inserted once and never changed), mirrored after its commit
as the receipts are: a create-only Firestore document `statements/{statement_id}` and a
write-once archive object `gs://BUCKET/statements/PERIOD/STATEMENT_ID.jsonl` (its export line).

The Spanner row is the truth and what every read answers with. A close killed between the
commit and the mirrors is completed by its rerun: `add_statement` of a stored statement
writes only the mirrors it lacks (a Firestore create of an existing document, an archive
object of the same bytes, are no-ops). A part of `SpannerFirestoreStore`
(receipts.stores.gcp.store), which supplies `_database`, `_query`, `_firestore` and `location`.
"""

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from receipts.canonical import canonical_bytes
from receipts.records import export_line
from receipts.statements.periods import Period, StatementOrderError, close_order_problem
from receipts.stores.retry import with_backoff
from receipts.stores.statement_files import STATEMENTS, statement_path

log = logging.getLogger("receipts.gcp")
COLUMNS = [
    "CustomerId",
    "Period",
    "StatementId",
    "Number",
    "ClosingSequence",
    "StatementHash",
    "Body",
    "Signature",
    "CreatedAt",
]
EXPORTED = "SELECT Body, StatementHash, Signature FROM Statements"
_archives_lock = threading.Lock()


class SpannerStatements:
    mirrors_statements = True  # add_statement archives each statement itself (the close job need not)

    def begin_close(self, period: str, closed_at: str) -> str:
        """When `period` closes: `closed_at` on its first close, the stored time on any later
        one (a rerun issues the same statements). StatementOrderError out of order."""

        def work(transaction) -> str:
            for (stored,) in transaction.read("StatementCloses", ["ClosedAt"], spanner.KeySet(keys=[[period]])):
                return stored
            closed = [Period.parse(row[0]) for row in transaction.execute_sql("SELECT Period FROM StatementCloses")]
            problem = close_order_problem(Period.parse(period), closed)
            if problem:
                raise StatementOrderError(problem)
            transaction.insert("StatementCloses", ["Period", "ClosedAt"], [[period, closed_at]])
            return closed_at

        return with_backoff("Spanner begin close", lambda: self._database.run_in_transaction(work))

    def period_closed_at(self, period: str) -> str | None:
        rows = self._read("StatementCloses", ["ClosedAt"], spanner.KeySet(keys=[[period]]))
        return rows[0][0] if rows else None

    def closed_periods(self) -> list[str]:
        return [row[0] for row in self._query("SELECT Period FROM StatementCloses ORDER BY Period")]

    def restore_close(self, period: str, closed_at: str) -> str:
        """Write back a period's close as its verified statements sign it (a restore):
        'kept' when Spanner holds it so, 'written' when it held none, 'replaced' when another."""

        def work(transaction) -> str:
            rows = transaction.read("StatementCloses", ["ClosedAt"], spanner.KeySet(keys=[[period]]))
            held = [row[0] for row in rows]
            if held == [closed_at]:
                return "kept"
            transaction.insert_or_update("StatementCloses", ["Period", "ClosedAt"], [[period, closed_at]])
            return "replaced" if held else "written"

        return with_backoff("Spanner restore close", lambda: self._database.run_in_transaction(work))

    def add_statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        """Keep an exported statement, once per (customer, period); the stored one is the
        answer (a rerun's statement is byte for byte the same, or it is not written). Then
        its Firestore document and archive object, whichever is missing."""
        customer, period = statement["customer_id"], statement["period"]
        body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}

        def work(transaction) -> tuple[int, list]:
            key = _key(customer, period)
            for row in transaction.read("Statements", ["Number", "Body", "StatementHash", "Signature"], key):
                return row[0], list(row[1:])
            rows = transaction.execute_sql(
                "SELECT COUNT(*) FROM Statements WHERE CustomerId = @c AND Period < @p",
                params={"c": customer, "p": period},
                param_types={"c": param_types.STRING, "p": param_types.STRING},
            )
            [(count,)] = list(rows)
            number = count + 1
            text = canonical_bytes(body).decode("utf-8")
            row = [
                customer,
                period,
                statement["statement_id"],
                number,
                statement["closing_sequence"],
                statement["statement_hash"],
                text,
                statement["signature"],
                spanner.COMMIT_TIMESTAMP,
            ]
            transaction.insert("Statements", COLUMNS, [row])
            return number, [text, statement["statement_hash"], statement["signature"]]

        held = self._read("Statements", ["Number", "Body", "StatementHash", "Signature"], _key(customer, period))
        if held:  # a rerun: no read-write transaction (and its locks) to find what is stored
            number, row = held[0][0], list(held[0][1:])
        else:
            number, row = with_backoff("Spanner add statement", lambda: self._database.run_in_transaction(work))
        stored = _exported(row)
        self._mirror_statement(stored, number)
        return stored

    def statement(self, statement_id: str) -> dict[str, Any] | None:
        rows = self._query(
            EXPORTED + "@{FORCE_INDEX=StatementsById} WHERE StatementId = @id",
            {"id": statement_id},
            {"id": param_types.STRING},
        )
        return _exported(rows[0]) if rows else None

    def statements(self, customer_id: str | None = None, period: str | None = None) -> Iterator[dict[str, Any]]:
        """Statements by customer, then period."""
        where, params, types = [], {}, {}
        for column, name, value in (("CustomerId", "c", customer_id), ("Period", "p", period)):
            if value is not None:
                where.append(f"{column} = @{name}")
                params[name], types[name] = value, param_types.STRING
        sql = EXPORTED + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY CustomerId, Period"
        for row in self._query(sql, params or None, types or None):
            yield _exported(row)

    def previous_statement(self, customer_id: str, period: str) -> dict[str, Any] | None:
        """The customer's latest statement of a period before `period`."""
        rows = self._query(
            EXPORTED + " WHERE CustomerId = @c AND Period < @p ORDER BY Period DESC LIMIT 1",
            {"c": customer_id, "p": period},
            {"c": param_types.STRING, "p": param_types.STRING},
        )
        return _exported(rows[0]) if rows else None

    def restore_statement(self, statement: dict[str, Any]) -> str:
        """Write a verified archived statement back (receipts.stores.statements_restore):
        'kept' when Spanner holds it as it is, 'written' when it held none, 'replaced' when it
        held another under its (customer, period); then whichever mirror is missing."""
        customer, period = statement["customer_id"], statement["period"]
        body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
        text = canonical_bytes(body).decode("utf-8")
        wanted = [statement["statement_hash"], text, statement["signature"]]

        def work(transaction) -> tuple[str, int]:
            key = spanner.KeySet(keys=[[customer, period]])
            held = list(transaction.read("Statements", ["Number", "StatementHash", "Body", "Signature"], key))
            if held and list(held[0][1:]) == wanted:
                return "kept", held[0][0]
            if held:
                number = held[0][0]
            else:
                rows = transaction.execute_sql(
                    "SELECT COUNT(*) FROM Statements WHERE CustomerId = @c AND Period < @p",
                    params={"c": customer, "p": period},
                    param_types={"c": param_types.STRING, "p": param_types.STRING},
                )
                [(count,)] = list(rows)
                number = count + 1
            row = [customer, period, statement["statement_id"], number, statement["closing_sequence"], *wanted]
            transaction.insert_or_update("Statements", COLUMNS, [[*row, spanner.COMMIT_TIMESTAMP]])
            return ("replaced" if held else "written"), number

        outcome, number = with_backoff("Spanner restore statement", lambda: self._database.run_in_transaction(work))
        self._mirror_statement(_exported([text, statement["statement_hash"], statement["signature"]]), number)
        return outcome

    # -- the mirrors -----------------------------------------------------------------
    def _mirror_statement(self, statement: dict[str, Any], number: int) -> None:
        """The Firestore document (create-only: a different one under the id is logged, the
        stored row stands) and the archive object (write-once: receipts.stores.gcp.bucket_statements;
        another statement's bytes under its name are a StatementArchiveConflict)."""
        document = statement_document(statement, number)
        reference = self._firestore.collection(STATEMENTS).document(statement["statement_id"])
        try:
            with_backoff("Firestore statement create", lambda: reference.create(document))
        except api_exceptions.Conflict:
            held = with_backoff("Firestore get", reference.get).to_dict() or {}
            if held.get("statement_hash") != statement["statement_hash"]:
                log.error(
                    "statement conflict: statements/%s holds statement_hash %s, not %s; Spanner's stands",
                    statement["statement_id"],
                    held.get("statement_hash"),
                    statement["statement_hash"],
                )
        self._statement_archive().write_once(statement_path(statement), export_line(statement))

    def _statement_archive(self):
        with _archives_lock:
            if getattr(self, "_statements_bucket", None) is None:
                from receipts.stores.gcp.bucket_statements import BucketStatements

                self._statements_bucket = BucketStatements(statements_archive_url(self.location.bucket))
            return self._statements_bucket


def statements_archive_url(bucket: str) -> str:
    """gs://BUCKET/statements: beside the receipts' archive (gs://BUCKET/receipts) and the log
    (gs://BUCKET/log), not among them, so neither's readers meet a statement."""
    return f"gs://{bucket}/{STATEMENTS}"


def statement_object_name(statement: dict[str, Any]) -> str:
    """`statements/2026-11/s_….jsonl`: the bucket's object of a statement (statement_files.statement_path
    below the prefix), named by what it is, so writing it again names the same object."""
    return f"{STATEMENTS}/{statement_path(statement)}"


def statement_document(statement: dict[str, Any], number: int) -> dict[str, Any]:
    """Firestore's copy: the signed canonical body as text, its hash and JWS, and the fields
    people look it up by."""
    body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
    return {
        "body": canonical_bytes(body).decode("utf-8"),
        "statement_hash": statement["statement_hash"],
        "signature": statement["signature"],
        "statement_id": statement["statement_id"],
        "customer_id": statement["customer_id"],
        "period": statement["period"],
        "number": number,
        "closing_sequence": statement["closing_sequence"],
    }


def _key(customer_id: str, period: str) -> spanner.KeySet:
    return spanner.KeySet(keys=[[customer_id, period]])


def _exported(row) -> dict[str, Any]:
    body, statement_hash, signature = row
    return {**json.loads(body), "statement_hash": statement_hash, "signature": signature}
