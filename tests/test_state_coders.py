"""The streaming job's state coders: explicit and versioned, so a job update never depends on
Python class layout, and bytes every release wrote keep decoding."""

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receipts.canonical import ZERO_HASH
from receipts.ledger import ChainState
from transforms.state_coders import ChainStateCoder, UnknownStateVersion

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
