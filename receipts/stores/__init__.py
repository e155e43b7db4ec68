"""The `Store` interface: every durable operation the pipeline, CLI and site need, and
`open_store`, which picks the adapter a URL names.

Adapters: `SqliteStore` (embedded default, `sqlite:///path`, receipts.stores.sqlite) and
Spanner + Firestore + Cloud Storage (`gcp://project`, receipts.stores.gcp). Writes are
idempotent (a replay changes nothing) and append-only in chain order: a receipt is stored
only if it extends its customer's stored head, so the stored chain is always gap-free.
"""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from receipts.credits import ChargeRecord
from receipts.ledger import ChainState, Entitlement
from receipts.records import DeadLetter, SignedReceipt
from receipts.restoration.log import LogRows
from receipts.rows import (
    ApiKeyRecord,
    ArchiveBatch,
    Balance,
    CustomerState,
    IdempotencyRecord,
    IntakeState,
    LedgerEntry,
    LogState,
    RestoreOutcome,
    UnloggedReceipt,
    WriteCounts,
    WriteOutcome,
)
from receipts.sessions import SessionRecord
from receipts.statements.activity import DayTotal, ReceiptFilter, ReceiptPage
from receipts.statements.periods import Period
from receipts.stores.archive_plans import BATCH_RECEIPTS
from receipts.stores.log_sequencer import Appended
from receipts.submissions import SubmissionRecord
from receipts.tlog.stored import HashReader


class Store(Protocol):
    url: str
    ledger_conflicts: int  # receipts found already stored under their id with another body: logged, not written
    write_counts: WriteCounts  # what the receipt writes cost: transactions, mutations, rows

    def lookup_idempotency(self, customer_id: str, idempotent_key: str) -> IdempotencyRecord | None: ...

    def lookup_idempotency_many(self, customer_id: str, keys: Iterable[str]) -> dict[str, IdempotencyRecord]:
        """The records of those of `keys` the customer has used, by key: one store read for all."""
        ...

    def load_chain(self, customer_id: str) -> ChainState: ...

    def entitlement(self, customer_id: str, entitlement_id: str) -> Entitlement | None: ...

    def charge(self, customer_id: str, receipt_id: str) -> ChargeRecord | None:
        """The accepted receipt `receipt_id` of `customer_id` as a credit sees it (contract v2):
        amount, currency, entitlement, and what accepted credits of it add up to."""
        ...

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

    # -- the customer's account page (receipts/stores/sqlite_account.py, gcp/account.py) --
    def customer_balances(self, customer_id: str) -> list[Balance]:
        """The customer's balance rows, by currency."""
        ...

    def account_receipts(self, customer_id: str, chosen: ReceiptFilter, after_sequence: int, limit: int) -> ReceiptPage:
        """Up to `limit` receipts past `after_sequence` that `chosen` keeps (a page looks at SCAN_LIMIT at most)."""
        ...

    def credits_of(self, customer_id: str, charge_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The receipts that name each of the charges as the one they correct."""
        ...

    def daily_totals(self, customer_id: str, period: Period) -> list[DayTotal]:
        """Accepted charges and credits per event day and currency in `period` (minor units)."""
        ...

    def latest_receipt(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's receipt with the highest sequence (export format)."""
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

    # -- who submitted each event through the site's API (receipts.submissions) ----------
    def add_submissions(self, records: Sequence[SubmissionRecord]) -> int:
        """Keep each record whose receipt id has none yet: the first accepted submission
        stays, a re-post adds nothing, and writing the same records again changes nothing.
        Returns how many were added."""
        ...

    def submission(self, receipt_id: str) -> SubmissionRecord | None:
        """The submission record of a receipt id, as stored (None: none was made, e.g. the
        event was published to Pub/Sub directly). Its address may be past `address_until`
        where dropping it is the store's background work: show it with `as_of(now)`."""
        ...

    def scrub_submission_addresses(self, now: datetime, submitted_before: datetime | None = None) -> int:
        """Drop the client addresses whose retention ended by `now`, and those submitted
        before `submitted_before` (after the retention was shortened); the rest of each
        record (key id, time, event hash) stays. Returns how many were dropped."""
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

    # -- the archive's outbox (receipts.stores.archiving drives it) ----------------------
    def plan_archive(
        self, customers: Sequence[str] | None = None, max_receipts: int = BATCH_RECEIPTS
    ) -> list[ArchiveBatch]:
        """In one transaction: for each customer (of `customers`, or every one) whose chain head
        is past its "planned up to" mark, plan batches of the receipts in between (at most
        `max_receipts` per batch, a customer's span never split across a batch unless it
        alone is bigger), advance the marks, and return the new batches (pending until
        `finish_archive_batch`)."""
        ...

    def pending_archive_batches(self) -> list[ArchiveBatch]:
        """Batches planned and not finished (a kill, a failed upload), oldest first."""
        ...

    def archive_lines(self, batch: ArchiveBatch) -> list[bytes]:
        """The export lines (receipts.records.export_line) of a batch's receipts, in
        (customer, sequence) order: the same bytes every time."""
        ...

    def finish_archive_batch(self, batch_id: str) -> None:
        """The batch is in the archive: it is no longer pending. Finishing twice does nothing."""
        ...

    def archived_through(self, customer_id: str) -> int:
        """The sequence up to which every receipt of the customer is in the archive: the
        planned mark, or just before the first receipt of a pending batch of theirs."""
        ...

    def unarchived_count(self) -> int:
        """Receipts stored and not in the archive: past the planned marks, or in pending batches."""
        ...

    # -- the transparency log (receipts.stores.log_sequencer drives it) -----------------
    def ensure_log(self, origin: str) -> LogState:
        """The log's state, created (empty, named `origin`) if the store has none; refused
        (LogOriginMismatch) when the store's log has another origin."""
        ...

    def log_state(self) -> LogState | None:
        """Origin, committed size and root, and the size tiles are published through."""
        ...

    def append_log(self, origin: str, max_entries: int) -> Appended | None:
        """In one transaction: up to `max_entries` stored receipts past their customers'
        logged marks (by customer, then sequence) appended to the log, with their stored
        hashes, leaf rows, marks and the new size and root; None when none is unlogged."""
        ...

    def mark_log_published(self, old_size: int, new_size: int) -> int:
        """The tiles of old_size..new_size are out: advance `tiles_size` to new_size if it had
        reached old_size (published tiles stay a prefix); return `tiles_size`."""
        ...

    def log_entries(self, first: int, end: int) -> list[bytes]:
        """The log's entries (32-byte receipt hashes) at leaf indexes first..end-1."""
        ...

    def log_leaves(self, first: int, end: int) -> list[tuple[int, str, bytes, int | None]]:
        """(leaf index, receipt id, entry, the index the receipt's own leaf row names) of the
        leaves first..end-1, as stored (for audits: the two must agree)."""
        ...

    def log_hash_reader(self) -> HashReader:
        """The committed stored hashes, for proofs (receipts.tlog.proving) and tiles."""
        ...

    def add_checkpoint(self, size: int, note: bytes) -> bytes:
        """Keep the signed checkpoint of `size` unless one is kept; return the one kept."""
        ...

    def checkpoint(self, size: int) -> bytes | None:
        """The signed checkpoint (note bytes) of tree size `size`, if one was published."""
        ...

    def latest_checkpoint(self) -> bytes | None:
        """The signed checkpoint of the largest size published, None before the first."""
        ...

    def log_leaf_index(self, receipt_id: str) -> int | None:
        """The leaf index of a receipt, None when it is not in the log (yet)."""
        ...

    def log_leaf(self, leaf_index: int) -> str | None:
        """The receipt id at a leaf index (for audits), None past the log's size."""
        ...

    def logged_through(self, customer_id: str) -> int:
        """The sequence through which every receipt of the customer is a leaf."""
        ...

    def unlogged_count(self) -> int:
        """Receipts stored and not in the log yet."""
        ...

    # -- restore (pipelines/restore.py drives it) ----------------------------------------
    def restore_chain(
        self, customer_id: str, receipts: Sequence[dict[str, Any]], archived_through: int | None = None
    ) -> RestoreOutcome:
        """Make the store hold exactly this verified chain (sequences 1..n, export format) for
        the customer: missing or differing ledger entries and idempotency rows written, the
        chain head, balances and usage recomputed from it, the archive mark raised to
        `archived_through` (default n), all rows that were right left alone. Refused (nothing
        written) when the store's chain head is past n. Restoring again changes nothing."""
        ...

    def stored_leaves(self) -> list[UnloggedReceipt]:
        """Every receipt (and statement) the store holds, as the log takes them: for the log's
        restore (receipts.stores.log_restore), which finds each published entry among them."""
        ...

    def restore_log(self, rows: LogRows, replacing: int = 0) -> bool:
        """Write the log's tables (hashes, leaves, marks, checkpoints, state) from a verified
        published log, if the store's log still holds `replacing` entries (0: none; more: a
        prefix of the published tree, as a store restored from an older backup has); False
        (nothing written) when it holds another number meanwhile."""
        ...

    # -- intake (freeze and resume) -------------------------------------------------------
    def intake(self) -> IntakeState:
        """Whether intake is frozen (IntakeState.open() when never set)."""
        ...

    def set_intake(self, state: IntakeState) -> None:
        """Freeze or resume intake: one row, replaced."""
        ...


def store_class(url: str) -> type:
    """The store class a URL names: `sqlite:///path/receipts.db` or `gcp://PROJECT[?…]`."""
    if url.startswith("gcp://"):
        from receipts.stores.gcp.store import SpannerFirestoreStore

        return SpannerFirestoreStore
    if url.startswith("sqlite:///"):
        from receipts.stores.sqlite import SqliteStore

        return SqliteStore
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or gcp://PROJECT")


def open_store(url: str) -> Store:
    """Open the store a URL names: `sqlite:///path/receipts.db` or `gcp://PROJECT[?instance=&database=&bucket=]`."""
    return store_class(url)(url)
