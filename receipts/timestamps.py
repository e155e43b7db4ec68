"""RFC 3339 event timestamps: each normalized to one UTC text (the same instant is the same
text) and to an instant that sorts as text; how far ahead of processing time one is."""

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

TIMESTAMP_PATTERN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:[Zz]|([+-])(\d{2}):(\d{2}))",
    re.ASCII,  # RFC 3339 DIGIT is ASCII 0-9 (RFC 5234); a Unicode \d would take "２０２６"
)
PROBLEM = "timestamp must be RFC 3339 with a UTC offset, e.g. 2026-01-25T10:30:45Z or 2026-01-25T11:30:45+01:00"


def utc_timestamp(value: str) -> tuple[str, str]:
    """(normalized UTC text, sortable instant) of an RFC 3339 timestamp; ValueError saying why not."""
    match = TIMESTAMP_PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(PROBLEM)
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    if sign is None:  # already UTC (every receipt's): the fields are the text, once the date is valid
        try:
            datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        except (ValueError, OverflowError) as error:
            raise ValueError(f"{PROBLEM} ({error})") from error
        whole = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
        fraction = (fraction or "").rstrip("0")
        return whole + (f".{fraction}" if fraction else "") + "Z", f"{whole}.{fraction.ljust(9, '0')}"
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        if offset >= timedelta(hours=24) or int(off_m or 0) > 59:
            raise ValueError("offset out of range")
        utc = local - offset if sign == "+" else local + offset
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{PROBLEM} ({error})") from error
    whole = (
        utc.strftime("%Y-%m-%dT%H:%M:%S") if utc.year >= 1000 else f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S")
    )
    fraction = (fraction or "").rstrip("0")  # the same instant is the same text: .500 -> .5, .000 -> none
    text = whole + (f".{fraction}" if fraction else "") + "Z"
    return text, f"{whole}.{fraction.ljust(9, '0')}"


@lru_cache(maxsize=64)  # the pipeline and the site check a bundle's or a request's events against one bound
def instant(moment: datetime) -> str:
    """An aware datetime as Event.instant spells it: comparable as text."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}000"


def span(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds} second(s)"
