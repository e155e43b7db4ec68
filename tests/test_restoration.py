"""The restore's domain rules: which archived receipts may be written back (a verified
prefix from sequence 1), receipts the store holds past it, and the rows a chain leaves."""

from receipts.restoration import AMBIGUOUS, MISSING, extended_by_store, restorable_chain, state_rows
from tests.reconcile_helpers import archive_of, exported, ledger_of, resign, signed_chain


def test_identical_lines_count_once_and_the_whole_chain_verifies(signer, jwks) -> None:
    chain = exported(signed_chain(signer, 4))
    restorable = restorable_chain("cust_r", archive_of(chain + chain[1:3]), jwks)
    assert restorable.receipts == tuple(chain) and restorable.cut_short is None
    assert (restorable.lines, restorable.duplicates) == (6, 2)


def test_a_gap_cuts_the_chain_before_it(signer, jwks) -> None:
    chain = exported(signed_chain(signer, 5))
    restorable = restorable_chain("cust_r", archive_of(chain[:2] + chain[3:]), jwks)
    assert len(restorable.receipts) == 2
    assert (restorable.cut_short.check, restorable.cut_short.sequence) == (MISSING, 3)
    assert restorable_chain("cust_r", archive_of(chain[1:]), jwks).receipts == ()  # no sequence 1: nothing


def test_two_different_copies_of_a_receipt_cut_the_chain_there(signer, jwks) -> None:
    chain = exported(signed_chain(signer, 4))
    restorable = restorable_chain("cust_r", archive_of([*chain, {**chain[2], "amount": "0.01"}]), jwks)
    assert len(restorable.receipts) == 2 and restorable.cut_short.check == AMBIGUOUS


def test_a_receipt_resigned_after_an_edit_cuts_at_the_next_link(signer, jwks) -> None:
    chain = exported(signed_chain(signer, 4))
    chain[1] = resign(signer, chain[1], amount="0.01")  # verifies alone; its balance and the next link do not
    restorable = restorable_chain("cust_r", archive_of(chain), jwks)
    assert len(restorable.receipts) == 1 and restorable.cut_short.check == "balance"


def test_the_store_may_extend_the_archive_but_never_be_rewound(signer, jwks) -> None:
    chain = exported(signed_chain(signer, 5))
    restorable = restorable_chain("cust_r", archive_of(chain[:3]), jwks)
    extended = extended_by_store(restorable, ledger_of(chain), 5, jwks)
    assert extended.receipts == tuple(chain) and extended.kept == 2 and extended.refused is None
    tampered = [*chain[:4], {**chain[4], "amount": "9.99"}]
    assert "do not extend it" in extended_by_store(restorable, ledger_of(tampered), 5, jwks).refused
    assert "rewind" in extended_by_store(restorable, ledger_of(chain[:3]), 5, jwks).refused


def test_state_rows_are_the_reconciliations_arithmetic(signer) -> None:
    from receipts.ledger import Entitlement

    cap = Entitlement("cust_r", "ent", 1000, "USD")
    chain = exported(signed_chain(signer, 5, entitlement=cap))  # 1.50 + 2.25 accepted, 10.00 over the cap
    balances, usage, credits = state_rows(chain)
    assert balances == {"USD": (chain[-1]["balance_after"], 5)}
    accepted = sum(int(r["amount"].replace(".", "")) for r in chain if r["status"] == "accepted")
    assert usage == {"ent": (accepted, 5)} and credits == {}
