"""The signed-note vectors (tests/vectors/tlog_notes.json) that the browser's tlog.js runs
too: the committed file is what tests.vectors.tlog_notes writes, and receipts.tlog answers
every vector as the file says."""

import base64
import json

import pytest

from tests.vectors.tlog_notes import VECTORS, expectation, text

DOCUMENT = json.loads(VECTORS.read_text(encoding="ascii"))


def test_the_committed_vectors_are_what_the_generator_writes() -> None:
    assert VECTORS.read_text(encoding="ascii") == text(), "run: python -m tests.vectors.tlog_notes"


def test_the_vectors_cover_acceptance_and_refusal() -> None:
    answers = [vector["expect"]["ok"] for vector in DOCUMENT["notes"]]
    assert answers.count(True) >= 10 and answers.count(False) >= 25


@pytest.mark.parametrize("vector", DOCUMENT["notes"], ids=lambda vector: vector["name"])
def test_receipts_tlog_answers_each_vector(vector: dict) -> None:
    assert expectation(base64.b64decode(vector["note"]), vector) == vector["expect"]
