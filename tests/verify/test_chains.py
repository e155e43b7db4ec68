"""verify_chain on segments: gaps, deletions, forks, swaps, repeats, segments that start
late, several customers, rejected receipts, foreign receipts mixed in."""

from collections.abc import Callable

from receipts.keys import Jwks
from receipts.ledger import QUOTA_EXCEEDED, REJECTED, Entitlement
from receipts.stores.signers import LocalKeySigner
from receipts.verify import (
    BALANCE,
    CHAIN_LINK,
    IDEMPOTENCY,
    SEQUENCE,
    SIGNATURE,
    verify_chain,
    verify_receipt,
)
from tests.verify.forgeries import (
    RECEIPT_CHECKS,
    Receipt,
    assert_all_ok,
    assert_fails,
    assert_only_failure,
    body_of,
    names,
    rederive,
    resign,
)

# -- chains: sequence, links, idempotency, balances --------------------------------------


def test_sequence_gap_fails_sequence_and_chain_link(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain([chain[0], chain[3], chain[4]], jwks)  # 2 and 3 missing
    assert results[0].ok and results[2].ok
    assert_fails(results[1], SEQUENCE, "sequence 4 follows 1", "expected 2")
    assert_fails(results[1], CHAIN_LINK, "sequence 1")
    assert_fails(results[1], BALANCE)
    assert set(names(results[1].failures)) == {SEQUENCE, CHAIN_LINK, BALANCE}


def test_receipt_deleted_from_the_middle_names_the_next_one(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain([*chain[:2], *chain[3:]], jwks)
    failing = [result for result in results if not result.ok]
    assert len(failing) == 1
    [culprit] = failing
    assert culprit.sequence == 4 and culprit.receipt_id == chain[3]["receipt_id"]
    assert "sequence 4" in culprit.named()
    assert_fails(culprit, SEQUENCE, "sequence 4 follows 2; expected 3")
    assert_fails(culprit, CHAIN_LINK, "sequence 2")
    assert_fails(culprit, BALANCE, "13.76", "3.75")


def test_repeated_sequence_fork_fails_sequence_and_chain_link(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    # A second, different receipt 3 (another event) that links to receipt 2: a fork.
    fork_body = rederive({**body_of(chain[2]), "idempotent_key": "evt-fork"})
    fork = resign(signer, fork_body)
    assert verify_receipt(fork, jwks).ok
    results = verify_chain([*chain[:3], fork], jwks)
    assert all(result.ok for result in results[:3])
    assert_fails(results[3], SEQUENCE, "sequence 3 follows 3", "expected 4")
    assert_fails(results[3], CHAIN_LINK, "sequence 3")
    assert IDEMPOTENCY not in names(results[3].failures)


def test_two_receipts_swapped_names_the_first_out_of_place(chain: list[Receipt], jwks: Jwks) -> None:
    swapped = [chain[0], chain[1], chain[3], chain[2], chain[4]]
    results = verify_chain(swapped, jwks)
    assert results[0].ok and results[1].ok
    first_bad = next(result for result in results if not result.ok)
    assert first_bad is results[2]
    assert first_bad.sequence == 4 and first_bad.receipt_id == chain[3]["receipt_id"]
    assert_fails(results[2], SEQUENCE, "sequence 4 follows 2; expected 3")
    assert_fails(results[2], CHAIN_LINK, "sequence 2")
    assert results[3].sequence == 3 and results[3].receipt_id == chain[2]["receipt_id"]
    assert_fails(results[3], SEQUENCE, "sequence 3 follows 4; expected 5")
    assert_fails(results[3], CHAIN_LINK, "sequence 4")
    for result in results:  # each receipt on its own is still fine
        assert all(check.ok for check in result.checks if check.check in RECEIPT_CHECKS)


def test_same_receipt_twice_fails_idempotency(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain([*chain[:3], chain[2]], jwks)
    assert all(result.ok for result in results[:3])
    assert_fails(results[3], IDEMPOTENCY, "line 3")
    assert_fails(results[3], SEQUENCE)
    assert_fails(results[3], CHAIN_LINK)


def test_idempotency_key_reused_by_a_later_receipt_fails_idempotency(
    chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks
) -> None:
    # Receipt 5 re-signed for a key already charged in receipt 1: links and balance are fine.
    reused = resign(signer, rederive({**body_of(chain[4]), "idempotent_key": chain[0]["idempotent_key"]}))
    assert reused["receipt_id"] == chain[0]["receipt_id"]
    results = verify_chain([*chain[:4], reused], jwks)
    assert all(result.ok for result in results[:4])
    assert_only_failure(results[4], IDEMPOTENCY, "line 1")


def test_segment_starting_at_sequence_three_passes(chain: list[Receipt], jwks: Jwks) -> None:
    results = verify_chain(chain[2:], jwks)
    assert_all_ok(results)
    assert [result.sequence for result in results] == [3, 4, 5]
    assert CHAIN_LINK not in names(results[0].checks)  # its first link is unknown
    # Not compared is said so, never shown as a check that passed on evidence.
    first = {check.check: check for check in results[0].checks}
    assert first[SEQUENCE].reason.startswith("not checked: the receipt before this one was not given")
    assert first[BALANCE].reason.startswith("not checked: no earlier balance in USD was given")
    assert not first[SEQUENCE].ran and not first[BALANCE].ran and first[IDEMPOTENCY].ran
    assert all(check.ran for result in results[1:] for check in result.checks)


def test_the_first_receipt_of_a_chain_says_so_plainly(chain: list[Receipt], jwks: Jwks) -> None:
    first = {check.check: check for check in verify_chain(chain[:1], jwks)[0].checks}
    assert first[SEQUENCE].reason == "sequence 1: the start of this customer's chain"
    assert first[SEQUENCE].ran and first[BALANCE].ran


def test_a_receipt_after_a_body_without_sequence_is_checked_not_a_crash(
    chain: list[Receipt], foreign: LocalKeySigner, jwks: Jwks
) -> None:
    # Anyone can sign a body without "sequence" with some key and paste it before a real receipt.
    headless = {name: value for name, value in body_of(chain[0]).items() if name != "sequence"}
    results = verify_chain([resign(foreign, headless), chain[1]], jwks)
    assert_fails(results[0], SIGNATURE)
    assert_fails(results[1], SEQUENCE, "sequence 2 follows None; expected None")


def test_segment_then_edited_balance_still_checked(chain: list[Receipt], signer: LocalKeySigner, jwks: Jwks) -> None:
    forged = resign(signer, {**body_of(chain[3]), "balance_after": "99.99"})
    results = verify_chain([chain[2], forged], jwks)
    assert results[0].ok
    assert_only_failure(results[1], BALANCE, "99.99", "13.76")


def test_chains_of_two_customers_interleaved_pass(make_chain: Callable[..., list[Receipt]], jwks: Jwks) -> None:
    first = make_chain(3, customer="cust_a", amounts=["1.00"])
    second = make_chain(3, customer="cust_b", amounts=["5"], currency="JPY")
    mixed = [first[0], second[0], second[1], first[1], first[2], second[2]]
    assert_all_ok(verify_chain(mixed, jwks))


def test_rejected_receipts_verify_and_balances_hold(
    make_chain: Callable[..., list[Receipt]], signer: LocalKeySigner, jwks: Jwks
) -> None:
    entitlement = Entitlement("cust_q", "ent_small", 400, "USD")  # 4.00 USD
    receipts = make_chain(5, customer="cust_q", amounts=["1.50"], entitlement=entitlement)
    assert [r["status"] for r in receipts] == ["accepted", "accepted", REJECTED, REJECTED, REJECTED]
    assert [r["reason"] for r in receipts] == [None, None, QUOTA_EXCEEDED, QUOTA_EXCEEDED, QUOTA_EXCEEDED]
    assert [r["balance_after"] for r in receipts] == ["1.50", "3.00", "3.00", "3.00", "3.00"]
    assert [r["quota_remaining"] for r in receipts] == ["2.50", "1.00", "1.00", "1.00", "1.00"]
    assert_all_ok(verify_chain(receipts, jwks))

    # A rejected receipt that charges anyway breaks the balance.
    charged = resign(signer, {**body_of(receipts[2]), "balance_after": "4.50"})
    assert verify_receipt(charged, jwks).ok
    results = verify_chain([*receipts[:2], charged], jwks)
    assert_only_failure(results[2], BALANCE, "4.50", "3.00", "nothing charged")

    # A rejected receipt claimed as accepted (reason dropped) passes alone but its balance does not.
    accepted = resign(signer, {**body_of(receipts[2]), "status": "accepted", "reason": None})
    assert verify_receipt(accepted, jwks).ok
    assert_only_failure(verify_chain([*receipts[:2], accepted], jwks)[2], BALANCE, "3.00", "4.50")


def test_receipts_of_the_same_chain_with_a_foreign_receipt_mixed_in(
    chain: list[Receipt], foreign: LocalKeySigner, jwks: Jwks
) -> None:
    forged = resign(foreign, {**body_of(chain[2]), "kid": foreign.kid})
    results = verify_chain([*chain[:2], forged, *chain[3:]], jwks)
    assert_only_failure(results[2], SIGNATURE, "not in the JWKS")
    assert_only_failure(results[3], CHAIN_LINK, "sequence 3")  # another kid, another payload hash
    assert results[0].ok and results[1].ok and results[4].ok
