"""What a reconciliation finds: discrepancies, counts per check, and the scope it ran in."""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# The seven checks of the report, in the order they are printed.
CHAIN, SIGNATURES, MONEY, IDEMPOTENCY, STORES = "chain", "signatures", "money", "idempotency", "stores"
LOG = "log"  # the transparency log: every stored receipt a leaf once, the tiles making the checkpoint
STATEMENTS = "statements"  # every statement recomputes from the chain; every receipt on exactly one
CHECKS = (CHAIN, SIGNATURES, MONEY, IDEMPOTENCY, STORES, LOG, STATEMENTS)

# Where a receipt or row was read. `--source` picks the copies of the receipts to read.
LEDGER, ARCHIVE, STATE = "ledger", "archive", "state"
SOURCES = {"store": (LEDGER,), "archive": (ARCHIVE,), "both": (LEDGER, ARCHIVE)}

# Receipts a run leaves for a later one, by why (counted, never silently dropped).
AFTER_CUT = "after_cut"  # charged after the state store's snapshot (sequence past its chain head)
NOT_YET_ARCHIVED = "not_yet_archived"  # still in the store's archive outbox, or processed within --settle-seconds
IN_FLIGHT = "in_flight_to_ledger"  # committed to the state store within --settle-seconds of the cut
EXPIRED_STATE_ROW = "expired_state_rows"  # older than the state store's idempotency TTL


@dataclass(frozen=True)
class Copy:
    """How a finding names the copy of a receipt it is about: by the receipt id its
    signature carries (else its own), by where it was read, and by the receipt_id the copy
    states itself when that is another one, so an auditor opens the right line."""

    receipt_id: str | None
    where: str | None = None  # an archive file and line, or "the ledger"
    stated_receipt_id: str | None = None  # the copy's own receipt_id, when it is not receipt_id


@dataclass(frozen=True)
class Discrepancy:
    """One thing that does not hold, naming the customer, receipt and field at fault."""

    check: str  # one of CHECKS
    customer_id: str | None
    receipt_id: str | None  # the receipt the faulty copy's signature proves, else the one it states
    sequence: int | None
    field: str  # the field at fault, or the store a receipt is missing from
    reason: str
    rule: str  # the rule within the check: a receipts.verify check name, chain_head, balance_row, ...
    source: str  # where the faulty copy or row was read: ledger, archive or state
    where: str | None = None  # that copy: an archive file and line, or "the ledger"; None for a row
    stated_receipt_id: str | None = None  # the copy's own receipt_id, when it is not receipt_id

    @classmethod
    def of(
        cls,
        check: str,
        customer_id: str | None,
        copy: Copy,
        sequence: int | None,
        field: str,
        reason: str,
        rule: str,
        source: str,
    ) -> "Discrepancy":
        """A discrepancy about one copy of a receipt, named as `copy` names it."""
        return cls(
            check,
            customer_id,
            copy.receipt_id,
            sequence,
            field,
            reason,
            rule,
            source,
            copy.where,
            copy.stated_receipt_id,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sort_key(self) -> tuple:
        return (
            CHECKS.index(self.check),
            self.customer_id or "",
            self.sequence or 0,
            self.receipt_id or "",
            self.field,
            self.where or "",
        )


@dataclass(frozen=True)
class ArchivedCopy:
    """One archive line read as a receipt, and where it was (file or object, line number)."""

    receipt: dict[str, Any]
    where: str


@dataclass(frozen=True)
class Scope:
    """What a run looks at. `as_of` is the cut: the moment the state store is read at.
    Receipts charged after it are left for the next run; `settle_seconds` gives receipts
    processed just before it time to reach the archive and the ledger."""

    source: str = "both"
    as_of: str | None = None  # RFC 3339 UTC; None: no cut, everything is in scope
    settle_seconds: int = 0
    clock_skew_seconds: int = 300  # a receipt "processed" later than this past the read is not in flight

    @property
    def sources(self) -> tuple[str, ...]:
        return SOURCES[self.source]

    def settled_before(self) -> datetime | None:
        cut = parse_time(self.as_of)
        return None if cut is None else cut - timedelta(seconds=self.settle_seconds)


@dataclass
class Tally:
    """Counts per check (customers examined, receipts examined, discrepancies) and receipts
    set aside, adding up across customers."""

    checks: dict[str, dict[str, int]] = field(
        default_factory=lambda: {check: {"customers": 0, "receipts": 0, "discrepancies": 0} for check in CHECKS}
    )
    set_aside: dict[str, int] = field(default_factory=dict)
    customers: int = 0
    receipts: int = 0

    def examined(self, check: str, receipts: int, customers: int = 1) -> None:
        self.checks[check]["customers"] += customers
        self.checks[check]["receipts"] += receipts

    def found(self, discrepancies: Iterable[Discrepancy]) -> None:
        for discrepancy in discrepancies:
            self.checks[discrepancy.check]["discrepancies"] += 1

    def aside(self, why: str, count: int = 1) -> None:
        if count:
            self.set_aside[why] = self.set_aside.get(why, 0) + count

    @property
    def discrepancies(self) -> int:
        return sum(counts["discrepancies"] for counts in self.checks.values())

    def merge(self, other: "Tally") -> "Tally":
        for check, counts in other.checks.items():
            for name, value in counts.items():
                self.checks[check][name] += value
        for why, count in other.set_aside.items():
            self.aside(why, count)
        self.customers += other.customers
        self.receipts += other.receipts
        return self


@dataclass(frozen=True)
class CustomerResult:
    """Everything one customer's reconciliation found (customer_id None: a problem found
    while reading, such as an archive line that is not a receipt)."""

    customer_id: str | None
    discrepancies: tuple[Discrepancy, ...]
    tally: Tally


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
