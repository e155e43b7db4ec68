"""What identifies an event (receipts/events.py): the deterministic receipt_id, event_sha256
over the normalized payload, and the chain's order key."""

import base64
import hashlib
import itertools
import json
import random
import re
from typing import Any

import pytest
import rfc8785

from receipts.events import (
    Event,
    parse_event,
)
from tests.conftest import event_bytes, make_event
from tests.event_messages import RECEIPT_ID, expected_receipt_id, raw_event

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
