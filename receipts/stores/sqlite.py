"""`SqliteStore`: the embedded store, one SQLite file (WAL mode).

A receipt, its idempotency row, the chain head, the balance and the entitlement usage
are written in one transaction, and only when the receipt extends the stored chain
head: the stored chain never has a gap, and writing the same receipt again is a no-op.
"""

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from receipts.canonical import ZERO_HASH
from receipts.credits import ChargeRecord, stored_charge
from receipts.ledger import ChainState, Entitlement
from receipts.money import parse_balance
from receipts.records import DeadLetter, SignedReceipt
from receipts.rows import (
    Balance,
    IdempotencyRecord,
    WriteCounts,
    WriteOutcome,
)
from receipts.stores.sqlite_account import SqliteAccount
from receipts.stores.sqlite_archive_outbox import SqliteArchiveOutbox
from receipts.stores.sqlite_intake import SqliteIntake
from receipts.stores.sqlite_keys import SqliteDelegatedKeys
from receipts.stores.sqlite_log import SqliteLog
from receipts.stores.sqlite_restore import SqliteRestore
from receipts.stores.sqlite_schema import COLUMNS_ADDED, SCHEMA
from receipts.stores.sqlite_site_records import SqliteSiteRecords
from receipts.stores.sqlite_state_reads import SqliteStateReads
from receipts.stores.sqlite_statements import SqliteStatements
from receipts.stores.sqlite_submissions import SqliteSubmissions

IN_CHUNK = 900  # keys per IN query: under SQLite's oldest variable limit (999) with the customer


class SqliteStore(
    SqliteStateReads,
    SqliteSiteRecords,
    SqliteArchiveOutbox,
    SqliteLog,
    SqliteIntake,
    SqliteRestore,
    SqliteStatements,
    SqliteSubmissions,
    SqliteAccount,
    SqliteDelegatedKeys,
):
    """Receipts, chain state and dead letters here; the reconciliation's reads
    (receipts.stores.sqlite_state_reads), the site's records (sqlite_site_records), the
    archive's outbox (sqlite_archive_outbox), the transparency log (sqlite_log), intake's
    state (sqlite_intake), the restore (sqlite_restore), the statements (sqlite_statements),
    who submitted each event through the site's API (sqlite_submissions) and the delegated
    signing keys (sqlite_keys) beside it."""

    idempotency_ttl_seconds = None  # idempotency rows are kept for ever
    ledger_conflicts = 0  # one database: a receipt and its rows commit together, never apart

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = Path(url.removeprefix("sqlite:///"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()
        self.write_counts = WriteCounts()  # receipt writes: transactions and rows (no mutation limit here)

    def close(self) -> None:
        self._db.close()

    def _add_missing_columns(self) -> None:
        """A home made before a column was added gets it (ALTER TABLE ADD COLUMN, with its default)."""
        for table, column, definition in COLUMNS_ADDED:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                with self._transaction():
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    # -- reads ---------------------------------------------------------------------
    def lookup_idempotency(self, customer_id: str, idempotent_key: str) -> IdempotencyRecord | None:
        return self.lookup_idempotency_many(customer_id, [idempotent_key]).get(idempotent_key)

    def lookup_idempotency_many(self, customer_id: str, keys: Iterable[str]) -> dict[str, IdempotencyRecord]:
        """The records of those of `keys` the customer used: one IN query per IN_CHUNK keys
        (SQLite caps a statement's variables; 999 before 3.32)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, IdempotencyRecord] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            rows = self._db.execute(
                "SELECT idempotent_key, receipt_id, event_sha256 FROM idempotency_keys "
                f"WHERE customer_id = ? AND idempotent_key IN ({', '.join('?' * len(chunk))})",
                (customer_id, *chunk),
            ).fetchall()
            found.update((key, IdempotencyRecord(customer_id, key, receipt_id, sha)) for key, receipt_id, sha in rows)
        return found

    def load_chain(self, customer_id: str) -> ChainState:
        head = self._db.execute(
            "SELECT sequence, receipt_hash FROM chain_heads WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        sequence, head_hash = head if head else (0, ZERO_HASH)
        balances = {
            currency: parse_balance(balance, currency)
            for currency, balance in self._db.execute(
                "SELECT currency, balance FROM balances WHERE customer_id = ?", (customer_id,)
            )
        }
        usage = {
            entitlement_id: int(used)
            for entitlement_id, used in self._db.execute(
                "SELECT entitlement_id, used_minor FROM entitlement_usage WHERE customer_id = ?", (customer_id,)
            )
        }
        return ChainState(customer_id, sequence, head_hash, balances, usage)

    def entitlement(self, customer_id: str, entitlement_id: str) -> Entitlement | None:
        row = self._db.execute(
            "SELECT limit_amount, currency FROM entitlements WHERE customer_id = ? AND entitlement_id = ?",
            (customer_id, entitlement_id),
        ).fetchone()
        return Entitlement(customer_id, entitlement_id, parse_balance(row[0], row[1]), row[1]) if row else None

    def charge(self, customer_id: str, receipt_id: str) -> ChargeRecord | None:
        with self._read():
            row = self._db.execute(
                "SELECT body FROM receipts WHERE receipt_id = ? AND customer_id = ?", (receipt_id, customer_id)
            ).fetchone()
            credited = self._db.execute(
                "SELECT credited_minor FROM charge_credits WHERE customer_id = ? AND receipt_id = ?",
                (customer_id, receipt_id),
            ).fetchone()
        return stored_charge(json.loads(row[0]), customer_id, int(credited[0]) if credited else 0) if row else None

    def entitlements(self) -> list[Entitlement]:
        rows = self._db.execute(
            "SELECT customer_id, entitlement_id, limit_amount, currency FROM entitlements ORDER BY 1, 2"
        )
        return [Entitlement(c, e, parse_balance(limit, currency), currency) for c, e, limit, currency in rows]

    def entitlement_usage(self, customer_id: str, entitlement_id: str) -> int:
        row = self._db.execute(
            "SELECT used_minor FROM entitlement_usage WHERE customer_id = ? AND entitlement_id = ?",
            (customer_id, entitlement_id),
        ).fetchone()
        return int(row[0]) if row else 0

    def receipts(self, customer_id: str | None = None) -> Iterator[dict[str, Any]]:
        query = "SELECT body, receipt_hash, signature FROM receipts"
        arguments: tuple[str, ...] = ()
        if customer_id is not None:
            query += " WHERE customer_id = ?"
            arguments = (customer_id,)
        for body, receipt_hash, signature in self._db.execute(query + " ORDER BY customer_id, sequence", arguments):
            yield {**json.loads(body), "receipt_hash": receipt_hash, "signature": signature}

    def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body, receipt_hash, signature FROM receipts WHERE receipt_id = ?", (receipt_id,)
        ).fetchone()
        return {**json.loads(row[0]), "receipt_hash": row[1], "signature": row[2]} if row else None

    def receipt_and_neighbour_ids(self, receipt_id: str) -> tuple[dict[str, Any], str | None, str | None] | None:
        """The receipt (export format) and the ids of the receipts just before and after it
        in its customer's chain, in one read (the site's receipt look-up; others use
        verifier_site.checks.receipt_and_neighbour_ids's two reads)."""
        row = self._db.execute(
            "SELECT r.body, r.receipt_hash, r.signature,"
            " (SELECT receipt_id FROM receipts WHERE customer_id = r.customer_id AND sequence = r.sequence - 1),"
            " (SELECT receipt_id FROM receipts WHERE customer_id = r.customer_id AND sequence = r.sequence + 1)"
            " FROM receipts r WHERE r.receipt_id = ?",
            (receipt_id,),
        ).fetchone()
        if row is None:
            return None
        return {**json.loads(row[0]), "receipt_hash": row[1], "signature": row[2]}, row[3], row[4]

    def dead_letters(self) -> Iterator[dict[str, Any]]:
        for (record,) in self._db.execute("SELECT record FROM dead_letters ORDER BY recorded"):
            yield json.loads(record)

    def balances(self) -> list[Balance]:
        rows = self._db.execute("SELECT customer_id, currency, balance, as_of_sequence FROM balances ORDER BY 1, 2")
        return [Balance(*row) for row in rows]

    def count_receipts(self) -> int:
        return self._db.execute("SELECT count(*) FROM receipts").fetchone()[0]

    def receipts_page(self, customer_id: str, after_sequence: int, limit: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT body, receipt_hash, signature FROM receipts WHERE customer_id = ? AND sequence > ? "
            "ORDER BY sequence LIMIT ?",
            (customer_id, after_sequence, limit),
        )
        return [
            {**json.loads(body), "receipt_hash": receipt_hash, "signature": signature}
            for body, receipt_hash, signature in rows
        ]

    # -- writes --------------------------------------------------------------------
    def set_entitlement(self, entitlement: Entitlement) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO entitlements VALUES (?, ?, ?, ?) ON CONFLICT (customer_id, entitlement_id) "
                "DO UPDATE SET limit_amount = excluded.limit_amount, currency = excluded.currency",
                (entitlement.customer_id, entitlement.entitlement_id, entitlement.limit, entitlement.currency),
            )

    def write_receipts(self, receipts: Sequence[SignedReceipt]) -> list[WriteOutcome]:
        """Write each receipt with its state rows, all in one transaction."""
        self.write_counts.transactions += 1
        with self._transaction():
            return [self._write_one(receipt) for receipt in receipts]

    def _write_one(self, receipt: SignedReceipt) -> WriteOutcome:
        chained, body = receipt.chained, receipt.chained.body
        customer, sequence = body["customer_id"], body["sequence"]
        stored = self._db.execute(
            "SELECT receipt_hash FROM receipts WHERE receipt_id = ?", (chained.receipt_id,)
        ).fetchone()
        if stored:
            return WriteOutcome.ALREADY_PRESENT if stored[0] == chained.receipt_hash else WriteOutcome.CONFLICT
        head = self._db.execute(
            "SELECT sequence, receipt_hash FROM chain_heads WHERE customer_id = ?", (customer,)
        ).fetchone() or (0, ZERO_HASH)
        if (sequence, body["previous_receipt_hash"]) != (head[0] + 1, head[1]):
            return WriteOutcome.NOT_NEXT
        self._db.execute(
            "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)",
            (
                chained.receipt_id,
                customer,
                sequence,
                chained.receipt_hash,
                chained.canonical.decode("utf-8"),
                receipt.signature,
            ),
        )
        self._db.execute(
            "INSERT INTO idempotency_keys VALUES (?, ?, ?, ?)",
            (customer, body["idempotent_key"], chained.receipt_id, body["event_sha256"]),
        )
        self._db.execute(
            "INSERT OR REPLACE INTO chain_heads VALUES (?, ?, ?)", (customer, sequence, chained.receipt_hash)
        )
        self._db.execute(
            "INSERT OR REPLACE INTO balances VALUES (?, ?, ?, ?)",
            (customer, body["currency"], body["balance_after"], sequence),
        )
        if chained.entitlement_used_minor is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO entitlement_usage VALUES (?, ?, ?, ?)",
                (customer, chained.entitlement_id, str(chained.entitlement_used_minor), sequence),
            )
        if chained.credited is not None:  # an accepted credit: its charge's credits, absolute
            charge_id, credited = chained.credited
            self._db.execute(
                "INSERT OR REPLACE INTO charge_credits VALUES (?, ?, ?, ?)",
                (customer, charge_id, str(credited), sequence),
            )
        self.write_counts.rows += 4 + (chained.entitlement_used_minor is not None) + (chained.credited is not None)
        return WriteOutcome.WRITTEN

    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> int:
        """Keep dead letters; the same message with the same reason is kept once."""
        added = 0
        with self._transaction():
            for letter in letters:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO dead_letters VALUES "
                    "(?, (SELECT coalesce(max(recorded), 0) + 1 FROM dead_letters), ?)",
                    (letter.dead_letter_id, json.dumps(letter.export(), ensure_ascii=False, sort_keys=True)),
                )
                added += cursor.rowcount
        return added

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)

    def _read(self) -> "_Transaction":
        """BEGIN (deferred): several SELECTs see one snapshot of the file."""
        return _Transaction(self._db, "BEGIN")


class _Transaction:
    """BEGIN IMMEDIATE (writes) or BEGIN (reads) ... COMMIT, or ROLLBACK on any error."""

    def __init__(self, db: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> None:
        self._db = db
        self._begin = begin

    def __enter__(self) -> None:
        self._db.execute(self._begin)

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if kind else "COMMIT")
