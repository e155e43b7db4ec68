"""`SqliteStore`: the embedded store, one SQLite file (WAL mode).

A receipt, its idempotency row, the chain head, the balance and the entitlement usage
are written in one transaction, and only when the receipt extends the stored chain
head: the stored chain never has a gap, and writing the same receipt again is a no-op.
"""

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from receipts.canonical import ZERO_HASH
from receipts.ledger import ChainState, Entitlement
from receipts.money import parse_balance
from receipts.records import DeadLetter, SignedReceipt
from receipts.rows import (
    AmountRow,
    ApiKeyRecord,
    Balance,
    CustomerState,
    IdempotencyRecord,
    IdempotencyRow,
    LedgerEntry,
    WriteOutcome,
)
from receipts.sessions import SessionRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id    TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    sequence      INTEGER NOT NULL,
    receipt_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,  -- the RFC 8785 canonical payload that was signed
    signature     TEXT NOT NULL,
    UNIQUE (customer_id, sequence)
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    customer_id    TEXT NOT NULL,
    idempotent_key TEXT NOT NULL,
    receipt_id     TEXT NOT NULL,
    event_sha256   TEXT NOT NULL,
    PRIMARY KEY (customer_id, idempotent_key)
);
CREATE TABLE IF NOT EXISTS chain_heads (
    customer_id  TEXT PRIMARY KEY,
    sequence     INTEGER NOT NULL,
    receipt_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    customer_id    TEXT NOT NULL,
    currency       TEXT NOT NULL,
    balance        TEXT NOT NULL,
    as_of_sequence INTEGER NOT NULL,
    PRIMARY KEY (customer_id, currency)
);
CREATE TABLE IF NOT EXISTS entitlements (
    customer_id    TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    limit_amount   TEXT NOT NULL,
    currency       TEXT NOT NULL,
    PRIMARY KEY (customer_id, entitlement_id)
);
CREATE TABLE IF NOT EXISTS entitlement_usage (
    customer_id    TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    used_minor     TEXT NOT NULL,
    as_of_sequence INTEGER NOT NULL,
    PRIMARY KEY (customer_id, entitlement_id)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    key_hash    TEXT NOT NULL,  -- hex SHA-256 of the key; the key itself is never stored
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,  -- hex SHA-256 of the cookie's token; the token is never stored
    key_id       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    dead_letter_id TEXT PRIMARY KEY,
    recorded       INTEGER NOT NULL,  -- insertion order
    record         TEXT NOT NULL      -- the dead letter's export form
);
"""


class SqliteStore:
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

    def close(self) -> None:
        self._db.close()

    # -- reads ---------------------------------------------------------------------
    def lookup_idempotency(self, customer_id: str, idempotent_key: str) -> IdempotencyRecord | None:
        row = self._db.execute(
            "SELECT receipt_id, event_sha256 FROM idempotency_keys WHERE customer_id = ? AND idempotent_key = ?",
            (customer_id, idempotent_key),
        ).fetchone()
        return IdempotencyRecord(customer_id, idempotent_key, *row) if row else None

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

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        row = self._db.execute(
            "SELECT key_id, customer_id, key_hash, created_at, revoked_at FROM api_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        return ApiKeyRecord(*row) if row else None

    def api_keys(self, customer_id: str | None = None) -> list[ApiKeyRecord]:
        query = "SELECT key_id, customer_id, key_hash, created_at, revoked_at FROM api_keys"
        arguments: tuple[str, ...] = ()
        if customer_id is not None:
            query += " WHERE customer_id = ?"
            arguments = (customer_id,)
        return [ApiKeyRecord(*row) for row in self._db.execute(query + " ORDER BY created_at, key_id", arguments)]

    # -- reads for the reconciliation: rows as stored ---------------------------------
    def customers(self, first: str = "", before: str | None = None) -> Iterator[str]:
        tables = ("receipts", "chain_heads", "balances", "entitlement_usage", "idempotency_keys")
        union = " UNION ".join(f"SELECT customer_id FROM {table}" for table in tables)
        query = f"SELECT customer_id FROM ({union}) WHERE customer_id >= ?"
        arguments: tuple[str, ...] = (first,)
        if before is not None:
            query += " AND customer_id < ?"
            arguments += (before,)
        for (customer_id,) in self._db.execute(query + " ORDER BY 1", arguments):
            yield customer_id

    def ledger_entries(self, customer_id: str) -> Iterator[LedgerEntry]:
        rows = self._db.execute(
            "SELECT receipt_id, customer_id, sequence, receipt_hash, body, signature FROM receipts "
            "WHERE customer_id = ? ORDER BY sequence",
            (customer_id,),
        )
        for receipt_id, customer, sequence, receipt_hash, body, signature in rows:
            try:
                exported = {**json.loads(body), "receipt_hash": receipt_hash, "signature": signature}
            except ValueError:  # an edited row may not even be JSON: the check says so
                exported = {"receipt_hash": receipt_hash, "signature": signature}
            yield LedgerEntry(exported, {"receipt_id": receipt_id, "customer_id": customer, "sequence": sequence})

    def customer_state(self, customer_id: str, as_of: str | None = None) -> CustomerState:
        """One read transaction; `as_of` is ignored (SQLite keeps no versions; the CLI holds
        the home's run lock, so nothing moves while the reconciliation reads)."""
        with self._read():
            head = self._db.execute(
                "SELECT sequence, receipt_hash FROM chain_heads WHERE customer_id = ?", (customer_id,)
            ).fetchone()
            balances = {
                currency: AmountRow(str(balance), as_of_sequence)
                for currency, balance, as_of_sequence in self._db.execute(
                    "SELECT currency, balance, as_of_sequence FROM balances WHERE customer_id = ?", (customer_id,)
                )
            }
            usage = {
                entitlement_id: AmountRow(str(used), as_of_sequence)
                for entitlement_id, used, as_of_sequence in self._db.execute(
                    "SELECT entitlement_id, used_minor, as_of_sequence FROM entitlement_usage WHERE customer_id = ?",
                    (customer_id,),
                )
            }
            caps = {cap.entitlement_id: cap for cap in self.entitlements() if cap.customer_id == customer_id}
            rows = tuple(
                IdempotencyRow(key, receipt_id, event_sha256)
                for key, receipt_id, event_sha256 in self._db.execute(
                    "SELECT idempotent_key, receipt_id, event_sha256 FROM idempotency_keys "
                    "WHERE customer_id = ? ORDER BY idempotent_key",
                    (customer_id,),
                )
            )
        return CustomerState(
            customer_id,
            head[0] if head else None,
            head[1] if head else None,
            balances,
            usage,
            caps,
            rows,
            self.idempotency_ttl_seconds,
        )

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
                (customer, body["entitlement_id"], str(chained.entitlement_used_minor), sequence),
            )
        return WriteOutcome.WRITTEN

    def add_api_key(self, record: ApiKeyRecord) -> None:
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)",
                    (record.key_id, record.customer_id, record.key_hash, record.created_at, record.revoked_at),
                )
        except sqlite3.IntegrityError as error:
            raise ValueError(f"API key id {record.key_id} is taken") from error

    def revoke_api_key(self, key_id: str, revoked_at: str) -> bool:
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (revoked_at, key_id)
            )
            return cursor.rowcount == 1

    def add_session(self, record: SessionRecord) -> None:
        """Expired sessions go when a new one comes: the table holds live ones, roughly."""
        with self._transaction():
            self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (_instant(record.created_at),))
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (record.session_hash, record.key_id, _instant(record.created_at), _instant(record.expires_at)),
            )

    def session(self, session_hash: str) -> SessionRecord | None:
        row = self._db.execute(
            "SELECT session_hash, key_id, created_at, expires_at FROM sessions WHERE session_hash = ?", (session_hash,)
        ).fetchone()
        if row is None:
            return None
        return SessionRecord(row[0], row[1], datetime.fromisoformat(row[2]), datetime.fromisoformat(row[3]))

    def end_session(self, session_hash: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM sessions WHERE session_hash = ?", (session_hash,))

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


def _instant(moment: datetime) -> str:
    """A UTC instant as fixed-width text, so text order is time order in SQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
