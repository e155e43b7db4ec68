"""The shared test vectors (tests/vectors/receipts.json) through the browser verifier in
real headless Chromium: static/verifier.js reads each vector's input as a person pastes
it and must reach receipts.verify's answer for every receipt: the same checks, in the same
order, with the same results and reasons. tests/test_vectors.py holds Python to the same
file, so a change to either verifier that the other lacks fails one of them.

Reasons that quote a parser's own error message (Python's json module, a UTF-8 decoder)
are compared up to that message; every other reason must be the same text.
"""

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from receipts.stores.keyring import KeyRing
from tests.site.conftest import run_in_verify_page, serve_empty_site
from tests.vectors.generate import VECTORS

pytestmark = pytest.mark.browser

PARSER_PREFIXES = ("not valid JSON: ", "signature is not a JWS compact serialization: ", "signed payload: ")
PARSER_MESSAGE = re.compile(
    r"Expecting |Unexpected UTF-8 BOM|'utf-8' codec|Exceeds the limit|Invalid control character|Invalid \\escape"
    r"|Unterminated string|Extra data|Invalid \\uXXXX|.* exceeds safe integer domain|input contains non-UTF-8"
    r"|.* is not representable in JCS"
)

RUN_VECTORS = """async (text) => {
  const { readReceipts, trustedKeys, verifyChain } = await import("/static/verifier.js");
  const document = JSON.parse(text);
  const keys = await trustedKeys(JSON.stringify(document.jwks));
  const answers = {};
  for (const vector of document.receipts) {
    const { receipts, unreadable } = readReceipts(vector.input);
    const results = await verifyChain(receipts, keys);
    answers[vector.name] = {
      unreadable,
      results: results.map((result) => ({
        receipt_id: result.receiptId,
        customer_id: result.customerId,
        sequence: result.sequence === null ? null : String(result.sequence),
        checks: result.checks.map((check) => [check.check, check.ok, check.reason]),
      })),
    };
  }
  return answers;
}"""

RUN_TEXT = """async (text) => {
  const { visible } = await import("/static/text.js");
  const { isPrintable } = await import("/static/python.js");
  const samples = JSON.parse(text).text;
  return samples.map((sample) => ({ visible: visible(sample.text), printable: isPrintable(sample.text) }));
}"""


@cache
def document() -> dict[str, Any]:
    return json.loads(VECTORS.read_text(encoding="ascii"))


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory, keyring: KeyRing) -> Iterator[str]:
    yield from serve_empty_site(tmp_path_factory.mktemp("vectors-site"), keyring.folder)


@pytest.fixture(scope="module")
def answers(browser: Any, origin: str) -> dict[str, Any]:
    """Every vector through verifier.js, and every text sample through text.js, in one page."""
    text = VECTORS.read_text(encoding="ascii")
    return run_in_verify_page(browser, origin, {"receipts": (RUN_VECTORS, text), "text": (RUN_TEXT, text)})


def same_reason(python: str, browser: str) -> bool:
    for prefix in PARSER_PREFIXES:
        if python.startswith(prefix) and PARSER_MESSAGE.match(python.removeprefix(prefix)):
            return browser.startswith(prefix) and len(browser) > len(prefix)
    return python == browser


@pytest.mark.parametrize("vector", document()["receipts"], ids=lambda vector: vector["name"])
def test_the_browser_verifier_answers_each_vector_as_receipts_verify_does(
    answers: dict[str, Any], vector: dict[str, Any]
) -> None:
    expected, found = vector["expect"], answers["receipts"][vector["name"]]
    assert [item["line"] for item in found["unreadable"]] == [item["line"] for item in expected["unreadable"]]
    for python, browser in zip(expected["unreadable"], found["unreadable"], strict=True):
        assert same_reason(python["reason"], browser["reason"]), (python, browser)
    assert [[c[:2] for c in r["checks"]] for r in found["results"]] == [
        [c[:2] for c in r["checks"]] for r in expected["results"]
    ]
    for python, browser in zip(expected["results"], found["results"], strict=True):
        assert (browser["receipt_id"], browser["customer_id"], browser["sequence"]) == (
            python["receipt_id"],
            python["customer_id"],
            python["sequence"],
        )
        for python_check, browser_check in zip(python["checks"], browser["checks"], strict=True):
            assert same_reason(python_check[2], browser_check[2]), (python_check, browser_check)


def test_the_browser_shows_text_as_receipts_text_visible_does(answers: dict[str, Any]) -> None:
    expected = [{"visible": sample["visible"], "printable": sample["printable"]} for sample in document()["text"]]
    assert answers["text"] == expected


def test_the_vectors_ran_without_a_script_error(answers: dict[str, Any]) -> None:
    assert answers["problems"] == []
