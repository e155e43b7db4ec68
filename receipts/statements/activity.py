"""A customer's activity as the account page shows it: which receipts a filter keeps (period,
status, type) and what the accepted ones add up to per day and currency, in integer minor
units. Pure: the stores feed it rows, the site draws what it returns."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from receipts.contract import UTC_TIMESTAMP
from receipts.ledger import ACCEPTED
from receipts.money import parse_amount
from receipts.statements.lines import CHARGE, CREDIT, receipt_type
from receipts.statements.periods import Period, instant_key

STATUSES = ("accepted", "rejected")
# Receipts one page may look at: a filter that keeps few of them ends its page early, with a
# cursor past the ones it looked at, so no request scans a whole long chain.
SCAN_LIMIT = 5000
TYPES = (CHARGE, CREDIT)


@dataclass(frozen=True)
class ReceiptFilter:
    """What the account's receipt list keeps: None means any."""

    period: Period | None = None  # by event time, as statements count it
    status: str | None = None
    type: str | None = None

    @classmethod
    def parse(cls, period: str | None, status: str | None, kind: str | None) -> "ReceiptFilter":
        """From query text ("" or None: any); ValueError saying what is wrong."""
        if status and status not in STATUSES:
            raise ValueError(f"status is one of {', '.join(STATUSES)}")
        if kind and kind not in TYPES:
            raise ValueError(f"type is one of {', '.join(TYPES)}")
        return cls(Period.parse(period) if period else None, status or None, kind or None)

    def keeps(self, receipt: Mapping[str, Any]) -> bool:
        if self.status is not None and receipt.get("status") != self.status:
            return False
        if self.type is not None and receipt_type(receipt) != self.type:
            return False
        if self.period is not None:
            when = instant_key(receipt["event_timestamp"])
            if not instant_key(self.period.start) <= when < instant_key(self.period.end):
                return False
        return True

    def query(self) -> dict[str, str]:
        """The filter as query parameters (for the next page's link)."""
        found = {"period": str(self.period) if self.period else None, "status": self.status, "type": self.type}
        return {name: value for name, value in found.items() if value}


@dataclass(frozen=True)
class ReceiptPage:
    """One page of a customer's receipts in sequence order, and where the next one starts:
    `next_after` is the last sequence looked at (None when there is nothing after it). A
    page looks at SCAN_LIMIT receipts at most, so it may hold fewer than asked, or none."""

    receipts: list[dict[str, Any]]
    next_after: int | None


@dataclass(frozen=True)
class DayTotal:
    day: str  # YYYY-MM-DD, UTC, by event time
    currency: str
    charged: int  # minor units of accepted charges
    credited: int  # minor units of accepted credits


def daily_totals(receipts: Iterable[Mapping[str, Any]], period: Period) -> list[DayTotal]:
    """Accepted charges and credits per event day and currency within `period`, by day then
    currency (rejected receipts move no money and are left out)."""
    month = str(period)
    sums: dict[tuple[str, str], list[int]] = {}
    for receipt in receipts:
        if receipt.get("status") != ACCEPTED:
            continue
        when = receipt["event_timestamp"]  # UTC text: its first 7 characters are its month
        if when[:7] != month or not UTC_TIMESTAMP.fullmatch(when):
            continue
        currency = receipt["currency"]
        entry = sums.setdefault((when[:10], currency), [0, 0])
        entry[receipt_type(receipt) == CREDIT] += parse_amount(receipt["amount"], currency)
    return [DayTotal(day, currency, *sums[day, currency]) for day, currency in sorted(sums)]
