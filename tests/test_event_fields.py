"""Each event field's rules (receipts/events.py, DESIGN.md "Event in"): idempotent_key,
customer_id, currency, amount, entitlement_id, usage_description."""

from typing import Any

import pytest

from receipts.events import (
    INVALID_AMOUNT,
    INVALID_CUSTOMER_ID,
    INVALID_ENTITLEMENT_ID,
    INVALID_IDEMPOTENT_KEY,
    INVALID_USAGE_DESCRIPTION,
    MALFORMED_JSON,
    TOO_MANY_FRACTION_DIGITS,
    UNKNOWN_CURRENCY,
    Event,
    Invalid,
    parse_event,
)
from tests.conftest import event_bytes, make_event
from tests.event_messages import assert_only, invalid, raw_event

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
