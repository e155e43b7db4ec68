"""A batch of raw event messages, as a producer sends it over HTTP: a JSON array of
events, or JSONL (one event per line). Each event keeps its exact bytes: that is what gets
published, parsed and hashed, just as if it had been sent alone."""

import json
import re

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's four (RFC 8259), nothing else
_DECODER = json.JSONDecoder()


class UnreadableBatch(ValueError):
    """The body is not a JSON array or JSONL: no event in it can be told apart."""


def split_batch(body: bytes, jsonl: bool = False) -> list[bytes]:
    """The events' exact bytes, in order: of a JSON array (each element's bytes as they sit
    in it) or, with `jsonl`, of JSONL split on "\n" only, blank lines skipped. Whether each
    element is a valid event is left to `receipts.events.parse_event`."""
    if jsonl:
        lines = (line.removesuffix(b"\r") for line in body.split(b"\n"))
        return [line for line in lines if line.strip(b" \t")]
    if not body.lstrip(b" \t\r\n").startswith(b"["):
        raise UnreadableBatch("the body is not a JSON array")
    return _array_elements(body)


def _array_elements(body: bytes) -> list[bytes]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableBatch(f"the JSON array is not UTF-8: {error.reason} at byte {error.start}") from error
    position = _WHITESPACE.match(text).end() + 1  # past "["
    elements: list[bytes] = []
    position = _WHITESPACE.match(text, position).end()
    if text.startswith("]", position):
        position += 1
    else:
        while True:
            try:
                _, end = _DECODER.raw_decode(text, position)
            except (ValueError, RecursionError) as error:
                problem = f"element {len(elements)} of the JSON array is not valid JSON: {error}"
                raise UnreadableBatch(problem) from error
            elements.append(text[position:end].encode("utf-8"))
            position = _WHITESPACE.match(text, end).end()
            if text.startswith(",", position):
                position = _WHITESPACE.match(text, position + 1).end()
            elif text.startswith("]", position):
                position += 1
                break
            else:
                raise UnreadableBatch(f"expected ',' or ']' after element {len(elements) - 1} (character {position})")
    if _WHITESPACE.match(text, position).end() != len(text):
        raise UnreadableBatch(f"unexpected text after the JSON array (character {position})")
    return elements
