"""Event messages written by hand for the event tests, and what parse_event says of them."""

import base64
import hashlib
import json
import re
from typing import Any

from receipts.events import Event, Invalid, parse_event
from tests.conftest import event_bytes

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
