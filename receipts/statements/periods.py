"""Billing periods: calendar months in UTC, named "YYYY-MM", and what a statement's
identity and its timestamps compare by.

A period runs from its first instant (`start`, included) to the next month's first instant
(`end`, excluded). Timestamps here are the receipts' UTC texts ("2026-11-30T23:59:59.5Z"):
`instant_key` makes them comparable, whatever their fraction digits.
"""

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PERIOD_PATTERN = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)
UTC_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)
DURATION_PATTERN = re.compile(r"(\d{1,6})([smhd])", re.ASCII)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        """A period from "YYYY-MM" (2000-01 to 9998-12); ValueError saying why not."""
        match = PERIOD_PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"a period is a month as YYYY-MM, e.g. 2026-11; not {str(text)[:20]!r}")
        year, month = int(match.group(1)), int(match.group(2))
        if not 2000 <= year <= 9998:
            raise ValueError(f"period {text} is out of range (2000-01 to 9998-12)")
        return cls(year, month)

    @classmethod
    def of(cls, moment: datetime) -> "Period":
        utc = moment.astimezone(UTC)
        return cls(utc.year, utc.month)

    @classmethod
    def of_timestamp(cls, text: str) -> "Period":
        """The period a receipt's UTC timestamp falls in."""
        seconds, _ = instant_key(text)
        return cls(int(seconds[:4]), int(seconds[5:7]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> "Period":
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Period":
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def start_time(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end_time(self) -> datetime:
        return self.next().start_time

    @property
    def start(self) -> str:
        return utc_text(self.start_time)

    @property
    def end(self) -> str:
        return utc_text(self.end_time)


def utc_text(moment: datetime) -> str:
    """A whole-second UTC timestamp as receipts spell it: 2026-12-01T00:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instant_key(text: str) -> tuple[str, int]:
    """A receipt's UTC timestamp as a value that sorts by instant (seconds, nanoseconds);
    ValueError for anything else."""
    match = UTC_TEXT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 UTC timestamp: {str(text)[:40]!r}")
    return match.group(1), int((match.group(2) or "").ljust(9, "0"))


def parse_duration(text: str) -> timedelta:
    """ "90s", "30m", "1h", "2d" as a timedelta; ValueError otherwise."""
    match = DURATION_PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"a duration is a number and a unit (s, m, h or d), e.g. 1h; not {str(text)[:20]!r}")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def statement_id(customer_id: str, period: Period | str) -> str:
    """Deterministic, like a receipt id: "s_" + base32(SHA-256(customer_id "\\n" period))[:26]."""
    digest = hashlib.sha256(f"{customer_id}\n{period}".encode()).digest()
    return "s_" + base64.b32encode(digest[:20]).decode("ascii").lower()[:26]


class StatementOrderError(ValueError):
    """A period that may not close now: periods close in order, each once (a store's
    begin_close raises it when close_order_problem names a problem)."""


def close_order_problem(period: Period, closed: list[Period]) -> str | None:
    """Why `period` may not close now, given the periods closed already, or None. Periods
    close in order, each once, so a late receipt always has a next statement to land on."""
    if period in closed or not closed:
        return None
    latest = max(closed)
    if latest > period:
        return f"{latest} is closed already: periods close in order, and a statement is never amended"
    if latest != period.previous():
        return f"close {period.previous()} first: the last period closed is {latest}"
    return None


def close_time_problem(period: Period, now: datetime, grace: timedelta) -> str | None:
    """Why `period` may not close at `now` (its end plus the grace is still ahead), or None."""
    opens = period.end_time + grace
    if now < opens:
        return f"{period} can close from {utc_text(opens)} (its end plus a grace of {grace}); it is {utc_text(now)}"
    return None
