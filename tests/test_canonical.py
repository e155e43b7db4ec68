"""canonical_bytes is RFC 8785: its fast path (the standard library's C encoder) must write
byte for byte what the reference `rfc8785` package writes, and fail where it fails."""

import base64
import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from receipts.canonical import SAFE_INTEGER, _plain, canonical_bytes, plain_canonical, receipt_id, same_values

# Every code point class that matters to JSON escaping: controls, quote, backslash, DEL,
# U+2028/2029, BMP above the surrogates, astral, and lone surrogates (not UTF-8 encodable).
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0, max_codepoint=0x7F),
        st.sampled_from(["\u2028", "\u2029", "\ufeff", "\ue000", "\uffff", "é", "€", "😀", "\U0010ffff"]),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.characters(),
    ),
    max_size=12,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.sampled_from([SAFE_INTEGER, -SAFE_INTEGER, SAFE_INTEGER + 1, -SAFE_INTEGER - 1, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(TEXT, children, max_size=5)),
    max_leaves=25,
)


def reference(value: object) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except ValueError as error:  # CanonicalizationError, or UnicodeEncodeError for a surrogate name
        return type(error)


def ours(value: object) -> bytes | type[Exception]:
    try:
        return canonical_bytes(value)
    except ValueError as error:  # CanonicalizationError, or UnicodeEncodeError for a surrogate name
        return type(error)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, VALUES, max_size=8))
def test_same_bytes_or_same_error_as_rfc8785(value: dict) -> None:
    assert ours(value) == reference(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=6), SCALARS, max_size=20))
def test_flat_ascii_named_objects_agree(value: dict) -> None:
    assert ours(value) == reference(value)


def typed_equal(first: object, second: object) -> bool:
    """same_values' rule written plainly: the same types and equal values all the way down."""
    if type(first) is not type(second):
        return False
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(typed_equal(v, second[k]) for k, v in first.items())
    if isinstance(first, list):
        return len(first) == len(second) and all(typed_equal(a, b) for a, b in zip(first, second, strict=True))
    return first == second


def retyped(value: object) -> object:
    """The same value with each True/False, whole float and int swapped for its equal twin."""
    if isinstance(value, dict):
        return {name: retyped(item) for name, item in value.items()}
    if isinstance(value, list):
        return [retyped(item) for item in value]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and abs(value) < 2**53:
        return float(value)
    return value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TEXT, VALUES, max_size=8), st.data())
def test_same_values_is_typed_equality_all_the_way_down(value: dict, data) -> None:
    nan = float("nan")
    twins = [value, json.loads(json.dumps(value)), retyped(value), {**value, "n": nan}, [value, nan], value | {"x": 1}]
    first, second = data.draw(st.sampled_from(twins)), data.draw(st.sampled_from(twins))
    assert same_values(first, second) == typed_equal(first, second)
    assert same_values(first, first) == typed_equal(first, first)


@pytest.mark.parametrize(
    "value",
    [
        {"s": "".join(chr(c) for c in range(0x80))},
        {"s": "\u2028\u2029/\x7f"},
        {"b": 'a\\"b', "a": "\b\f\n\r\t\x00\x1f"},
        {"z": 1, "a": {"y": [True, False, None, {"k": "v"}]}, "m": []},
    ],
)
def test_takes_the_fast_path_and_agrees(value: dict) -> None:
    assert _plain(value)
    assert canonical_bytes(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"n": 1.5},
        {"é": 1, "e": 2},  # non-ASCII names: RFC 8785 orders them by UTF-16 code units
        {"\U0001f600": 1, "\uff61": 2},  # where UTF-16 and code point order differ
        {"n": SAFE_INTEGER + 1},
        {"t": (1, 2)},
    ],
)
def test_leaves_the_rest_to_rfc8785(value: dict) -> None:
    assert not _plain(value)
    assert ours(value) == reference(value)


def test_lone_surrogate_raises_the_rfc8785_error() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_bytes({"s": "\ud800"})


def test_utf16_order_for_names_where_code_points_disagree() -> None:
    # U+FF61 sorts after U+1F600 in code points but before it in UTF-16 (D83D DE00 < FF61).
    assert canonical_bytes({"\uff61": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\uff61":1}'.encode()
    assert json.loads(canonical_bytes({"a": "\u2028"})) == {"a": "\u2028"}


@settings(max_examples=300)
@given(st.text(max_size=20).filter(lambda t: "\n" not in t), st.text(max_size=20))
def test_receipt_id_is_the_design_formula(customer_id: str, idempotent_key: str) -> None:
    """DESIGN.md: "r_" + the first 26 characters of lowercase unpadded base32 of the
    SHA-256 of customer_id + LF + idempotent_key (UTF-8)."""
    try:
        data = f"{customer_id}\n{idempotent_key}".encode()
    except UnicodeEncodeError:
        return  # not an event's text: validation refuses lone surrogates first
    full = base64.b32encode(hashlib.sha256(data).digest()).decode("ascii").lower().rstrip("=")
    assert receipt_id(customer_id, idempotent_key) == "r_" + full[:26]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, VALUES, max_size=8))
def test_plain_canonical_is_rfc8785_and_parses_back_type_for_type(value: dict) -> None:
    """What verification relies on to skip parsing a payload: equal bytes mean json.loads
    of them is the value itself, types and all (no float, tuple or unsafe integer slips by)."""
    written = plain_canonical(value)
    if written is None:
        return
    assert written == reference(value)
    assert typed_equal(json.loads(written), value)


def test_plain_canonical_refuses_what_json_would_not_give_back() -> None:
    assert plain_canonical({"n": 1.0}) is None  # json.loads("1") is an int
    assert plain_canonical({"t": ("a",)}) is None  # a tuple reads back as a list
    assert plain_canonical({"n": SAFE_INTEGER + 1}) is None
    assert plain_canonical({"s": "\ud800"}) is None
    assert plain_canonical({"b": True, "a": None}) == b'{"a":null,"b":true}'
