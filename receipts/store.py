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


class Store(Protocol):
    url: str

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


def open_store(url: str) -> Store:
    """Open the store a URL names: `sqlite:///path/receipts.db` or `gcp://PROJECT[?instance=&database=&bucket=]`."""
    if url.startswith("gcp://"):
        from receipts.gcp.store import SpannerFirestoreStore

        return SpannerFirestoreStore(url)
    if url.startswith("sqlite:///"):
        from receipts.sqlite_store import SqliteStore

        return SqliteStore(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or gcp://PROJECT")
