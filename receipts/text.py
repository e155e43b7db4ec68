"""Untrusted text made visible: what a terminal or a page shows of values that came from
events, files, stores or requests.

A producer's `usage_description`, an idempotency key, a receipt id claimed by a file, or
a reason that quotes input may hold characters that are not text to a reader: terminal
controls (ESC starts an escape sequence, CR returns to the line's start and overwrites
it), C1 controls (U+009B is CSI on some terminals), bidirectional overrides and isolates
that reorder what follows (U+202E shows "abc\u202edef" as "abcfed"), zero-width and
other format characters that make two different ids look alike, and line separators.
`visible` replaces each with an escape a reader sees (`\\u202e`), and leaves every other
character as it is, so ordinary text in any script reads unchanged.

The browser verifier (verifier_site/static/text.js) applies the same rule; the shared test
vectors (tests/vectors/receipts.json) hold the two to the same answers.
"""

import json
import re
from typing import Any

# Unicode general categories Cc (controls: C0, DEL, C1), Cf (format: bidi controls,
# zero-width characters, soft hyphen, tags...), Zl and Zp (line and paragraph separators),
# Cs (lone surrogates, which a JSON string escape can carry into a Python str).
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]"
)


def _escape(match: re.Match[str]) -> str:
    point = ord(match.group())
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\u{{{point:x}}}"


def visible(text: str) -> str:
    """`text` with every control, format and separator character shown as an escape
    (`\\u001b`, `\\u202e`, `\\u{e0041}`): safe to print on a terminal or a page."""
    return _INVISIBLE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\n":
        return char  # outside strings only: json.dumps escapes every control inside one
    point = ord(char)
    if point > 0xFFFF:
        point -= 0x10000
        return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"
    return f"\\u{point:04x}"


def visible_json(value: Any, indent: int | None = None) -> str:
    """JSON of `value` in which each character `visible` would escape is written as a JSON
    escape instead: exact JSON (for a data- attribute or a <pre>) that shows no invisible
    character, while other text in any script stays readable."""
    return _INVISIBLE.sub(_json_escape, json.dumps(value, ensure_ascii=False, indent=indent))
