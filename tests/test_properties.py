"""Property tests of verification (receipts/verify.py) with hypothesis.

1. No single-byte change to an export line gives a different receipt that verifies.
2. No reordering of a chain verifies, except the identity.
3. No deletion inside a chain verifies; only a contiguous segment does.

Chains are built once per module (signing is the slow part); examples only mutate them.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from receipts.keys import Jwks
from receipts.ledger import Entitlement
from receipts.records import export_line
from receipts.verify import CHAIN_LINK, SEQUENCE, Verification, verify_chain, verify_receipt

# Fixtures are module or session scoped (built once), so no function-scoped health check applies.
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Receipt = dict[str, Any]


@pytest.fixture(scope="module")
def chain6(make_chain: Callable[..., list[Receipt]]) -> list[Receipt]:
    """Six receipts, distinct amounts, and a quota so both statuses appear."""
    entitlement = Entitlement("cust_p", "ent_p", 2000, "USD")  # 20.00 USD
    receipts = make_chain(
        6, customer="cust_p", amounts=["1.50", "2.25", "10.00", "9.99", "0.01", "3.00"], entitlement=entitlement
    )
    assert {r["status"] for r in receipts} == {"accepted", "rejected"}
    return receipts


@pytest.fixture(scope="module")
def lines(chain6: list[Receipt]) -> list[bytes]:
    return [export_line(receipt) for receipt in chain6]


def test_the_fixtures_verify(chain6: list[Receipt], lines: list[bytes], jwks: Jwks) -> None:
    assert all(result.ok for result in verify_chain(chain6, jwks))
    for line, receipt in zip(lines, chain6, strict=True):
        assert line.endswith(b"\n") and b"\n" not in line[:-1]
        assert json.loads(line) == receipt
        assert verify_receipt(json.loads(line), jwks).ok


def mutated_outcome(line: bytes, position: int, value: int, jwks: Jwks) -> str:
    """'unparsable', 'same-object' or 'rejected'; raises AssertionError if a changed receipt passes."""
    mutated = line[:position] + bytes([value]) + line[position + 1 :]
    assert mutated != line
    try:
        parsed = json.loads(mutated.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "unparsable"
    if parsed == json.loads(line):
        # The line is canonical: only the line terminator may become other JSON whitespace.
        assert position == len(line) - 1, (position, mutated)
        return "same-object"
    result = verify_receipt(parsed, jwks)
    assert result.ok is False, f"byte {position} -> {value:#04x} still verifies: {mutated!r}"
    assert result.failures and all(failure.reason for failure in result.failures)
    return "rejected"


@PROPERTY_SETTINGS
@given(data=st.data())
def test_any_single_byte_change_to_an_export_line_is_detected(lines: list[bytes], jwks: Jwks, data: st.DataObject):
    line = data.draw(st.sampled_from(lines), label="line")
    position = data.draw(st.integers(0, len(line) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda byte: byte != line[position]), label="new byte")
    mutated_outcome(line, position, value, jwks)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_printable_byte_changes_inside_the_signature_are_detected(
    lines: list[bytes], jwks: Jwks, data: st.DataObject
) -> None:
    """Most random bytes break the JSON; aim at the JWS, where the alphabet keeps it valid."""
    line = data.draw(st.sampled_from(lines), label="line")
    start = line.index(b'"signature":"') + len(b'"signature":"')
    end = line.index(b'"', start)
    position = data.draw(st.integers(start, end - 1), label="position")
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/"
    value = data.draw(st.sampled_from(sorted(set(alphabet) - {line[position]})), label="new byte")
    assert mutated_outcome(line, position, value, jwks) == "rejected"


@pytest.mark.parametrize("which", range(6))
def test_every_position_of_an_export_line_is_covered(lines: list[bytes], jwks: Jwks, which: int) -> None:
    """A deterministic sweep beside the random one: every byte of every line, three bit flips."""
    outcomes: dict[str, int] = {}
    line = lines[which]
    for position in range(len(line)):
        for flip in (0x01, 0x02, 0x20):
            outcome = mutated_outcome(line, position, line[position] ^ flip, jwks)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("rejected", 0) > len(line)  # most flips parse and must be caught by verification


def non_identity(order: list[int]) -> bool:
    return order != sorted(order)


@PROPERTY_SETTINGS
@given(order=st.permutations(range(6)).filter(non_identity))
def test_any_reordering_of_a_chain_fails(chain6: list[Receipt], jwks: Jwks, order: list[int]) -> None:
    results = verify_chain([chain6[index] for index in order], jwks)
    assert not all(result.ok for result in results)
    # The first receipt that does not follow its predecessor is named, with a sequence failure.
    first = next(i for i in range(1, 6) if order[i] != order[i - 1] + 1)
    assert all(result.ok for result in results[:first])
    culprit = results[first]
    assert culprit.sequence == order[first] + 1
    failing = {failure.check: failure.reason for failure in culprit.failures}
    assert SEQUENCE in failing and CHAIN_LINK in failing
    assert f"sequence {order[first] + 1} follows {order[first - 1] + 1}" in failing[SEQUENCE]


@PROPERTY_SETTINGS
@given(index=st.integers(1, 4))
def test_deleting_any_inner_receipt_fails(chain6: list[Receipt], jwks: Jwks, index: int) -> None:
    results = verify_chain(chain6[:index] + chain6[index + 1 :], jwks)
    assert not all(result.ok for result in results)
    assert all(result.ok for result in results[:index])
    culprit: Verification = results[index]  # the receipt that followed the deleted one
    assert culprit.sequence == index + 2
    assert {SEQUENCE, CHAIN_LINK} <= {failure.check for failure in culprit.failures}
    assert all(result.ok for result in results[index + 1 :])


@pytest.mark.parametrize("index", [0, 5], ids=["first", "last"])
def test_deleting_the_first_or_last_receipt_leaves_a_valid_segment(
    chain6: list[Receipt], jwks: Jwks, index: int
) -> None:
    """By design (verify_chain docstring) a segment may start after sequence 1 and may end
    anywhere: an export without its first or last receipt cannot be told from a window of
    the chain. Completeness at the ends needs the head hash or sequence 1 from elsewhere."""
    results = verify_chain(chain6[:index] + chain6[index + 1 :], jwks)
    assert all(result.ok for result in results)


@PROPERTY_SETTINGS
@given(kept=st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True).map(sorted))
def test_a_subsequence_verifies_exactly_when_it_is_contiguous(
    chain6: list[Receipt], jwks: Jwks, kept: list[int]
) -> None:
    results = verify_chain([chain6[index] for index in kept], jwks)
    contiguous = kept == list(range(kept[0], kept[-1] + 1))
    assert all(result.ok for result in results) is contiguous


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    amounts=st.lists(st.decimals(min_value="0.01", max_value="99999.99", places=2).map(str), min_size=1, max_size=5),
    currency=st.sampled_from(["USD", "EUR"]),
)
def test_built_chains_verify_and_balance_is_the_sum(
    make_chain: Callable[..., list[Receipt]], jwks: Jwks, amounts: list[str], currency: str
) -> None:
    receipts = make_chain(len(amounts), customer="cust_h", amounts=amounts, currency=currency)
    assert all(result.ok for result in verify_chain(receipts, jwks))
    total = sum(int(amount.replace(".", "")) for amount in amounts)
    assert receipts[-1]["balance_after"] == f"{total // 100}.{total % 100:02d}"


@settings(max_examples=200, deadline=None)
@given(description=st.one_of(st.none(), st.text(max_size=60)), key=st.text(min_size=1, max_size=40))
@example(description='x","status":"accepted","receipt_id":"r_', key='k,"status":"rejected')
def test_spliced_export_line_is_the_canonical_export(signer, description: str | None, key: str) -> None:
    """SignedReceipt.export_line splices bytes; it must equal RFC 8785 of the export, for any text."""
    from receipts.events import Invalid, parse_event
    from receipts.jws import sign_payloads
    from receipts.ledger import ChainState
    from receipts.records import SignedReceipt, export_line
    from tests.conftest import event_bytes

    event = parse_event(event_bytes(idempotent_key=key, usage_description=description))
    if isinstance(event, Invalid):
        return  # e.g. a key with a control character: not an event
    chained = ChainState("cust_1").append(event, None, signer.kid, "2026-01-25T12:00:00.000000Z")
    receipt = SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])
    assert receipt.export_line() == export_line(receipt.export())
