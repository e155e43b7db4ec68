"""The shared test vectors (tests/vectors/receipts.json) through receipts.verify: every
vector's input read as the site and `receipts verify` read it, every result exactly as
recorded (check names, results and reasons, in order). The browser verifier runs the same
file (tests/site/test_browser_vectors.py), so the two cannot drift apart unnoticed.

The file is generated (python -m tests.vectors.generate); the first test fails when the
committed copy is not what the generator writes, e.g. after a change to receipts.verify.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import verifier_site
from receipts.keys import Jwks
from receipts.reading import Unreadable, read_receipts
from receipts.text import visible
from receipts.verify import verify_chain
from tests.vectors import generate

VECTORS = generate.VECTORS
pytestmark = pytest.mark.filterwarnings("ignore:Key size should be")  # the JWKS holds a 1024-bit key on purpose


@cache
def document() -> dict[str, Any]:
    return json.loads(VECTORS.read_text(encoding="ascii"))


def receipt_vectors() -> list[dict[str, Any]]:
    return document()["receipts"]


def test_the_committed_files_are_what_the_generator_writes() -> None:
    assert VECTORS.read_text(encoding="ascii") == generate.vectors(), "run: python -m tests.vectors.generate"
    assert generate.TABLES.read_text(encoding="ascii") == generate.tables(), "run: python -m tests.vectors.generate"


def test_the_vectors_are_not_served_by_the_site() -> None:
    assert not VECTORS.resolve().is_relative_to(Path(verifier_site.__file__).resolve().parent)


def test_the_vectors_cover_every_check_failing_and_every_kind_of_input() -> None:
    failing = {
        check[0] for vector in receipt_vectors() for result in vector["expect"]["results"] for check in result["checks"]
    }
    assert failing == {"format", "signature", "canonical", "hash", "contract", "idempotency", "sequence"} | {
        "chain_link",
        "balance",
    }
    prefixes = {vector["name"].split("/")[0] for vector in receipt_vectors()}
    assert prefixes >= {"genuine", "unreadable", "export", "signature", "key", "header", "format", "payload"}
    assert {"hash", "contract", "chain"} <= prefixes
    genuine = next(v for v in receipt_vectors() if v["name"] == "genuine/interleaved")["expect"]["results"]
    assert len({result["customer_id"] for result in genuine}) >= 5


@pytest.mark.parametrize("vector", receipt_vectors(), ids=lambda vector: vector["name"])
def test_receipts_verify_answers_each_vector_as_recorded(vector: dict[str, Any]) -> None:
    items = list(read_receipts(vector["input"].encode("utf-8")))
    unreadable = [item for item in items if isinstance(item, Unreadable)]
    results = verify_chain([item for item in items if not isinstance(item, Unreadable)], Jwks(document()["jwks"]))
    expected = vector["expect"]
    assert [{"line": item.line, "reason": item.reason} for item in unreadable] == expected["unreadable"]
    assert [[[c.check, c.ok, c.reason] for c in result.checks] for result in results] == [
        result["checks"] for result in expected["results"]
    ]
    assert [(r.receipt_id, r.customer_id, None if r.sequence is None else str(r.sequence)) for r in results] == [
        (result["receipt_id"], result["customer_id"], result["sequence"]) for result in expected["results"]
    ]


@pytest.mark.parametrize("sample", document()["text"], ids=lambda sample: repr(sample["text"][:20]))
def test_visible_shows_each_text_sample_as_recorded(sample: dict[str, Any]) -> None:
    assert visible(sample["text"]) == sample["visible"]
    assert sample["text"].isprintable() == sample["printable"]
