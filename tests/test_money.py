"""Money as integer minor units: parse_amount, format_amount, parse_balance (receipts/money.py)."""

from decimal import Decimal

import pytest

from receipts.events import INVALID_AMOUNT, TOO_MANY_FRACTION_DIGITS
from receipts.money import AmountError, check_amount_text, format_amount, parse_amount, parse_balance, to_decimal

# (text in, currency, minor units, canonical text out)
ROUND_TRIPS = [
    # USD: 2 minor digits
    ("7.5", "USD", 750, "7.50"),
    ("7.50", "USD", 750, "7.50"),
    ("150", "USD", 15000, "150.00"),
    ("150.00", "USD", 15000, "150.00"),
    ("0.01", "USD", 1, "0.01"),
    ("0.1", "USD", 10, "0.10"),
    ("19.99", "USD", 1999, "19.99"),
    ("1.10", "USD", 110, "1.10"),
    ("10", "USD", 1000, "10.00"),
    # JPY: 0 minor digits
    ("1200", "JPY", 1200, "1200"),
    ("5", "JPY", 5, "5"),
    ("1", "JPY", 1, "1"),
    # BHD: 3 minor digits
    ("1.5", "BHD", 1500, "1.500"),
    ("0.001", "BHD", 1, "0.001"),
    ("12.345", "BHD", 12345, "12.345"),
    ("7", "BHD", 7000, "7.000"),
    # CLF: 4 minor digits
    ("0.0001", "CLF", 1, "0.0001"),
    ("1.2345", "CLF", 12345, "1.2345"),
    ("3.1", "CLF", 31000, "3.1000"),
    ("42", "CLF", 420000, "42.0000"),
    # 15 integer digits are the maximum
    ("999999999999999", "USD", 99999999999999900, "999999999999999.00"),
    ("123456789012345.67", "USD", 12345678901234567, "123456789012345.67"),
    ("999999999999999", "JPY", 999999999999999, "999999999999999"),
    ("100000000000000.0001", "CLF", 1000000000000000001, "100000000000000.0001"),
]


@pytest.mark.parametrize(("text", "currency", "minor", "formatted"), ROUND_TRIPS)
def test_parse_amount(text: str, currency: str, minor: int, formatted: str) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(("text", "currency", "minor", "formatted"), ROUND_TRIPS)
def test_format_amount(text: str, currency: str, minor: int, formatted: str) -> None:
    assert format_amount(minor, currency) == formatted


@pytest.mark.parametrize(("text", "currency", "minor", "formatted"), ROUND_TRIPS)
def test_format_then_parse_is_identity(text: str, currency: str, minor: int, formatted: str) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor


@pytest.mark.parametrize(("text", "currency", "minor", "formatted"), ROUND_TRIPS)
def test_to_decimal_is_exact(text: str, currency: str, minor: int, formatted: str) -> None:
    assert to_decimal(minor, currency) == Decimal(text)
    assert str(to_decimal(minor, currency)) == formatted


def test_parse_amount_returns_int_never_float() -> None:
    minor = parse_amount("0.1", "USD")
    assert type(minor) is int
    assert minor == 10  # exactly ten cents, where float(0.1) * 100 is 10.000000000000002


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("-1", "USD", INVALID_AMOUNT),
        ("-0.01", "USD", INVALID_AMOUNT),
        ("0", "USD", INVALID_AMOUNT),
        ("0.00", "USD", INVALID_AMOUNT),
        ("0.0", "USD", INVALID_AMOUNT),
        ("0", "JPY", INVALID_AMOUNT),
        ("0.000", "BHD", INVALID_AMOUNT),
        ("1e2", "USD", INVALID_AMOUNT),
        ("1E2", "USD", INVALID_AMOUNT),
        ("1.5e1", "USD", INVALID_AMOUNT),
        ("01", "USD", INVALID_AMOUNT),
        ("00", "USD", INVALID_AMOUNT),
        ("00.5", "USD", INVALID_AMOUNT),
        (".5", "USD", INVALID_AMOUNT),
        ("5.", "USD", INVALID_AMOUNT),
        ("+1", "USD", INVALID_AMOUNT),
        (" 1", "USD", INVALID_AMOUNT),
        ("1 ", "USD", INVALID_AMOUNT),
        ("1\n", "USD", INVALID_AMOUNT),
        ("", "USD", INVALID_AMOUNT),
        (".", "USD", INVALID_AMOUNT),
        ("NaN", "USD", INVALID_AMOUNT),
        ("nan", "USD", INVALID_AMOUNT),
        ("Infinity", "USD", INVALID_AMOUNT),
        ("-Infinity", "USD", INVALID_AMOUNT),
        ("inf", "USD", INVALID_AMOUNT),
        ("1,000", "USD", INVALID_AMOUNT),
        ("1_000", "USD", INVALID_AMOUNT),
        ("0x10", "USD", INVALID_AMOUNT),
        ("１", "USD", INVALID_AMOUNT),  # full-width digit one
        ("١", "USD", INVALID_AMOUNT),  # Arabic-Indic digit one
        ("1.５", "USD", INVALID_AMOUNT),  # full-width digit in the fraction
        ("1.2.3", "USD", INVALID_AMOUNT),
        ("1234567890123456", "USD", INVALID_AMOUNT),  # 16 integer digits
        ("1234567890123456", "JPY", INVALID_AMOUNT),
        ("1234567890123456.00", "USD", INVALID_AMOUNT),
        ("1.001", "USD", TOO_MANY_FRACTION_DIGITS),
        ("1.005", "USD", TOO_MANY_FRACTION_DIGITS),
        ("0.001", "USD", TOO_MANY_FRACTION_DIGITS),
        ("1.000", "USD", TOO_MANY_FRACTION_DIGITS),  # trailing zeros still count
        ("5.0", "JPY", TOO_MANY_FRACTION_DIGITS),
        ("5.5", "JPY", TOO_MANY_FRACTION_DIGITS),
        ("1.0001", "BHD", TOO_MANY_FRACTION_DIGITS),
        ("1.00001", "CLF", TOO_MANY_FRACTION_DIGITS),
    ],
)
def test_parse_amount_rejects(text: str, currency: str, reason: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text, currency)
    assert caught.value.reason == reason
    assert caught.value.detail
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("text", "fraction"),
    [("1", ""), ("1.5", "5"), ("0.001", "001"), ("123.4567", "4567"), ("999999999999999.1", "1")],
)
def test_check_amount_text_returns_fraction_digits(text: str, fraction: str) -> None:
    assert check_amount_text(text) == fraction


@pytest.mark.parametrize("text", ["0", "0.00", "-1", "1e2", "01", "1234567890123456", "１"])
def test_check_amount_text_rejects(text: str) -> None:
    with pytest.raises(AmountError) as caught:
        check_amount_text(text)
    assert caught.value.reason == INVALID_AMOUNT


@pytest.mark.parametrize(
    ("minor", "currency", "formatted"),
    [
        (-750, "USD", "-7.50"),
        (-5, "USD", "-0.05"),
        (-1, "USD", "-0.01"),
        (-100, "USD", "-1.00"),
        (-1200, "JPY", "-1200"),
        (-1, "JPY", "-1"),
        (-1, "BHD", "-0.001"),
        (-1500, "BHD", "-1.500"),
        (-1, "CLF", "-0.0001"),
        (-12345, "CLF", "-1.2345"),
        (0, "USD", "0.00"),
        (0, "JPY", "0"),
        (0, "BHD", "0.000"),
        (0, "CLF", "0.0000"),
    ],
)
def test_format_amount_negative_and_zero(minor: int, currency: str, formatted: str) -> None:
    assert format_amount(minor, currency) == formatted


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("0.00", "USD", 0),
        ("150.00", "USD", 15000),
        ("0.01", "USD", 1),
        ("0", "JPY", 0),
        ("1200", "JPY", 1200),
        ("0.000", "BHD", 0),
        ("1.500", "BHD", 1500),
        ("0.0000", "CLF", 0),
        ("1234567890123456789.00", "USD", 123456789012345678900),  # balances may exceed one amount
    ],
)
def test_parse_balance_accepts_canonical_text(text: str, currency: str, expected: int) -> None:
    assert parse_balance(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("0", "USD"),
        ("0.0", "USD"),
        ("0.000", "USD"),
        ("1.5", "USD"),
        ("150", "USD"),
        ("00.00", "USD"),
        ("01.00", "USD"),
        ("-1.00", "USD"),
        ("+1.00", "USD"),
        (" 1.00", "USD"),
        ("1.00 ", "USD"),
        ("1e2", "USD"),
        ("１.00", "USD"),
        ("0.0", "JPY"),
        ("5.0", "JPY"),
        ("0.00", "BHD"),
        ("0.00", "XAU"),
        ("0.00", "usd"),
        ("", "USD"),
        (0, "USD"),
        (1.5, "USD"),
        (None, "USD"),
        ("0.00", None),
        ("0.00", 840),
    ],
)
def test_parse_balance_rejects(text: object, currency: object) -> None:
    assert parse_balance(text, currency) is None


@pytest.mark.parametrize("minor", [0, 1, 99, 100, 750, 123456789])
@pytest.mark.parametrize("currency", ["USD", "JPY", "BHD", "CLF"])
def test_parse_balance_reads_what_format_amount_writes(minor: int, currency: str) -> None:
    assert parse_balance(format_amount(minor, currency), currency) == minor


@pytest.mark.parametrize("currency", ["XAU", "XTS", "XXX", "usd", "US", ""])
def test_parse_amount_unknown_currency_is_a_key_error(currency: str) -> None:
    with pytest.raises(KeyError):
        parse_amount("1", currency)
