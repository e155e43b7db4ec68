"""Usage events: parsing and validation of raw producer messages (DESIGN.md, "Event in").

`parse_event` never raises on bad input: it returns an `Invalid` value listing every
rule the message breaks, so a pipeline can keep it as a dead letter and an API can
answer with all reasons at once.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from receipts.canonical import RECEIPT_ID_PATTERN, canonical_bytes, receipt_id, sha256_hex, strict_loads
from receipts.currencies import MINOR_UNITS
from receipts.money import AmountError, check_amount_text, format_amount, parse_amount
from receipts.timestamps import instant, span, utc_timestamp

MAX_MESSAGE_BYTES = 64 * 1024
MAX_KEY_CHARS = 255
MAX_DESCRIPTION_CHARS = 1024
MAX_AHEAD = timedelta(hours=1)  # how far ahead of processing time an event may be timestamped
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
REQUIRED_FIELDS = ("idempotent_key", "customer_id", "amount", "currency", "timestamp")
OPTIONAL_FIELDS = ("entitlement_id", "usage_description", "type", "corrects")
CHARGE, CREDIT = "charge", "credit"  # an event's type (contract v2); without one it is a charge

# Dead-letter reasons, one per rule.
INVALID_ENCODING = "invalid_encoding"
MESSAGE_TOO_LARGE = "message_too_large"
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
UNKNOWN_FIELD = "unknown_field"
INVALID_IDEMPOTENT_KEY = "invalid_idempotent_key"
INVALID_CUSTOMER_ID = "invalid_customer_id"
INVALID_AMOUNT = "invalid_amount"
TOO_MANY_FRACTION_DIGITS = "too_many_fraction_digits"
UNKNOWN_CURRENCY = "unknown_currency"
INVALID_TIMESTAMP = "invalid_timestamp"
TIMESTAMP_IN_FUTURE = "timestamp_in_future"
INVALID_ENTITLEMENT_ID = "invalid_entitlement_id"
INVALID_USAGE_DESCRIPTION = "invalid_usage_description"
INVALID_TYPE = "invalid_type"
INVALID_CORRECTS = "invalid_corrects"
IDEMPOTENCY_CONFLICT = "idempotency_conflict"


@dataclass(frozen=True)
class FieldError:
    field: str | None
    reason: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Invalid:
    """A message that is not a valid event, with every reason why."""

    errors: tuple[FieldError, ...]
    customer_id: str | None = None  # when the message named a valid one: helps find it later
    idempotent_key: str | None = None

    @property
    def reason(self) -> str:
        return self.errors[0].reason

    @property
    def detail(self) -> str:
        return "; ".join(error.detail for error in self.errors)


@dataclass(frozen=True)
class Event:
    """A validated event, normalized: amount in minor units, timestamp in UTC."""

    idempotent_key: str
    customer_id: str
    amount_minor: int
    currency: str
    timestamp: str  # RFC 3339, UTC, "Z", fraction without trailing zeros
    entitlement_id: str | None = None
    usage_description: str | None = None
    instant: str = field(default="", compare=False)  # sortable: fraction padded to 9 digits
    kind: str = CHARGE  # the event's "type": CHARGE or CREDIT
    corrects: str | None = None  # a credit: the receipt id of the accepted charge it corrects

    @property
    def amount(self) -> str:
        return format_amount(self.amount_minor, self.currency)

    @property
    def receipt_id(self) -> str:
        return receipt_id(self.customer_id, self.idempotent_key)

    @property
    def order_key(self) -> tuple[str, str]:
        """Batch chaining order within a customer: (timestamp, idempotent_key)."""
        return (self.instant, self.idempotent_key)

    def normalized(self) -> dict[str, Any]:
        """The fields that identify the event; equal dicts mean the same payload. A charge's
        are the seven of contract v1 (so its event_sha256 is the one a v1 receipt holds, and a
        producer's retry across the upgrade is a duplicate, not a conflict); a credit adds
        `type` and `corrects`."""
        fields = {
            "idempotent_key": self.idempotent_key,
            "customer_id": self.customer_id,
            "amount": self.amount,
            "currency": self.currency,
            "timestamp": self.timestamp,
            "entitlement_id": self.entitlement_id,
            "usage_description": self.usage_description,
        }
        if self.kind == CREDIT:
            fields.update(type=CREDIT, corrects=self.corrects)
        return fields

    @cached_property  # dedup and the chain both ask; computed once per event
    def event_sha256(self) -> str:
        """SHA-256 of the RFC 8785 form of `normalized()`: recomputable from a receipt."""
        return sha256_hex(canonical_bytes(self.normalized()))


class JsonNumber:
    """A JSON number kept as its source text, so 0.1 stays exactly 0.1."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"JsonNumber({self.text!r})"


def parse_event(raw: bytes, now: datetime | None = None, max_ahead: timedelta = MAX_AHEAD) -> Event | Invalid:
    """Decode, parse and validate one raw message. With `now` (processing time, UTC), an
    event timestamped more than `max_ahead` after it is refused: a clock years ahead, or a
    typo, would otherwise be charged under a period that has not begun."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return _invalid(None, MESSAGE_TOO_LARGE, f"message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return _invalid(None, INVALID_ENCODING, f"message is not UTF-8: {error.reason} at byte {error.start}")
    try:
        document = strict_loads(text, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=JsonNumber)
    except (ValueError, RecursionError) as error:
        return _invalid(None, MALFORMED_JSON, f"message is not valid JSON: {error}")
    if not isinstance(document, dict):
        return _invalid(None, NOT_AN_OBJECT, f"message must be a JSON object, not {_json_type(document)}")
    return validate_event(document, now, max_ahead)


def validate_event(
    document: dict[str, Any], now: datetime | None = None, max_ahead: timedelta = MAX_AHEAD
) -> Event | Invalid:
    """Validate a parsed JSON object (numbers as `JsonNumber` or str) against the contract;
    with `now`, also against processing time (see parse_event)."""
    errors: list[FieldError] = []
    for name in REQUIRED_FIELDS:
        if name not in document or document[name] is None:
            errors.append(FieldError(name, MISSING_FIELD, f"{name} is required"))

    key = document.get("idempotent_key")
    if key is not None and not _is_idempotent_key(key):
        errors.append(
            FieldError(
                "idempotent_key",
                INVALID_IDEMPOTENT_KEY,
                f"idempotent_key must be a string of 1 to {MAX_KEY_CHARS} printable characters",
            )
        )
    customer = document.get("customer_id")
    if customer is not None and not (isinstance(customer, str) and ID_PATTERN.fullmatch(customer)):
        errors.append(FieldError("customer_id", INVALID_CUSTOMER_ID, "customer_id must match [A-Za-z0-9_-]{1,64}"))
    currency = document.get("currency")
    if currency is not None and not (isinstance(currency, str) and currency in MINOR_UNITS):
        shown = currency[:8] if isinstance(currency, str) else _json_type(currency)
        errors.append(
            FieldError(
                "currency",
                UNKNOWN_CURRENCY,
                f"currency {shown!r} is not an ISO 4217 code with minor units (upper case, e.g. USD)",
            )
        )
        currency = None
    amount_minor = _check_amount(document.get("amount"), currency, errors)
    timestamp = _check_timestamp(document.get("timestamp"), errors)
    if timestamp is not None and now is not None and timestamp[1] > instant(now + max_ahead):
        errors.append(
            FieldError(
                "timestamp",
                TIMESTAMP_IN_FUTURE,
                f"timestamp {timestamp[0]} is more than {span(max_ahead)} ahead of processing time "
                f"({now.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}): check the producer's clock",
            )
        )

    entitlement = document.get("entitlement_id")
    if entitlement is not None and not (isinstance(entitlement, str) and ID_PATTERN.fullmatch(entitlement)):
        errors.append(
            FieldError("entitlement_id", INVALID_ENTITLEMENT_ID, "entitlement_id must match [A-Za-z0-9_-]{1,64}")
        )
    description = document.get("usage_description")
    if description is not None and not (
        isinstance(description, str) and len(description) <= MAX_DESCRIPTION_CHARS and _is_unicode(description)
    ):
        errors.append(
            FieldError(
                "usage_description",
                INVALID_USAGE_DESCRIPTION,
                f"usage_description must be a string of at most {MAX_DESCRIPTION_CHARS} Unicode characters "
                "(no lone surrogate escapes)",
            )
        )

    kind, corrects = _check_correction(document, errors)

    for name in sorted(set(document) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)):
        errors.append(FieldError(name, UNKNOWN_FIELD, f"unknown field {name[:64]!r}"))
    if errors:
        return Invalid(
            tuple(errors),
            customer if not any(error.field == "customer_id" for error in errors) else None,
            key if not any(error.field == "idempotent_key" for error in errors) else None,
        )
    assert amount_minor is not None and timestamp is not None
    return Event(
        idempotent_key=key,
        customer_id=customer,
        amount_minor=amount_minor,
        currency=currency,
        timestamp=timestamp[0],
        entitlement_id=entitlement,
        usage_description=description,
        instant=timestamp[1],
        kind=kind,
        corrects=corrects,
    )


def _check_correction(document: dict[str, Any], errors: list[FieldError]) -> tuple[str, str | None]:
    """`type` and `corrects` (contract v2): corrects is required for a credit and refused on a
    charge; a credit names no entitlement_id (it gives back the quota of the charge it corrects)."""
    kind, corrects = document.get("type"), document.get("corrects")
    if kind is None:
        kind = CHARGE
    elif kind not in (CHARGE, CREDIT):
        errors.append(FieldError("type", INVALID_TYPE, f'type must be "{CHARGE}" or "{CREDIT}"'))
        return CHARGE, None
    if kind == CREDIT and corrects is None:
        errors.append(FieldError("corrects", MISSING_FIELD, "corrects is required for a credit"))
    elif kind == CHARGE and corrects is not None:
        errors.append(
            FieldError("corrects", INVALID_CORRECTS, "corrects is for credits only: a charge corrects nothing")
        )
    elif corrects is not None and not (isinstance(corrects, str) and RECEIPT_ID_PATTERN.fullmatch(corrects)):
        errors.append(
            FieldError("corrects", INVALID_CORRECTS, "corrects must be a receipt id: r_ and 26 base32 characters")
        )
    if kind == CREDIT and document.get("entitlement_id") is not None:
        errors.append(
            FieldError(
                "entitlement_id",
                INVALID_ENTITLEMENT_ID,
                "a credit names no entitlement_id: it gives back the quota of the charge it corrects",
            )
        )
    return kind, corrects


def _is_idempotent_key(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= MAX_KEY_CHARS and value.isprintable()


def _is_unicode(text: str) -> bool:
    """False for strings holding lone surrogates (JSON escapes can spell them): RFC 8785
    cannot serialize them, so they could never be hashed into a receipt."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_amount(value: Any, currency: str | None, errors: list[FieldError]) -> int | None:
    if value is None:
        return None
    if isinstance(value, JsonNumber):
        text = value.text
    elif isinstance(value, str):
        text = value
    else:
        errors.append(
            FieldError("amount", INVALID_AMOUNT, f"amount must be a decimal string or number, not {_json_type(value)}")
        )
        return None
    try:
        # Without a valid currency the text is still checked, as if it allowed any fraction.
        if currency is None:  # still report a malformed amount beside the bad currency
            check_amount_text(text)
            return None
        return parse_amount(text, currency)
    except AmountError as error:
        errors.append(FieldError("amount", error.reason, error.detail))
        return None


def _check_timestamp(value: Any, errors: list[FieldError]) -> tuple[str, str] | None:
    """Return (normalized UTC text, sortable instant) or record why not."""
    if value is None:
        return None
    try:
        return utc_timestamp(value if isinstance(value, str) else "")
    except ValueError as error:
        errors.append(FieldError("timestamp", INVALID_TIMESTAMP, str(error)))
        return None


def _invalid(field_name: str | None, reason: str, detail: str) -> Invalid:
    return Invalid((FieldError(field_name, reason, detail),))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, JsonNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"
