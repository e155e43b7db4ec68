"""The `Store` interface: every durable operation the pipeline, CLI and site need.

Adapters: `SqliteStore` (embedded default, `sqlite:///path`) here; Spanner + Firestore +
Cloud Storage (`gcp://project`) beside it. Writes are idempotent (a replay changes
nothing) and append-only in chain order: a receipt is stored only if it extends its
customer's stored head, so the stored chain is always gap-free.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from receipts.ledger import ChainState, Entitlement
from receipts.records import DeadLetter, SignedReceipt
from receipts.sessions import SessionRecord


@dataclass(frozen=True)
class IdempotencyRecord:
    customer_id: str
    idempotent_key: str
    receipt_id: str
    event_sha256: str


class WriteOutcome(Enum):
    WRITTEN = "written"
    ALREADY_PRESENT = "already_present"  # the same receipt, byte for byte: a replay
    CONFLICT = "conflict"  # another receipt holds this receipt_id
    NOT_NEXT = "not_next"  # does not extend the stored chain head (sequence + 1, previous hash)


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key of the verifier site, scoped to one customer. The key itself is never
    stored: only `key_hash`, the lowercase hex SHA-256 of the whole key text."""

    key_id: str
    customer_id: str
    key_hash: str
    created_at: str  # RFC 3339 UTC
    revoked_at: str | None = None


@dataclass(frozen=True)
class Balance:
    customer_id: str
    currency: str
    balance: str  # formatted with the currency's minor digits
    as_of_sequence: int


# -- what the reconciliation reads: rows as stored, nothing derived or repaired ----------


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row (SQLite) or document (Firestore) as stored: the receipt in the export
    format, and the fields the store keeps beside the signed body to find it (its key and
    index columns), which must say what the signed body says."""

    receipt: dict[str, Any]
    stored: dict[str, Any]


@dataclass(frozen=True)
class IdempotencyRow:
    """A state store's record that a key was charged. SQLite keeps no hash or sequence in it;
    Spanner's row (an outbox) has both and a commit timestamp its TTL counts from."""

    idempotent_key: str
    receipt_id: str
    event_sha256: str
    sequence: int | None = None
    receipt_hash: str | None = None
    created_at: str | None = None  # RFC 3339 UTC


@dataclass(frozen=True)
class AmountRow:
    """A balance (per currency) or an entitlement's usage, with the sequence it is as of.
    `amount` is the stored value as decimal text (balances) or minor units (usage)."""

    amount: str
    as_of_sequence: int


@dataclass(frozen=True)
class CustomerState:
    """Every state row of one customer, read at one moment (one Spanner snapshot)."""

    customer_id: str
    head_sequence: int | None  # None: no chain head row
    head_hash: str | None
    balances: dict[str, AmountRow]  # currency -> balance text
    usage: dict[str, AmountRow]  # entitlement_id -> used, minor units as text
    entitlements: dict[str, Entitlement]
    idempotency: tuple[IdempotencyRow, ...]
    idempotency_ttl_seconds: int | None = None  # rows older than this may be gone (Spanner TTL)


class Store(Protocol):
    url: str
    ledger_conflicts: int  # receipts found already stored under their id with another body: logged, not written

    def lookup_idempotency(self, customer_id: str, idempotent_key: str) -> IdempotencyRecord | None: ...

    def load_chain(self, customer_id: str) -> ChainState: ...

    def entitlement(self, customer_id: str, entitlement_id: str) -> Entitlement | None: ...

    def set_entitlement(self, entitlement: Entitlement) -> None: ...

    def entitlements(self) -> list[Entitlement]: ...

    def write_receipts(self, receipts: Sequence[SignedReceipt]) -> list[WriteOutcome]: ...

    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> int: ...

    def receipts(self, customer_id: str | None = None) -> Iterator[dict[str, Any]]: ...

    def receipt(self, receipt_id: str) -> dict[str, Any] | None: ...

    def dead_letters(self) -> Iterator[dict[str, Any]]: ...

    def balances(self) -> list[Balance]: ...

    def close(self) -> None: ...

    # -- for the verifier site (added with it; every adapter implements them) -----------
    def receipts_page(self, customer_id: str, after_sequence: int, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` of a customer's receipts with sequence > `after_sequence`, in
        sequence order, in the export format (body fields, receipt_hash, signature)."""
        ...

    def add_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new key's record; its key_id is new (ValueError when it is taken)."""
        ...

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        """The record of one key, revoked or not; None when unknown."""
        ...

    def api_keys(self, customer_id: str | None = None) -> list[ApiKeyRecord]:
        """Every key (of one customer), oldest first."""
        ...

    def revoke_api_key(self, key_id: str, revoked_at: str) -> bool:
        """Mark a key revoked; False when it is unknown or already revoked (then unchanged)."""
        ...

    def add_session(self, record: SessionRecord) -> None:
        """Store a signed-in session of the site (the hash of its token is new)."""
        ...

    def session(self, session_hash: str) -> SessionRecord | None:
        """The session with this token hash, None when unknown or ended. It may be past its
        expiry (the store deletes expired sessions in its own time): check `live`."""
        ...

    def end_session(self, session_hash: str) -> None:
        """Delete a session; ending one that is unknown or ended already does nothing."""
        ...

    # -- for the reconciliation (read-only: they never repair, create or derive) --------
    def customers(self, first: str = "", before: str | None = None) -> Iterator[str]:
        """Every customer id with a ledger receipt or any state row, sorted, each once, with
        `first` <= id < `before` (None: no upper bound), so ranges can be listed in parallel."""
        ...

    def ledger_entries(self, customer_id: str) -> Iterator[LedgerEntry]:
        """A customer's ledger exactly as stored, ordered by the stored sequence. Unlike
        `load_chain` on Spanner, it never copies anything from the outbox first."""
        ...

    def customer_state(self, customer_id: str, as_of: str | None = None) -> CustomerState:
        """A customer's chain head, balances, entitlement usage, entitlements and idempotency
        rows, read together; `as_of` (RFC 3339) is the read time where the store keeps
        versions (Spanner), else ignored."""
        ...


def store_class(url: str) -> type:
    """The store class a URL names: `sqlite:///path/receipts.db` or `gcp://PROJECT[?…]`."""
    if url.startswith("gcp://"):
        from receipts.gcp.store import SpannerFirestoreStore

        return SpannerFirestoreStore
    if url.startswith("sqlite:///"):
        from receipts.sqlite_store import SqliteStore

        return SqliteStore
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or gcp://PROJECT")


def open_store(url: str) -> Store:
    """Open the store a URL names: `sqlite:///path/receipts.db` or `gcp://PROJECT[?instance=&database=&bucket=]`."""
    return store_class(url)(url)
