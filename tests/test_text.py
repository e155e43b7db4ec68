"""receipts.text.visible: controls, format characters and separators shown as escapes."""

import json
import sys
import unicodedata

import pytest

from receipts.text import visible

HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def test_every_control_format_and_separator_character_is_escaped():
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        if unicodedata.category(char) in HIDDEN_CATEGORIES:
            shown = visible(char)
            assert shown != char and shown.startswith("\\u"), hex(point)


def test_ordinary_text_in_any_script_is_unchanged():
    texts = ("cust_acme", "API calls: 1,000 × 0.01 €", "שלום עולם", "مرحبا", "日本語", "emoji 🧾", "a\\u202e")
    for text in texts:
        assert visible(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2K\rOK", "\\u001b[2K\\u000dOK"),
        ("abc\u202edef", "abc\\u202edef"),
        ("line\u2028break", "line\\u2028break"),
        ("\x9b31m", "\\u009b31m"),
        ("cust\u200bacme", "cust\\u200bacme"),
        ("tag\U000e0041", "tag\\u{e0041}"),
        ("lone \ud800", "lone \\ud800"),
    ],
)
def test_escapes_name_the_code_point(text, shown):
    assert visible(text) == shown


def test_visible_json_is_exact_json_that_shows_no_invisible_character():
    from receipts.text import visible_json

    value = {"d": "a\u202eb\u2028c\x7f\x85\U000e0041\ufeff é 😀", "n": [1, None, "\x1b"]}
    for indent in (None, 2):
        text = visible_json(value, indent)
        assert json.loads(text) == value
        assert visible(text.replace("\n", "")) == text.replace("\n", "")  # nothing left to make visible
        assert "é 😀" in text and "\\u202e" in text and "\\udb40\\udc41" in text
    assert "\n" not in visible_json(value) and "\n  " in visible_json(value, 2)
