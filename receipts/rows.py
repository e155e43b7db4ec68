"""What a store holds and answers, as plain values: the rows every `Store` adapter
(receipts.stores) reads and writes, and what the reconciliation checks. No I/O here."""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from receipts.ledger import Entitlement


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


@dataclass
class WriteCounts:
    """What a store's receipt writes cost so far: transactions (attempts, a retried one
    counts again), mutations (cells: one per column of each row written) and rows."""

    transactions: int = 0
    mutations: int = 0
    rows: int = 0


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key of the verifier site: a customer key, scoped to `customer_id`, or an
    operator key (`role` "operator", `customer_id` empty). The key itself is never stored:
    only `key_hash`, the lowercase hex SHA-256 of the whole key text. What each role may
    do is receipts.api_keys' rule."""

    key_id: str
    customer_id: str
    key_hash: str
    created_at: str  # RFC 3339 UTC
    revoked_at: str | None = None
    role: str = "customer"  # receipts.api_keys.ROLES


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
    archived_through: int | None = None  # the archive's outbox: receipts past this are not archived yet
    credits: dict[str, AmountRow] = field(default_factory=dict)  # charge receipt_id -> credited, minor units


# -- the archive's outbox: what is stored and not yet archived -------------------------


@dataclass(frozen=True)
class ArchiveSpan:
    """Receipts `first`..`last` (sequences, inclusive) of one customer's chain."""

    customer_id: str
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class ArchiveBatch:
    """One planned archive file or object: spans of stored receipts that go into the archive
    together. It is planned in the same store transaction that advances each customer's
    "planned up to" mark, so every stored receipt is in exactly one batch; its contents are
    fixed at planning (stored receipts never change), so writing it again after a kill
    writes the same bytes under the same name."""

    batch_id: str  # "<planned_at as YYYYMMDDTHHMMSSZ>-<12 hex>": sorts by planning time
    planned_at: str  # RFC 3339 UTC
    spans: tuple[ArchiveSpan, ...]

    @property
    def count(self) -> int:
        return sum(span.count for span in self.spans)


# -- intake: whether new events are charged ---------------------------------------------


@dataclass(frozen=True)
class IntakeState:
    """Frozen: nothing new is charged (the site answers 503 intake_frozen, the pipelines hold
    events as `intake_frozen` dead letters). Kept in the store so every part reads one state."""

    frozen: bool
    reason: str = ""
    changed_at: str | None = None  # RFC 3339 UTC of the last freeze or resume
    changed_by: str = ""  # who or what: "operator", "reconciliation", a user name

    @classmethod
    def open(cls) -> "IntakeState":
        return cls(False)


# -- restore: what rebuilding one customer from the archive changed -----------------------


@dataclass(frozen=True)
class RestoreOutcome:
    """What `Store.restore_chain` did for one customer: rows it wrote because they were
    missing, and rows it replaced because they differed from the verified chain (zero
    everywhere when the store was right: restoring twice changes nothing). `refused` says
    why nothing was written (the store's chain head is past the chain given)."""

    customer_id: str
    through_sequence: int  # the chain head the store stands at afterwards
    ledger_written: int = 0
    ledger_replaced: int = 0
    idempotency_written: int = 0
    idempotency_replaced: int = 0
    idempotency_expired: int = 0  # past the store's idempotency TTL: not written (Spanner)
    state_written: int = 0  # chain head, balance and usage rows written, replaced or removed
    refused: str | None = None

    @property
    def changed(self) -> int:
        return (
            self.ledger_written
            + self.ledger_replaced
            + self.idempotency_written
            + self.idempotency_replaced
            + self.state_written
        )


# -- the transparency log: what the sequencer has integrated -----------------------------


@dataclass(frozen=True)
class LogState:
    """Where the store's log stands: its origin (fixed by the first integration), the tree
    size and root committed, and the size through which every tile and entry bundle is
    published (`tiles_size` <= `size`; less only after a kill between the two)."""

    origin: str
    size: int
    root: bytes
    tiles_size: int


def statements_mark(customer_id: str) -> str:
    """Whose "logged through" mark counts a customer's statements (1, 2, … by period), beside
    the mark of its receipts: statements are leaves too, after the receipts they close over
    (a customer id never holds ':')."""
    return f"statements:{customer_id}"


@dataclass(frozen=True)
class UnloggedReceipt:
    """A stored receipt the log does not hold yet: what the sequencer needs of it, and
    nothing more (the log's entry is the 32 raw bytes of its receipt hash)."""

    customer_id: str
    sequence: int
    receipt_id: str
    receipt_hash: str  # lowercase hex

    @property
    def entry(self) -> bytes:
        return bytes.fromhex(self.receipt_hash)


KEYS_MARK = "keys:"  # the "logged through" mark of the key documents (a customer id never holds ':')


@dataclass(frozen=True)
class DelegatedKeyRow:
    """One validity window's delegated signing key as a store keeps it: the private part only
    wrapped (by Cloud KMS, or locally by the home's key-encryption key), and the HSM key's
    endorsement of its public part (receipts.delegation). One per window, first writer wins."""

    not_before: str  # the window's start: the row's key
    kid: str
    wrapped_private: bytes
    endorsement: str  # compact JWS, typ key-endorsement+jws


@dataclass(frozen=True)
class KeyDocument:
    """An endorsement or a revocation (compact JWS by the HSM key), numbered 1, 2, … in the
    order the store wrote them: that order makes them log leaves under KEYS_MARK."""

    number: int
    document_id: str  # "endorsement:<kid>" or "revocation:<kid>"
    kind: str  # "endorsement" or "revocation"
    kid: str  # the delegated key's
    jws: str
    document_hash: str  # SHA-256 of the signed payload: the log entry
