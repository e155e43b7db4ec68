"""Event parsing and validation (receipts/events.py) against DESIGN.md, "Event in": valid
events, the envelope, required and unknown fields, and every reason at once. Each field's own
rules: test_event_fields.py, test_event_timestamps.py; ids and hashes: test_event_identity.py."""

import json
from typing import Any

import pytest

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
    TOO_MANY_FRACTION_DIGITS,
    UNKNOWN_CURRENCY,
    UNKNOWN_FIELD,
    Event,
    FieldError,
    Invalid,
    parse_event,
)
from tests.conftest import event_bytes, make_event
from tests.event_messages import assert_only, invalid, raw_event, reasons

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
