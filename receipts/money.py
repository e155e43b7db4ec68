"""Money as integer minor units; text in and out, never a float.

Amounts travel as decimal strings with exactly the currency's minor digits ("150.00",
"5" for JPY). Arithmetic happens on Python ints, which never round.
"""

import re
from decimal import Decimal

from receipts.currencies import MINOR_UNITS, minor_units

# Plain decimal notation only: no sign, exponent, leading zeros or bare dot.
AMOUNT_TEXT = re.compile(r"(?:0|[1-9][0-9]{0,14})(?:\.([0-9]+))?")
BALANCE_TEXT = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")  # as format_amount writes a balance


class AmountError(ValueError):
    """An amount that is not a positive decimal the currency can express."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def check_amount_text(text: str) -> str:
    """Check the currency-independent rules; return the fraction digits."""
    match = AMOUNT_TEXT.fullmatch(text)
    if match is None:
        raise AmountError(
            "invalid_amount",
            f"amount {text[:40]!r} is not a plain positive decimal "
            "(digits, optional fraction; no sign, exponent or leading zeros; at most 15 integer digits)",
        )
    fraction = match.group(1) or ""
    if not text.strip("0."):
        raise AmountError("invalid_amount", f"amount {text!r} must be greater than zero")
    return fraction


def parse_amount(text: str, currency: str) -> int:
    """Parse decimal text into minor units of `currency`; raise AmountError otherwise."""
    fraction = check_amount_text(text)
    digits = minor_units(currency)
    if len(fraction) > digits:
        raise AmountError(
            "too_many_fraction_digits",
            f"amount {text!r} has {len(fraction)} fraction digits; {currency} allows {digits}",
        )
    whole = text.split(".", 1)[0]
    return int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")


def format_amount(minor: int, currency: str) -> str:
    """Minor units as text with exactly the currency's digits: 750 USD -> '7.50'."""
    digits = minor_units(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**digits)
    if digits == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{digits}d}"


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal, for callers that want one."""
    return Decimal(format_amount(minor, currency))


def minor_from_decimal(value: Decimal, currency: str) -> int:
    """An exact Decimal (e.g. a Spanner NUMERIC) as minor units; ValueError if it has
    more fraction digits than the currency allows."""
    scaled = value.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more fraction digits than {currency} allows")
    return int(scaled)


def parse_balance(text: object, currency: object) -> int | None:
    """A non-negative amount written exactly as `format_amount` writes it, else None."""
    if not isinstance(text, str) or not isinstance(currency, str) or currency not in MINOR_UNITS:
        return None
    if not BALANCE_TEXT.fullmatch(text):
        return None
    digits = MINOR_UNITS[currency]
    whole, _, fraction = text.partition(".")
    if len(fraction) != digits:
        return None
    return int(whole) * 10**digits + int(fraction or "0")
