"""Event parsing and validation (receipts/events.py) against DESIGN.md, "Event in"."""

import base64
import hashlib
import itertools
import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785

from receipts.events import (
    INVALID_AMOUNT,
    INVALID_CUSTOMER_ID,
    INVALID_ENCODING,
    INVALID_ENTITLEMENT_ID,
    INVALID_IDEMPOTENT_KEY,
    INVALID_TIMESTAMP,
    INVALID_USAGE_DESCRIPTION,
    MALFORMED_JSON,
    MAX_MESSAGE_BYTES,
    MESSAGE_TOO_LARGE,
    MISSING_FIELD,
    NOT_AN_OBJECT,
    REQUIRED_FIELDS,
    TIMESTAMP_IN_FUTURE,
    TOO_MANY_FRACTION_DIGITS,
    UNKNOWN_CURRENCY,
    UNKNOWN_FIELD,
    Event,
    FieldError,
    Invalid,
    parse_event,
)
from tests.conftest import event_bytes, make_event

RECEIPT_ID = re.compile(r"^r_[a-z2-7]{26}$")


def raw_event(raw: dict[str, str], **fields: Any) -> bytes:
    """event_bytes(**fields), with the members in `raw` written as literal JSON text
    (numbers exactly as typed, NaN, null, escapes), which json.dumps cannot produce."""
    placeholders = {name: f"@@raw-{name}@@" for name in raw}
    data = event_bytes(**{**fields, **placeholders})
    for name, text in raw.items():
        data = data.replace(json.dumps(placeholders[name]).encode(), text.encode())
    return data


def invalid(data: bytes) -> Invalid:
    result = parse_event(data)
    assert isinstance(result, Invalid), result
    return result


def reasons(result: Invalid) -> set[str]:
    return {error.reason for error in result.errors}


def assert_only(result: Event | Invalid, field: str | None, reason: str) -> None:
    assert isinstance(result, Invalid), result
    assert [(error.field, error.reason) for error in result.errors] == [(field, reason)]
    assert result.reason == reason
    assert result.detail


def expected_receipt_id(customer_id: str, key: str) -> str:
    digest = hashlib.sha256((customer_id + "\n" + key).encode("utf-8")).digest()
    return "r_" + base64.b32encode(digest).decode("ascii").rstrip("=").lower()[:26]


# --------------------------------------------------------------------------- valid events


def test_valid_event_with_every_optional_field() -> None:
    event = parse_event(
        event_bytes(
            idempotent_key="evt-42",
            customer_id="cust_9",
            amount="19.99",
            currency="EUR",
            timestamp="2026-01-25T11:30:45.25+01:00",
            entitlement_id="ent_pro-1",
            usage_description="1,000 API calls",
        )
    )
    assert isinstance(event, Event), event
    assert event.idempotent_key == "evt-42"
    assert event.customer_id == "cust_9"
    assert event.amount_minor == 1999
    assert event.amount == "19.99"
    assert event.currency == "EUR"
    assert event.timestamp == "2026-01-25T10:30:45.25Z"
    assert event.instant == "2026-01-25T10:30:45.250000000"
    assert event.entitlement_id == "ent_pro-1"
    assert event.usage_description == "1,000 API calls"
    assert event.normalized() == {
        "idempotent_key": "evt-42",
        "customer_id": "cust_9",
        "amount": "19.99",
        "currency": "EUR",
        "timestamp": "2026-01-25T10:30:45.25Z",
        "entitlement_id": "ent_pro-1",
        "usage_description": "1,000 API calls",
    }


def test_valid_event_without_optional_fields() -> None:
    event = parse_event(event_bytes())
    assert isinstance(event, Event), event
    assert (event.amount_minor, event.amount, event.currency) == (15000, "150.00", "USD")
    assert event.timestamp == "2026-01-25T10:30:45Z"
    assert event.entitlement_id is None
    assert event.usage_description is None
    assert event.normalized()["entitlement_id"] is None
    assert event.normalized()["usage_description"] is None


@pytest.mark.parametrize("name", ["entitlement_id", "usage_description"])
def test_null_optional_field_is_absent(name: str) -> None:
    with_null = parse_event(raw_event({name: "null"}))
    assert isinstance(with_null, Event), with_null
    assert getattr(with_null, name) is None
    assert with_null == make_event()
    assert with_null.event_sha256 == make_event().event_sha256


# --------------------------------------------------------------------------- envelope


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(event_bytes()[:-1], id="truncated"),
        pytest.param(event_bytes()[:20], id="truncated-mid-string"),
        pytest.param(event_bytes() + b"x", id="trailing-garbage"),
        pytest.param(event_bytes() + b"{}", id="trailing-second-object"),
        pytest.param(event_bytes() + event_bytes(), id="two-events-concatenated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n", id="whitespace-only"),
        pytest.param(b"\xef\xbb\xbf" + event_bytes(), id="utf8-bom"),
        pytest.param(b"{'idempotent_key': 'evt-1'}", id="single-quotes"),
        pytest.param(event_bytes()[:-1] + b",}", id="trailing-comma"),
        pytest.param(b"{/* comment */}", id="comment"),
        pytest.param(b"[" * 30000 + b"]" * 30000, id="deep-nesting"),
        pytest.param(raw_event({"amount": "Infinity"}).replace(b"Infinity", b"Infinit"), id="bad-literal"),
    ],
)
def test_malformed_json(data: bytes) -> None:
    assert_only(parse_event(data), None, MALFORMED_JSON)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(event_bytes()[:-1] + b', "amount": "1.00"}', id="amount-twice-different"),
        pytest.param(event_bytes()[:-1] + b', "amount": "150.00"}', id="amount-twice-same"),
        pytest.param(event_bytes()[:-1] + b', "customer_id": "cust_2"}', id="customer-twice"),
        pytest.param(event_bytes()[:-1] + b', "idempotent_key": 1}', id="key-twice"),
        pytest.param(event_bytes()[:-1] + b', "extra": 1, "extra": 2}', id="unknown-twice"),
        pytest.param(event_bytes()[:-1] + b', "\\u0061mount": "1.00"}', id="amount-twice-escaped-name"),
    ],
)
def test_duplicate_member_names_are_malformed(data: bytes) -> None:
    # A hostile producer sends "amount" twice: parsers disagree on which one wins.
    assert_only(parse_event(data), None, MALFORMED_JSON)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"[]", id="empty-array"),
        pytest.param(b"[" + event_bytes() + b"]", id="array-of-event"),
        pytest.param(b'"evt-1"', id="string"),
        pytest.param(json.dumps(event_bytes().decode()).encode(), id="event-as-json-string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"1.5", id="float"),
        pytest.param(b"null", id="null"),
        pytest.param(b"true", id="boolean"),
    ],
)
def test_not_an_object(data: bytes) -> None:
    assert_only(parse_event(data), None, NOT_AN_OBJECT)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff", id="0xff"),
        pytest.param(event_bytes(usage_description="caf\u00e9").replace(b"\xc3\xa9", b"\xe9"), id="latin1-e-acute"),
        pytest.param(event_bytes().replace(b"evt-1", b"evt-\xc3"), id="truncated-sequence"),
        pytest.param(b'{"a": "\xc0\xaf"}', id="overlong"),
        pytest.param(b'{"a": "\xed\xa0\x80"}', id="encoded-surrogate"),
        pytest.param(event_bytes().decode().encode("utf-16"), id="utf-16"),
    ],
)
def test_invalid_encoding(data: bytes) -> None:
    assert_only(parse_event(data), None, INVALID_ENCODING)


def pad_to(data: bytes, size: int) -> bytes:
    """The same JSON object with whitespace before the closing brace, `size` bytes long."""
    assert data.endswith(b"}")
    return data[:-1] + b" " * (size - len(data)) + b"}"


def test_message_of_exactly_64_kib_is_accepted() -> None:
    data = pad_to(event_bytes(), MAX_MESSAGE_BYTES)
    assert MAX_MESSAGE_BYTES == 64 * 1024
    assert len(data) == 64 * 1024
    assert isinstance(parse_event(data), Event)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(pad_to(event_bytes(), 64 * 1024 + 1), id="valid-event-one-byte-over"),
        pytest.param(b"x" * (1024 * 1024), id="one-mib-garbage"),
        pytest.param(b"\xff" * (64 * 1024 + 1), id="invalid-utf8-too"),
    ],
)
def test_message_too_large(data: bytes) -> None:
    assert_only(parse_event(data), None, MESSAGE_TOO_LARGE)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_as_amount(literal: str) -> None:
    assert_only(parse_event(raw_event({"amount": literal})), "amount", INVALID_AMOUNT)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("idempotent_key", INVALID_IDEMPOTENT_KEY),
        ("customer_id", INVALID_CUSTOMER_ID),
        ("currency", UNKNOWN_CURRENCY),
        ("timestamp", INVALID_TIMESTAMP),
        ("entitlement_id", INVALID_ENTITLEMENT_ID),
        ("usage_description", INVALID_USAGE_DESCRIPTION),
    ],
)
def test_nan_literal_in_other_fields(name: str, reason: str) -> None:
    assert_only(parse_event(raw_event({name: "NaN"})), name, reason)


@pytest.mark.parametrize(
    "data",
    [b"\x00", b"{", b"}", b'{"a":', b"\xef\xbb\xbf", b"[" * 70000, b'{"amount": 1e999999}', b"-", b"\\u0000"],
)
def test_parse_event_never_raises(data: bytes) -> None:
    assert isinstance(parse_event(data), Invalid)


# --------------------------------------------------------------------------- required and unknown fields


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_missing_required_field(name: str) -> None:
    assert_only(parse_event(event_bytes(**{name: None})), name, MISSING_FIELD)


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_null_required_field_is_missing(name: str) -> None:
    assert_only(parse_event(raw_event({name: "null"})), name, MISSING_FIELD)


def test_required_fields_are_the_contract_fields() -> None:
    assert set(REQUIRED_FIELDS) == {"idempotent_key", "customer_id", "amount", "currency", "timestamp"}


def test_all_required_fields_missing() -> None:
    result = invalid(b"{}")
    assert [(error.field, error.reason) for error in result.errors] == [
        (name, MISSING_FIELD) for name in REQUIRED_FIELDS
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("extra", 1),
        ("note", "hello"),
        ("Amount", "1.00"),  # names are case-sensitive
        ("receipt_id", "r_aaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("sequence", 1),
        ("", "empty name"),
        ("metadata", {"a": 1}),
        ("tags", ["a"]),
        ("flag", False),
    ],
)
def test_unknown_field(name: str, value: Any) -> None:
    assert_only(parse_event(event_bytes(**{name: value})), name, UNKNOWN_FIELD)


def test_unknown_field_with_null_value_is_still_unknown() -> None:
    assert_only(parse_event(raw_event({"extra": "null"})), "extra", UNKNOWN_FIELD)


def test_every_unknown_field_is_reported() -> None:
    result = invalid(event_bytes(zeta=1, alpha=2))
    assert [(error.field, error.reason) for error in result.errors] == [
        ("alpha", UNKNOWN_FIELD),
        ("zeta", UNKNOWN_FIELD),
    ]


# --------------------------------------------------------------------------- idempotent_key


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="256-chars"),
        pytest.param(42, id="number"),
        pytest.param(True, id="boolean"),
        pytest.param(["evt-1"], id="array"),
        pytest.param({"k": "evt-1"}, id="object"),
        pytest.param("evt\x00-1", id="nul"),
        pytest.param("evt\t1", id="tab"),
        pytest.param("evt-1\n", id="trailing-newline"),
        pytest.param("evt\r1", id="carriage-return"),
        pytest.param("evt\x1b[31m", id="escape"),
        pytest.param("evt\x7f", id="delete"),
        pytest.param("evt\x85", id="next-line-c1"),
        pytest.param("evt\u2028", id="line-separator-U+2028"),
        pytest.param("evt\u2029", id="paragraph-separator-U+2029"),
        pytest.param("evt\u200b", id="zero-width-space"),
    ],
)
def test_invalid_idempotent_key(key: Any) -> None:
    assert_only(parse_event(event_bytes(idempotent_key=key)), "idempotent_key", INVALID_IDEMPOTENT_KEY)


def test_idempotent_key_lone_surrogate_is_invalid() -> None:
    assert_only(parse_event(raw_event({"idempotent_key": '"evt\\ud800"'})), "idempotent_key", INVALID_IDEMPOTENT_KEY)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k", id="one-char"),
        pytest.param("k" * 255, id="255-chars"),
        pytest.param("🔑" * 255, id="255-non-bmp-chars"),
        pytest.param("order 2026 / line 7", id="spaces-and-slash"),
        pytest.param("clé-日本語-ключ", id="unicode-letters"),
        pytest.param("a\"b\\c'<d>", id="quotes-and-backslash"),
        pytest.param("550e8400-e29b-41d4-a716-446655440000", id="uuid"),
    ],
)
def test_valid_idempotent_key(key: str) -> None:
    event = make_event(idempotent_key=key)
    assert event.idempotent_key == key


# --------------------------------------------------------------------------- customer_id


@pytest.mark.parametrize(
    "customer",
    [
        pytest.param("", id="empty"),
        pytest.param("c" * 65, id="65-chars"),
        pytest.param("cust 1", id="space"),
        pytest.param("é", id="e-acute"),
        pytest.param("ｃust", id="full-width-letter"),
        pytest.param("cust١", id="arabic-indic-digit"),
        pytest.param(12345, id="number"),
        pytest.param(True, id="boolean"),
        pytest.param(["cust_1"], id="array"),
        pytest.param("abc\n", id="trailing-newline"),
        pytest.param("\nabc", id="leading-newline"),
        pytest.param("cust.1", id="dot"),
        pytest.param("cust/1", id="slash"),
        pytest.param("cust+1", id="plus"),
        pytest.param("../etc", id="path"),
    ],
)
def test_invalid_customer_id(customer: Any) -> None:
    assert_only(parse_event(event_bytes(customer_id=customer)), "customer_id", INVALID_CUSTOMER_ID)


@pytest.mark.parametrize("customer", ["c", "c" * 64, "A-z_0-9", "_", "-", "CUST_1"])
def test_valid_customer_id(customer: str) -> None:
    assert make_event(customer_id=customer).customer_id == customer


# --------------------------------------------------------------------------- currency


@pytest.mark.parametrize(
    "currency",
    [
        pytest.param("usd", id="lower-case"),
        pytest.param("Usd", id="mixed-case"),
        pytest.param("XAU", id="gold"),
        pytest.param("XTS", id="test-code"),
        pytest.param("XXX", id="no-currency"),
        pytest.param("XDR", id="sdr"),
        pytest.param("US", id="two-letters"),
        pytest.param("USDD", id="four-letters"),
        pytest.param("840", id="three-digits"),
        pytest.param(840, id="number"),
        pytest.param("", id="empty"),
        pytest.param(" USD", id="leading-space"),
        pytest.param("USD\n", id="trailing-newline"),
        pytest.param("ＵＳＤ", id="full-width"),
        pytest.param(True, id="boolean"),
        pytest.param(["USD"], id="array"),
        pytest.param("ABC", id="unassigned"),
    ],
)
def test_unknown_currency(currency: Any) -> None:
    assert_only(parse_event(event_bytes(currency=currency)), "currency", UNKNOWN_CURRENCY)


@pytest.mark.parametrize(
    ("currency", "amount", "minor", "formatted"),
    [
        ("USD", "7.5", 750, "7.50"),
        ("EUR", "0.01", 1, "0.01"),
        ("JPY", "1200", 1200, "1200"),
        ("BHD", "1.5", 1500, "1.500"),
        ("CLF", "0.0001", 1, "0.0001"),
    ],
)
def test_valid_currency(currency: str, amount: str, minor: int, formatted: str) -> None:
    event = make_event(currency=currency, amount=amount)
    assert (event.currency, event.amount_minor, event.amount) == (currency, minor, formatted)


# --------------------------------------------------------------------------- amount


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(["1.00"], id="array"),
        pytest.param([], id="empty-array"),
        pytest.param({"value": "1.00"}, id="object"),
        pytest.param("1e2", id="string-exponent"),
        pytest.param("1E2", id="string-upper-exponent"),
        pytest.param("-5.00", id="string-negative"),
        pytest.param("0.00", id="string-zero"),
        pytest.param("0", id="string-zero-integer"),
        pytest.param("", id="empty-string"),
        pytest.param(" 1.00", id="leading-space"),
        pytest.param("1.00 ", id="trailing-space"),
        pytest.param("$1.00", id="currency-sign"),
        pytest.param("1,000.00", id="thousands-separator"),
        pytest.param("１", id="full-width-digit"),
        pytest.param("01.00", id="leading-zero"),
        pytest.param(".50", id="bare-dot"),
        pytest.param("1234567890123456", id="16-integer-digits"),
        pytest.param("NaN", id="string-nan"),
        pytest.param("Infinity", id="string-infinity"),
    ],
)
def test_invalid_amount(amount: Any) -> None:
    assert_only(parse_event(event_bytes(amount=amount)), "amount", INVALID_AMOUNT)


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("1e2", id="exponent"),
        pytest.param("1E2", id="upper-exponent"),
        pytest.param("1.5e1", id="fraction-exponent"),
        pytest.param("1e-2", id="negative-exponent"),
        pytest.param("-5", id="negative"),
        pytest.param("-0.01", id="negative-fraction"),
        pytest.param("0", id="zero"),
        pytest.param("-0", id="negative-zero"),
        pytest.param("0.00", id="zero-with-fraction"),
        pytest.param("1234567890123456", id="16-integer-digits"),
        pytest.param("1" * 5000, id="5000-digits"),
    ],
)
def test_invalid_amount_json_number(number: str) -> None:
    assert_only(parse_event(raw_event({"amount": number})), "amount", INVALID_AMOUNT)


@pytest.mark.parametrize(
    ("raw", "currency"),
    [
        pytest.param('"1.005"', "USD", id="string-1.005-USD"),
        pytest.param('"1.001"', "USD", id="string-1.001-USD"),
        pytest.param("1.005", "USD", id="number-1.005-USD"),
        pytest.param("1.000", "USD", id="number-1.000-USD"),
        pytest.param("100.5", "JPY", id="number-100.5-JPY"),
        pytest.param("100.0", "JPY", id="number-100.0-JPY"),
        pytest.param('"5.0"', "JPY", id="string-5.0-JPY"),
        pytest.param('"1.0005"', "BHD", id="string-1.0005-BHD"),
        pytest.param('"1.00005"', "CLF", id="string-1.00005-CLF"),
    ],
)
def test_too_many_fraction_digits(raw: str, currency: str) -> None:
    result = parse_event(raw_event({"amount": raw}, currency=currency))
    assert_only(result, "amount", TOO_MANY_FRACTION_DIGITS)


@pytest.mark.parametrize(
    ("number", "currency", "minor", "amount"),
    [
        ("0.1", "USD", 10, "0.10"),
        ("7.5", "USD", 750, "7.50"),
        ("1200", "JPY", 1200, "1200"),
        ("19.99", "USD", 1999, "19.99"),
        ("1.10", "USD", 110, "1.10"),
        ("1.50", "USD", 150, "1.50"),
        ("0.29", "USD", 29, "0.29"),  # float(0.29) * 100 == 28.999999999999996
        ("4.35", "USD", 435, "4.35"),  # float(4.35) * 100 == 434.99999999999994
        ("1.005", "BHD", 1005, "1.005"),
        ("123456789012345.67", "USD", 12345678901234567, "123456789012345.67"),
        ("999999999999999", "JPY", 999999999999999, "999999999999999"),
        ("0.0001", "CLF", 1, "0.0001"),
    ],
)
def test_json_number_amount_is_read_from_its_text(number: str, currency: str, minor: int, amount: str) -> None:
    event = parse_event(raw_event({"amount": number}, currency=currency))
    assert isinstance(event, Event), event
    assert event.amount_minor == minor
    assert type(event.amount_minor) is int
    assert event.amount == amount
    assert event.normalized()["amount"] == amount


def test_bad_currency_still_reports_malformed_amount() -> None:
    result = invalid(event_bytes(currency="usd", amount="1e2"))
    assert [(error.field, error.reason) for error in result.errors] == [
        ("currency", UNKNOWN_CURRENCY),
        ("amount", INVALID_AMOUNT),
    ]


def test_bad_currency_does_not_judge_fraction_digits() -> None:
    # Without a known currency the number of fraction digits cannot be checked.
    assert_only(parse_event(event_bytes(currency="XAU", amount="1.00005")), "currency", UNKNOWN_CURRENCY)


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


# --------------------------------------------------------------------------- entitlement_id


@pytest.mark.parametrize(
    "entitlement",
    [
        pytest.param("", id="empty"),
        pytest.param("ent 1", id="space"),
        pytest.param("ent.1", id="dot"),
        pytest.param("ént", id="accent"),
        pytest.param("e" * 65, id="65-chars"),
        pytest.param("ent_1\n", id="trailing-newline"),
        pytest.param(7, id="number"),
        pytest.param(True, id="boolean"),
        pytest.param(["ent_1"], id="array"),
        pytest.param({"id": "ent_1"}, id="object"),
    ],
)
def test_invalid_entitlement_id(entitlement: Any) -> None:
    assert_only(parse_event(event_bytes(entitlement_id=entitlement)), "entitlement_id", INVALID_ENTITLEMENT_ID)


@pytest.mark.parametrize("entitlement", ["ent_1", "e", "e" * 64, "PRO-2026"])
def test_valid_entitlement_id(entitlement: str) -> None:
    assert make_event(entitlement_id=entitlement).entitlement_id == entitlement


# --------------------------------------------------------------------------- usage_description


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("x" * 1024, id="1024-ascii"),
        pytest.param("é" * 1024, id="1024-two-byte"),
        pytest.param("🔑" * 1024, id="1024-non-bmp"),
        pytest.param("", id="empty"),
        pytest.param("<b>bold</b> & <i>co</i>", id="html"),
        pytest.param("</script><script>alert(1)</script>", id="script-close"),
        pytest.param("line\u2028separator\u2029paragraph", id="U+2028-U+2029"),
        pytest.param("tab\tnew\nline", id="control-whitespace"),
        pytest.param('quote " backslash \\', id="json-escapes"),
        pytest.param("{{ 7*7 }} ${x}", id="template-syntax"),
    ],
)
def test_valid_usage_description_kept_verbatim(description: str) -> None:
    event = make_event(usage_description=description)
    assert event.usage_description == description
    assert event.normalized()["usage_description"] == description
    assert len(event.event_sha256) == 64


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("x" * 1025, id="1025-chars"),
        pytest.param("é" * 1025, id="1025-two-byte"),
        pytest.param(5, id="number"),
        pytest.param(True, id="boolean"),
        pytest.param(["calls"], id="array"),
        pytest.param({"text": "calls"}, id="object"),
    ],
)
def test_invalid_usage_description(description: Any) -> None:
    result = parse_event(event_bytes(usage_description=description))
    assert_only(result, "usage_description", INVALID_USAGE_DESCRIPTION)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\ud83dy"])
def test_usage_description_with_lone_surrogate_is_rejected(escape: str) -> None:
    # JSON escapes can spell a lone surrogate, which is not a Unicode character: RFC 8785
    # cannot serialize it, so an Event holding one has no event_sha256 and can never get a
    # receipt. It must be rejected at the door, with a reason.
    result = parse_event(raw_event({"usage_description": f'"{escape}"'}))
    assert isinstance(result, Invalid), f"accepted an Event whose event_sha256 cannot be computed: {result!r}"
    assert result.reason in {INVALID_USAGE_DESCRIPTION, MALFORMED_JSON}


# --------------------------------------------------------------------------- every reason at once


def test_every_reason_at_once() -> None:
    result = invalid(
        event_bytes(
            idempotent_key="",
            customer_id="cust 1",
            amount="1e2",
            currency="usd",
            timestamp="2026-01-25T10:30:45",
            entitlement_id="ent 1",
            usage_description=42,
            extra=True,
        )
    )
    assert reasons(result) == {
        INVALID_IDEMPOTENT_KEY,
        INVALID_CUSTOMER_ID,
        INVALID_AMOUNT,
        UNKNOWN_CURRENCY,
        INVALID_TIMESTAMP,
        INVALID_ENTITLEMENT_ID,
        INVALID_USAGE_DESCRIPTION,
        UNKNOWN_FIELD,
    }
    assert len(result.errors) == 8
    assert result.reason == result.errors[0].reason == INVALID_IDEMPOTENT_KEY
    assert {error.field for error in result.errors} == {
        "idempotent_key",
        "customer_id",
        "amount",
        "currency",
        "timestamp",
        "entitlement_id",
        "usage_description",
        "extra",
    }
    for error in result.errors:
        assert error.detail in result.detail
    assert result.customer_id is None
    assert result.idempotent_key is None


@pytest.mark.parametrize(
    ("fields", "expected", "first"),
    [
        (
            {"amount": None, "customer_id": "é", "extra": 1},
            {MISSING_FIELD, INVALID_CUSTOMER_ID, UNKNOWN_FIELD},
            MISSING_FIELD,
        ),
        (
            {"currency": "XTS", "timestamp": "2026-02-30T00:00:00Z"},
            {UNKNOWN_CURRENCY, INVALID_TIMESTAMP},
            UNKNOWN_CURRENCY,
        ),
        (
            {"amount": "1.005", "entitlement_id": "", "usage_description": "x" * 1025},
            {TOO_MANY_FRACTION_DIGITS, INVALID_ENTITLEMENT_ID, INVALID_USAGE_DESCRIPTION},
            TOO_MANY_FRACTION_DIGITS,
        ),
        (
            {"idempotent_key": None, "customer_id": None, "amount": True, "timestamp": 5},
            {MISSING_FIELD, INVALID_AMOUNT, INVALID_TIMESTAMP},
            MISSING_FIELD,
        ),
    ],
)
def test_several_reasons(fields: dict[str, Any], expected: set[str], first: str) -> None:
    result = invalid(event_bytes(**fields))
    assert reasons(result) == expected
    assert result.reason == result.errors[0].reason == first


def test_invalid_keeps_valid_customer_and_key_for_dead_letters() -> None:
    result = invalid(event_bytes(amount="0"))
    assert (result.customer_id, result.idempotent_key) == ("cust_1", "evt-1")
    bad_customer = invalid(event_bytes(customer_id="bad id"))
    assert (bad_customer.customer_id, bad_customer.idempotent_key) == (None, "evt-1")
    bad_key = invalid(event_bytes(idempotent_key=""))
    assert (bad_key.customer_id, bad_key.idempotent_key) == ("cust_1", None)


def test_field_error_as_dict() -> None:
    error = FieldError("amount", INVALID_AMOUNT, "bad")
    assert error.as_dict() == {"field": "amount", "reason": INVALID_AMOUNT, "detail": "bad"}


# --------------------------------------------------------------------------- receipt_id


@pytest.mark.parametrize(
    ("customer", "key"),
    [
        ("cust_1", "evt-1"),
        ("cust_1", "evt-2"),
        ("cust_2", "evt-1"),
        ("c" * 64, "k" * 255),
        ("cust_1", "clé-日本語-ключ-🔑"),
        ("cust_1", "order 2026 / line 7"),
        ("A-z_0-9", "k"),
    ],
)
def test_receipt_id(customer: str, key: str) -> None:
    event = make_event(customer_id=customer, idempotent_key=key)
    assert event.receipt_id == expected_receipt_id(customer, key)
    assert RECEIPT_ID.match(event.receipt_id)


def test_receipt_id_known_value() -> None:
    # Fixed vector, computed once with: sha256(b"cust_1\nevt-1") -> base32 -> lower -> [:26].
    digest = hashlib.sha256(b"cust_1\nevt-1").digest()
    assert make_event().receipt_id == "r_" + base64.b32encode(digest).decode().lower()[:26]


def test_receipt_id_ignores_payload() -> None:
    one = make_event(amount="1.00", timestamp="2026-01-25T10:30:45Z")
    other = make_event(amount="2.00", timestamp="2026-02-25T10:30:45Z", usage_description="x")
    assert one.receipt_id == other.receipt_id


def test_receipt_id_separates_customer_and_key() -> None:
    # The "\n" separator keeps ("ab", "c") and ("a", "bc") apart.
    assert (
        make_event(customer_id="ab", idempotent_key="c").receipt_id
        != make_event(customer_id="a", idempotent_key="bc").receipt_id
    )


# --------------------------------------------------------------------------- event_sha256


BASE = {
    "idempotent_key": "evt-1",
    "customer_id": "cust_1",
    "amount": "1.50",
    "currency": "USD",
    "timestamp": "2026-01-25T10:30:45Z",
    "entitlement_id": "ent_1",
    "usage_description": "API calls",
}


def base_event() -> Event:
    return make_event(**BASE)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(json.dumps(dict(reversed(BASE.items()))).encode(), id="reversed-member-order"),
        pytest.param(json.dumps(dict(sorted(BASE.items()))).encode(), id="sorted-member-order"),
        pytest.param(json.dumps(BASE, indent=2).encode(), id="pretty-printed"),
        pytest.param(json.dumps(BASE, ensure_ascii=True).replace("API", "\\u0041PI").encode(), id="escaped-chars"),
        pytest.param(raw_event({"amount": '"1.5"'}, **BASE), id="amount-string-1.5"),
        pytest.param(raw_event({"amount": "1.50"}, **BASE), id="amount-number-1.50"),
        pytest.param(raw_event({"amount": "1.5"}, **BASE), id="amount-number-1.5"),
        pytest.param(event_bytes(**{**BASE, "timestamp": "2026-01-25T11:30:45+01:00"}), id="timestamp-+01:00"),
        pytest.param(event_bytes(**{**BASE, "timestamp": "2026-01-25T05:30:45-05:00"}), id="timestamp--05:00"),
        pytest.param(event_bytes(**{**BASE, "timestamp": "2026-01-25t10:30:45z"}), id="timestamp-lower-case"),
        pytest.param(event_bytes(**{**BASE, "timestamp": "2026-01-25T10:30:45.000Z"}), id="timestamp-zero-fraction"),
        pytest.param(event_bytes(**{**BASE, "timestamp": "2026-01-25T11:30:45.0+01:00"}), id="timestamp-.0+01:00"),
    ],
)
def test_same_payload_same_event_sha256(data: bytes) -> None:
    event = parse_event(data)
    assert isinstance(event, Event), event
    assert event.normalized() == base_event().normalized()
    assert event.event_sha256 == base_event().event_sha256


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"amount": "1.51"}, id="amount"),
        pytest.param({"amount": "15.00"}, id="amount-times-ten"),
        pytest.param({"currency": "EUR"}, id="currency"),
        pytest.param({"usage_description": "API call"}, id="description"),
        pytest.param({"usage_description": None}, id="description-absent"),
        pytest.param({"usage_description": ""}, id="description-empty"),
        pytest.param({"entitlement_id": "ent_2"}, id="entitlement"),
        pytest.param({"entitlement_id": None}, id="entitlement-absent"),
        pytest.param({"timestamp": "2026-01-25T10:30:46Z"}, id="timestamp-one-second"),
        pytest.param({"timestamp": "2026-01-25T10:30:45+01:00"}, id="timestamp-same-clock-other-offset"),
        pytest.param({"idempotent_key": "evt-2"}, id="key"),
        pytest.param({"customer_id": "cust_2"}, id="customer"),
    ],
)
def test_different_payload_different_event_sha256(change: dict[str, Any]) -> None:
    assert make_event(**{**BASE, **change}).event_sha256 != base_event().event_sha256


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(BASE, id="all-fields"),
        pytest.param({}, id="defaults"),
        pytest.param({"amount": "1200", "currency": "JPY"}, id="jpy"),
        pytest.param({"usage_description": "clé </script> \u2028 🔑"}, id="non-ascii-description"),
        pytest.param({"idempotent_key": "ключ 🔑"}, id="non-ascii-key"),
        pytest.param({"timestamp": "2026-01-25T11:30:45.123456789+01:00"}, id="fraction"),
    ],
)
def test_event_sha256_is_sha256_of_rfc8785_normalized(fields: dict[str, Any]) -> None:
    event = make_event(**fields)
    expected = hashlib.sha256(rfc8785.dumps(event.normalized())).hexdigest()
    assert event.event_sha256 == expected
    assert re.fullmatch(r"[0-9a-f]{64}", event.event_sha256)


def test_event_sha256_known_document() -> None:
    # The normalized form written out by hand: recomputable from a receipt without our code.
    document = {
        "amount": "1.50",
        "currency": "USD",
        "customer_id": "cust_1",
        "entitlement_id": "ent_1",
        "idempotent_key": "evt-1",
        "timestamp": "2026-01-25T10:30:45Z",
        "usage_description": "API calls",
    }
    canonical = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    assert canonical == rfc8785.dumps(document)
    event = parse_event(event_bytes(**{**BASE, "timestamp": "2026-01-25T12:30:45+02:00", "amount": "1.5"}))
    assert isinstance(event, Event)
    assert event.event_sha256 == hashlib.sha256(canonical).hexdigest()


# --------------------------------------------------------------------------- order_key


@pytest.mark.parametrize(
    "ordered",
    [
        pytest.param(
            ["2026-01-25T10:30:45Z", "2026-01-25T10:30:45.1Z", "2026-01-25T10:30:46Z"],
            id="fraction-between-seconds",
        ),
        pytest.param(
            [
                "2026-01-25T10:30:45Z",
                "2026-01-25T10:30:45.000000001Z",
                "2026-01-25T10:30:45.01Z",
                "2026-01-25T10:30:45.1Z",
                "2026-01-25T10:30:45.9Z",
                "2026-01-25T10:30:45.999999999Z",
                "2026-01-25T10:30:46Z",
            ],
            id="fraction-lengths",
        ),
        pytest.param(
            ["2026-01-25T11:00:00+01:00", "2026-01-25T10:30:00Z", "2026-01-25T11:45:00+01:00"],
            id="offsets-compared-in-utc",
        ),
        pytest.param(
            ["2026-01-25T23:30:00+05:00", "2026-01-25T19:00:00Z", "2026-01-25T15:00:00-05:00"],
            id="mixed-offsets",
        ),
        pytest.param(
            ["2026-01-01T00:30:00+01:00", "2025-12-31T23:45:00Z", "2026-01-01T00:00:00Z"],
            id="year-boundary",
        ),
        pytest.param(
            ["2026-01-25T11:30:45.05+01:00", "2026-01-25T10:30:45.5Z", "2026-01-25T05:30:45.75-05:00"],
            id="fractions-with-offsets",
        ),
    ],
)
def test_order_key_sorts_by_instant(ordered: list[str]) -> None:
    events = [make_event(timestamp=timestamp, idempotent_key=f"evt-{index}") for index, timestamp in enumerate(ordered)]
    shuffled = events[::-1]
    random.Random(7).shuffle(shuffled)
    assert [event.timestamp for event in sorted(shuffled, key=lambda event: event.order_key)] == [
        event.timestamp for event in events
    ]
    for earlier, later in itertools.pairwise(events):
        assert earlier.order_key < later.order_key


def test_order_key_ties_broken_by_idempotent_key() -> None:
    b = make_event(idempotent_key="b", timestamp="2026-01-25T11:30:45+01:00")
    a = make_event(idempotent_key="a", timestamp="2026-01-25T10:30:45.000Z")
    assert a.order_key < b.order_key
    assert a.order_key[0] == b.order_key[0]
    assert sorted([b, a], key=lambda event: event.order_key) == [a, b]


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
