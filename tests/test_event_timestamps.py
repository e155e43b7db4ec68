"""Event timestamps (receipts/timestamps.py through parse_event): RFC 3339 with an offset,
normalized to UTC, and the bound on how far ahead of processing time one may be."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from receipts.events import (
    INVALID_TIMESTAMP,
    TIMESTAMP_IN_FUTURE,
    Event,
    Invalid,
    parse_event,
)
from tests.conftest import event_bytes, make_event
from tests.event_messages import assert_only

# --------------------------------------------------------------------------- timestamp


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param("2026-01-25T10:30:45", id="no-offset"),
        pytest.param("2026-01-25", id="date-only"),
        pytest.param("2026-01-25 10:30:45Z", id="space-instead-of-T"),
        pytest.param("2026-01-25_10:30:45Z", id="underscore-instead-of-T"),
        pytest.param("2026-13-25T10:30:45Z", id="month-13"),
        pytest.param("2026-00-25T10:30:45Z", id="month-0"),
        pytest.param("2026-01-00T10:30:45Z", id="day-0"),
        pytest.param("2026-02-30T10:30:45Z", id="feb-30"),
        pytest.param("2026-02-29T10:30:45Z", id="feb-29-not-leap"),
        pytest.param("2026-04-31T10:30:45Z", id="april-31"),
        pytest.param("2026-01-25T24:00:00Z", id="hour-24"),
        pytest.param("2026-01-25T10:60:00Z", id="minute-60"),
        pytest.param("2026-01-25T23:59:60Z", id="second-60"),
        pytest.param("2026-01-25T10:30:45+24:00", id="offset-+24:00"),
        pytest.param("2026-01-25T10:30:45-24:00", id="offset--24:00"),
        pytest.param("2026-01-25T10:30:45+05:60", id="offset-+05:60"),
        pytest.param("2026-01-25T10:30:45+0530", id="offset-no-colon"),
        pytest.param("2026-01-25T10:30:45+05", id="offset-hours-only"),
        pytest.param("2026-01-25T10:30:45.1234567890Z", id="10-fraction-digits"),
        pytest.param("2026-01-25T10:30:45.Z", id="empty-fraction"),
        pytest.param("2026-01-25T10:30:45,5Z", id="comma-fraction"),
        pytest.param("2026-01-25T10:30Z", id="no-seconds"),
        pytest.param("2026-1-25T10:30:45Z", id="one-digit-month"),
        pytest.param("20260125T103045Z", id="basic-format"),
        pytest.param("26-01-25T10:30:45Z", id="two-digit-year"),
        pytest.param("+2026-01-25T10:30:45Z", id="signed-year"),
        pytest.param("2026-01-25T10:30:45Z\n", id="trailing-newline"),
        pytest.param(" 2026-01-25T10:30:45Z", id="leading-space"),
        pytest.param("2026-01-25T10:30:45ZZ", id="double-Z"),
        pytest.param("2026-01-25T10:30:45+01:00Z", id="offset-and-Z"),
        pytest.param("2026-01-25T10:30:45 UTC", id="UTC-word"),
        pytest.param("0000-01-01T00:00:00Z", id="year-0"),
        pytest.param("0001-01-01T00:30:00+01:00", id="underflow-before-year-1"),
        pytest.param("9999-12-31T23:30:00-01:00", id="overflow-after-year-9999"),
        pytest.param("", id="empty"),
        pytest.param(1769337045, id="number-epoch"),
        pytest.param(True, id="boolean"),
        pytest.param(["2026-01-25T10:30:45Z"], id="array"),
        pytest.param({"t": "2026-01-25T10:30:45Z"}, id="object"),
    ],
)
def test_invalid_timestamp(timestamp: Any) -> None:
    assert_only(parse_event(event_bytes(timestamp=timestamp)), "timestamp", INVALID_TIMESTAMP)


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param("２０２６-01-25T10:30:45Z", id="full-width-year"),
        pytest.param("٢٠٢٦-01-25T10:30:45Z", id="arabic-indic-year"),
        pytest.param("2026-01-25T10:30:45+０１:00", id="full-width-offset"),
        pytest.param("2026-01-25T10:30:45.５Z", id="full-width-fraction"),
    ],
)
def test_timestamp_digits_must_be_ascii(timestamp: str) -> None:
    # RFC 3339 DIGIT is ASCII 0-9 only (RFC 5234); a Unicode-aware \d is not enough.
    assert_only(parse_event(event_bytes(timestamp=timestamp)), "timestamp", INVALID_TIMESTAMP)


@pytest.mark.parametrize(
    ("sent", "normalized", "instant"),
    [
        pytest.param("2026-01-25T10:30:45Z", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="Z"),
        pytest.param("2026-01-25T10:30:45z", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="lower-z"),
        pytest.param("2026-01-25t10:30:45Z", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="lower-t"),
        pytest.param("2026-01-25t10:30:45z", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="lower-tz"),
        pytest.param("2026-01-25T16:00:45+05:30", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="+05:30"),
        pytest.param("2026-01-25T10:30:45-00:00", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="-00:00"),
        pytest.param("2026-01-25T10:30:45+00:00", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="+00:00"),
        pytest.param("2026-01-26T10:29:45+23:59", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="+23:59"),
        pytest.param("2026-01-24T10:31:45-23:59", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id="-23:59"),
        pytest.param(
            "2026-01-25T11:30:45.5+01:00", "2026-01-25T10:30:45.5Z", "2026-01-25T10:30:45.500000000", id="fraction+01"
        ),
        pytest.param(
            "2026-01-24T21:30:00-05:00",
            "2026-01-25T02:30:00Z",
            "2026-01-25T02:30:00.000000000",
            id="neg-offset-midnight",
        ),
        pytest.param(
            "2026-01-25T00:30:00+01:00",
            "2026-01-24T23:30:00Z",
            "2026-01-24T23:30:00.000000000",
            id="pos-offset-midnight",
        ),
        pytest.param(
            "2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z", "2025-12-31T23:30:00.000000000", id="year-back"
        ),
        pytest.param(
            "2025-12-31T23:30:00.25-01:00", "2026-01-01T00:30:00.25Z", "2026-01-01T00:30:00.250000000", id="year-fwd"
        ),
        pytest.param(
            "2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00Z", "2024-02-29T23:30:00.000000000", id="into-leap-day"
        ),
        pytest.param("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000000", id="leap-day"),
        pytest.param(
            "2026-01-25T10:30:45.250000+00:00", "2026-01-25T10:30:45.25Z", "2026-01-25T10:30:45.250000000", id=".250000"
        ),
        pytest.param("2026-01-25T10:30:45.000Z", "2026-01-25T10:30:45Z", "2026-01-25T10:30:45.000000000", id=".000"),
        pytest.param("0999-06-01T00:00:00Z", "0999-06-01T00:00:00Z", "0999-06-01T00:00:00.000000000", id="year-999"),
        pytest.param("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.000000000", id="year-9999"),
    ],
)
def test_timestamp_normalized_to_utc(sent: str, normalized: str, instant: str) -> None:
    """UTC with "Z", and a fraction without trailing zeros: one instant, one text."""
    event = make_event(timestamp=sent)
    assert event.timestamp == normalized
    assert event.instant == instant


@pytest.mark.parametrize("digits", range(1, 10))
def test_timestamp_fraction_of_1_to_9_digits(digits: int) -> None:
    fraction = "123456789"[:digits]
    event = make_event(timestamp=f"2026-01-25T10:30:45.{fraction}Z")
    assert event.timestamp == f"2026-01-25T10:30:45.{fraction}Z"
    assert event.instant == "2026-01-25T10:30:45." + fraction.ljust(9, "0")


NOW = datetime(2026, 1, 25, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "accepted"),
    [
        ("2026-01-25T11:00:00Z", True),  # exactly the bound: an hour ahead
        ("2026-01-25T11:00:00.000000001Z", False),
        ("2026-01-25T12:00:00+01:00", True),  # the same instant as 11:00Z
        ("2026-01-25T12:00:01+01:00", False),
        ("2031-01-25T10:00:00Z", False),  # years ahead
        ("9999-12-31T23:59:59Z", False),
        ("2026-01-25T09:59:59Z", True),
        ("0001-01-01T00:00:00Z", True),  # the past is not bounded here
    ],
)
def test_an_event_more_than_the_bound_ahead_of_processing_time_is_refused(timestamp: str, accepted: bool) -> None:
    result = parse_event(event_bytes(timestamp=timestamp), NOW)
    assert isinstance(result, Event) is accepted
    if not accepted:
        assert [error.reason for error in result.errors] == [TIMESTAMP_IN_FUTURE]
        assert "ahead of processing time (2026-01-25T10:00:00Z)" in result.detail
        assert result.customer_id == "cust_1" and result.idempotent_key == "evt-1"  # findable later


def test_the_future_bound_is_configurable_and_off_without_a_clock() -> None:
    ahead = event_bytes(timestamp="2026-01-25T10:10:00Z")
    assert isinstance(parse_event(ahead, NOW, timedelta(minutes=5)), Invalid)
    assert isinstance(parse_event(ahead, NOW, timedelta(minutes=10)), Event)
    assert isinstance(parse_event(event_bytes(timestamp="2999-01-01T00:00:00Z")), Event)  # receipts verify: no clock


def test_every_reason_is_listed_beside_the_future_timestamp() -> None:
    result = parse_event(event_bytes(timestamp="2030-01-01T00:00:00Z", amount="-1"), NOW)
    assert {error.reason for error in result.errors} == {TIMESTAMP_IN_FUTURE, "invalid_amount"}
