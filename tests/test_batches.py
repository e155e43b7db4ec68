"""Batches of raw events over HTTP: each event keeps its exact bytes."""

import pytest

from receipts.batches import UnreadableBatch, split_batch


def test_a_json_array_gives_each_elements_bytes_as_they_sit_in_it() -> None:
    body = ' \n[ {"a": 1,  "b": "caf\u00e9 \\u2028"} ,{"c":[1,{"d":null}]},\t3 ]\r\n'.encode()
    assert split_batch(body) == ['{"a": 1,  "b": "caf\u00e9 \\u2028"}'.encode(), b'{"c":[1,{"d":null}]}', b"3"]
    assert split_batch(b"[ ]") == []


def test_jsonl_splits_on_newline_only_and_skips_blank_lines() -> None:
    body = '{"a":1}\r\n\n  \n{"b":"x\u2028y"}'.encode()
    assert split_batch(body, jsonl=True) == [b'{"a":1}', '{"b":"x\u2028y"}'.encode()]
    assert split_batch(b"\xff\xfe\n{", jsonl=True) == [b"\xff\xfe", b"{"]  # judged per event later


@pytest.mark.parametrize(
    "body",
    [b'{"a": 1}', b"", b'[{"a":1}', b'[{"a":1},]', b"[1 2]", b"[1] x", b"[\xff]", b"[" * 100_000],
)
def test_what_is_not_a_json_array_is_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBatch):
        split_batch(body)
