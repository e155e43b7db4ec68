"""The log's restore on Spanner (receipts.stores.log_restore): every stored receipt and
statement as the log takes it, and the log's rows written back from a verified published log
(the marks of a customer's statements in StatementLogMarks, beside LogMarks). The rows go
in batches of blind writes (a large log is more than one commit may hold), LogState last and
only if the store has no log yet: a restore killed before that wrote rows nothing reads,
which the next restore writes again. A part of `SpannerFirestoreStore`."""

from google.cloud import spanner

from receipts.restoration.log import LogRows
from receipts.rows import KEYS_MARK, UnloggedReceipt, statements_mark
from receipts.stores.gcp.log import SPAN_ROWS, SPAN_TYPE
from receipts.stores.gcp.log_rows import ROW, STATE, key_of, spanner_bytes, split_marks, state_of
from receipts.stores.retry import with_backoff

KEY_DOCUMENT_LEAVES = "SELECT Number, DocumentId, DocumentHash FROM KeyDocuments ORDER BY Number"
CUSTOMERS_PER_READ = 500
ROWS_PER_COMMIT = 2_000


class SpannerLogRestore:
    def stored_leaves(self) -> list[UnloggedReceipt]:
        """Every receipt the store holds (idempotency rows, or the ledger past their TTL), then
        every statement (each customer's numbered 1, 2, … under receipts.rows.statements_mark)
        and the key documents (receipts/stores/gcp/delegated_keys.py) under receipts.rows.KEYS_MARK."""
        heads = self._query("SELECT CustomerId, Sequence FROM ChainHeads ORDER BY CustomerId")
        found: dict[tuple[str, int], UnloggedReceipt] = {}
        for first in range(0, len(heads), CUSTOMERS_PER_READ):
            spans = [(customer_id, 1, head) for customer_id, head in heads[first : first + CUSTOMERS_PER_READ]]
            for customer_id, sequence, receipt_id, digest in self._query(
                SPAN_ROWS, {"spans": spans}, {"spans": SPAN_TYPE}
            ):
                found[(customer_id, sequence)] = UnloggedReceipt(customer_id, sequence, receipt_id, digest)
            for customer_id, _, head in spans:
                if any((customer_id, s) not in found for s in range(1, head + 1)):
                    found.update(self._ledger_unlogged(customer_id, 1, head))
        statements = self._query("SELECT CustomerId, Number, StatementId, StatementHash FROM Statements")
        documents = [UnloggedReceipt(KEYS_MARK, *row) for row in self._query(KEY_DOCUMENT_LEAVES)]
        return (
            [found[key] for key in sorted(found)]
            + [
                UnloggedReceipt(statements_mark(customer_id), number, statement_id, digest)
                for customer_id, number, statement_id, digest in statements
            ]
            + documents
        )

    def restore_log(self, rows: LogRows, replacing: int = 0) -> bool:
        """Write the log's rows if the store's log still holds `replacing` entries (0: none;
        more: a prefix of the published tree, checked by the caller); False otherwise."""
        state = self.log_state()
        if (state.size if state is not None else 0) != replacing:
            return False
        published = rows.published
        hashes = [value for _, value in rows.stored_hashes()]
        leaves = rows.leaves
        receipt_marks, statement_marks = split_marks(rows.marks)
        tables = [
            (
                "LogHashes",
                ["Chunk", "Hashes"],
                [[n, spanner_bytes(b"".join(hashes[n * ROW : (n + 1) * ROW]))] for n in range(-(-len(hashes) // ROW))],
            ),
            (
                "LogBundles",
                ["Bundle", "Entries", "ReceiptIds"],
                [
                    [
                        n,
                        spanner_bytes(b"".join(leaf.entry for leaf in leaves[n * ROW : (n + 1) * ROW])),
                        [leaf.receipt_id for leaf in leaves[n * ROW : (n + 1) * ROW]],
                    ]
                    for n in range(-(-len(leaves) // ROW))
                ],
            ),
            ("LogLeaves", ["ReceiptId", "LeafIndex"], [[leaf.receipt_id, i] for i, leaf in enumerate(leaves)]),
            ("LogMarks", ["CustomerId", "LoggedSequence"], [list(mark) for mark in sorted(receipt_marks.items())]),
            (
                "StatementLogMarks",
                ["CustomerId", "LoggedNumber"],
                [list(mark) for mark in sorted(statement_marks.items())],
            ),
            (
                "LogCheckpoints",
                ["Size", "Note", "SignedAt"],
                [[size, spanner_bytes(note), spanner.COMMIT_TIMESTAMP] for size, note in published.checkpoints.items()],
            ),
        ]
        for table, columns, values in tables:
            for first in range(0, len(values), ROWS_PER_COMMIT):
                part = values[first : first + ROWS_PER_COMMIT]

                def write(table=table, columns=columns, part=part) -> None:
                    with self._database.batch() as batch:
                        batch.insert_or_update(table, columns, part)

                with_backoff(f"Spanner restore {table}", write)

        def finish(transaction) -> bool:
            stored = state_of(transaction.read("LogState", STATE[1:5], key_of([1])))
            if (stored.size if stored is not None else 0) != replacing:
                return False
            values = [1, published.origin, published.size, spanner_bytes(published.root), published.signed]
            transaction.insert_or_update("LogState", STATE, [[*values, spanner.COMMIT_TIMESTAMP]])
            return True

        return with_backoff("Spanner restore LogState", lambda: self._database.run_in_transaction(finish))
