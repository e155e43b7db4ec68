"""The streaming job's state coders: explicit and versioned, so a job update never depends on
Python class layout, and bytes every release wrote keep decoding."""

import pickle

import pytest
from apache_beam import coders, typehints
from hypothesis import given
from hypothesis import strategies as st

from receipts.canonical import ZERO_HASH
from receipts.events import Event
from receipts.ledger import ChainState
from receipts.records import Message
from tests.conftest import make_event
from transforms.state_coders import ChainStateCoder, EventCoder, MessageCoder, UnknownStateVersion

# Written by release 2026-12 (state version 1). Never edit: add the next version's bytes beside it.
V1 = (
    b'{"balances":{"JPY":500,"USD":12550},"customer_id":"cust_1",'
    b'"head_hash":"1a2d44e8b9ca72351a2d44e8b9ca72351a2d44e8b9ca72351a2d44e8b9ca7235","sequence":7,'
    b'"usage":{"ent_api":2500},"v":1}'
)


def test_bytes_written_by_version_1_decode() -> None:
    state = ChainStateCoder().decode(V1)
    assert state == ChainState("cust_1", 7, "1a2d44e8b9ca7235" * 4, {"JPY": 500, "USD": 12550}, {"ent_api": 2500})
    assert ChainStateCoder().encode(state) == V1  # and this release still writes them byte for byte


@given(
    sequence=st.integers(min_value=0, max_value=2**62),
    balances=st.dictionaries(st.sampled_from(["USD", "EUR", "JPY", "BHD"]), st.integers(0, 10**15)),
    usage=st.dictionaries(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), st.integers(0, 10**15)),
)
def test_every_chain_state_round_trips(sequence: int, balances: dict, usage: dict) -> None:
    state = ChainState("cust_x", sequence, ZERO_HASH, balances, usage)
    coder = ChainStateCoder()
    assert coder.decode(coder.encode(state)) == state


@pytest.mark.parametrize(
    ("encoded", "why"),
    [
        (V1.replace(b'"v":1', b'"v":2'), "version 2"),
        (pickle.dumps(ChainState("cust_1")), "not a versioned JSON document"),
        (b'{"customer_id":"c"}', "version None"),
        (V1.replace(b'"USD":12550', b'"USD":125.5'), "125.5"),
        (V1.replace(b'"sequence":7', b'"sequence":true'), "True"),
    ],
)
def test_state_it_does_not_know_is_refused_not_guessed(encoded: bytes, why: str) -> None:
    with pytest.raises(UnknownStateVersion, match=why):
        ChainStateCoder().decode(encoded)


# What the streaming job buffers per customer (GroupIntoBatches) and shuffles: written by release
# 2026-12 (version 1). Never edit: add the next version's bytes beside them.
MESSAGE_V1 = b'{"message_id":"m-1","position":3,"raw":"eyJhIjogMX0K","v":1}'
EVENT_V1 = (
    b'{"amount_minor":1250,"currency":"USD","customer_id":"cust_1","entitlement_id":null,'
    b'"idempotent_key":"k-\\u00e9","instant":"2026-01-25T10:00:00.000000000Z",'
    b'"timestamp":"2026-01-25T10:00:00Z","usage_description":"api \\u2014 calls","v":1}'
)


def test_messages_and_events_written_by_version_1_decode() -> None:
    message = MessageCoder().decode(MESSAGE_V1)
    assert message == Message("m-1", b'{"a": 1}\n', 3)
    event = EventCoder().decode(EVENT_V1)
    assert (event.customer_id, event.idempotent_key, event.amount, event.usage_description) == (
        "cust_1",
        "k-é",
        "12.50",
        "api — calls",
    )
    assert event.instant == "2026-01-25T10:00:00.000000000Z"
    assert (MessageCoder().encode(message), EventCoder().encode(event)) == (MESSAGE_V1, EVENT_V1)


def test_every_parsed_event_round_trips_with_what_its_receipt_needs() -> None:
    event = make_event(
        entitlement_id="ent_1",
        usage_description="x" * 300,
        amount="0.01",
        timestamp="2026-01-25T10:00:00.123456789+02:00",
    )
    again = EventCoder().decode(EventCoder().encode(event))
    assert again == event
    assert (again.instant, again.event_sha256, again.order_key) == (event.instant, event.event_sha256, event.order_key)


def test_beam_uses_the_versioned_coders_for_charge_items() -> None:
    import transforms.charge  # noqa: F401  (what the pipeline imports; it registers the coders)

    item = typehints.Tuple[Message, Event]
    assert isinstance(coders.registry.get_coder(Message), MessageCoder)
    assert isinstance(coders.registry.get_coder(Event), EventCoder)
    components = coders.registry.get_coder(item).coders()
    assert [type(component) for component in components] == [MessageCoder, EventCoder]


# A credit (receipt contract v2), written by release 2027-01 (version 2). Never edit.
EVENT_V2 = (
    b'{"amount_minor":300,"corrects":"r_oavsmjexnitj7ue7y7b6mjg377","currency":"USD","customer_id":"cust_1",'
    b'"entitlement_id":null,"idempotent_key":"refund-1","instant":"2026-01-26T10:00:00.000000000",'
    b'"kind":"credit","timestamp":"2026-01-26T10:00:00Z","usage_description":null,"v":2}'
)


def test_credits_written_by_version_2_decode_and_charges_are_still_written_as_version_1() -> None:
    credit = EventCoder().decode(EVENT_V2)
    assert (credit.kind, credit.corrects, credit.amount) == ("credit", "r_oavsmjexnitj7ue7y7b6mjg377", "3.00")
    assert EventCoder().encode(credit) == EVENT_V2
    fresh = make_event(type="credit", corrects="r_oavsmjexnitj7ue7y7b6mjg377")
    again = EventCoder().decode(EventCoder().encode(fresh))
    assert again == fresh and again.event_sha256 == fresh.event_sha256
    assert b'"v":1' in EventCoder().encode(make_event())


@pytest.mark.parametrize(("coder", "unknown"), [(MessageCoder(), 2), (EventCoder(), 3)])
def test_an_unknown_element_version_is_refused(coder, unknown: int) -> None:
    with pytest.raises(UnknownStateVersion, match=f"version {unknown}"):
        coder.decode(b'{"v":%d}' % unknown)
    with pytest.raises(UnknownStateVersion, match="not a versioned JSON"):
        coder.decode(pickle.dumps(("m", b"raw")))
