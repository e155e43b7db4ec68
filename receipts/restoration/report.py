"""The restore's results: one `CustomerRestore` per customer (or per unreadable archive
line), added up into one bounded `RestoreSummary`, and the JSON report built from it."""

from dataclasses import asdict, dataclass, field
from typing import Any

from receipts.restoration import CutShort
from receipts.rows import RestoreOutcome

NOT_IN_ARCHIVE = (
    "Entitlement limits and API keys are not in the archive: a store that lost them needs them set again "
    "(receipts entitlements set, receipts api-keys create); usage against each limit is restored."
)
WRITTEN_KINDS = (
    "ledger_written",
    "ledger_replaced",
    "idempotency_written",
    "idempotency_replaced",
    "idempotency_expired",
    "state_written",
)


@dataclass(frozen=True)
class CustomerRestore:
    """One customer's restore; or, with `customer_id` None, an archive line that is not a receipt."""

    customer_id: str | None
    verified: int = 0  # receipts of the verified archived chain
    kept: int = 0  # receipts past the archive, kept from the store (they extend it and verify)
    lines: int = 0
    duplicates: int = 0
    outcome: RestoreOutcome | None = None
    cut_short: CutShort | None = None
    refused: str | None = None  # why nothing was written for this customer
    unreadable: str | None = None  # why an archive line is not a receipt

    @property
    def ok(self) -> bool:
        return self.cut_short is None and self.refused is None and self.unreadable is None


@dataclass
class RestoreSummary:
    """Exact counts; at most `max_listed` customers cut short, refused or unreadable lines listed."""

    max_listed: int = 1000
    customers: int = 0
    restored: int = 0  # customers whose store rows now follow their verified chain
    changed: int = 0  # of those, customers where anything was written
    verified: int = 0
    kept: int = 0
    lines: int = 0
    duplicates: int = 0
    written: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WRITTEN_KINDS, 0))
    problems: int = 0
    listed: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: CustomerRestore) -> "RestoreSummary":
        if result.customer_id is not None:
            self.customers += 1
        self.verified += result.verified
        self.kept += result.kept
        self.lines += result.lines + (1 if result.unreadable else 0)
        self.duplicates += result.duplicates
        outcome = result.outcome
        if outcome is not None and outcome.refused is None:
            self.restored += 1
            self.changed += int(outcome.changed > 0)
            for kind in WRITTEN_KINDS:
                self.written[kind] += getattr(outcome, kind)
        if not result.ok:
            self.problems += 1
            if len(self.listed) < self.max_listed:
                self.listed.append(_listed(result))
        return self

    def merge(self, other: "RestoreSummary") -> "RestoreSummary":
        for name in ("customers", "restored", "changed", "verified", "kept", "lines", "duplicates", "problems"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind in WRITTEN_KINDS:
            self.written[kind] += other.written[kind]
        self.listed = (self.listed + other.listed)[: self.max_listed]
        return self

    def report(self, run: dict[str, Any]) -> dict[str, Any]:
        listed = sorted(self.listed, key=lambda item: (item["customer_id"] or "", item["reason"]))
        return {
            "kind": "receipts.restore",
            "version": 1,
            "ok": self.problems == 0,
            **run,
            "customers": self.customers,
            "customers_restored": self.restored,
            "customers_changed": self.changed,
            "receipts_verified": self.verified,
            "receipts_kept_from_store": self.kept,
            "archive_lines": self.lines,
            "duplicate_lines": self.duplicates,
            "written": dict(self.written),
            "problems_found": self.problems,
            "cut_short": [item for item in listed if item["kind"] == "cut_short"],
            "refused": [item for item in listed if item["kind"] == "refused"],
            "unreadable": [item for item in listed if item["kind"] == "unreadable"],
            "truncated": self.problems > len(self.listed),
            "not_in_archive": NOT_IN_ARCHIVE,
        }


def _listed(result: CustomerRestore) -> dict[str, Any]:
    if result.unreadable is not None:
        return {"kind": "unreadable", "customer_id": None, "reason": result.unreadable}
    through = result.outcome.through_sequence if result.outcome and result.outcome.refused is None else None
    if result.refused is not None:
        return {
            "kind": "refused",
            "customer_id": result.customer_id,
            "reason": result.refused,
            "restored_through": None,
        }
    cut = asdict(result.cut_short)
    return {"kind": "cut_short", "customer_id": result.customer_id, **cut, "restored_through": through}


def summary_line(report: dict[str, Any]) -> str:
    """One line for logs: what was restored and what was not."""
    verdict = "OK" if report["ok"] else f"{report['problems_found']} problem(s)"
    return (
        f"restore {verdict}: {report['customers_restored']} of {report['customers']} customers restored, "
        f"{report['receipts_verified']} archived receipts verified, {report['customers_changed']} customers changed"
    )


@dataclass
class StepRestored:
    """What one of the restore's archive steps (statements, key documents) did: the objects
    read, those the store held as archived, those written back, and what was not written,
    and why (any refusal makes the step, and the restore, fail)."""

    where: str = ""
    archived: int = 0  # objects read from the archive
    kept: int = 0  # the store held them as archived
    written: int = 0  # the store lacked them
    refused: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused

    def report(self) -> dict:
        return {**asdict(self), "ok": self.ok}
