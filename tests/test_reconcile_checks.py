"""The reconciliation's checks as pure functions (receipts/reconciliation): one customer's
ledger, archive and state rows in, discrepancies naming customer, receipt and field out.

Chains are real signed receipts; tampering is done the way it would happen to a store:
rows edited, deleted, swapped, re-signed, or a state row drifted."""

from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from receipts.canonical import canonical_bytes, differing_fields
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.ledger import QUOTA_EXCEEDED, REJECTED, Entitlement
from receipts.reconciliation import ArchivedCopy, CustomerResult, Discrepancy, Scope, reconcile_customer
from receipts.reconciliation.stores import archived_copy, distinct_copies
from receipts.rows import AmountRow, CustomerState, IdempotencyRow
from receipts.stores.signers import LocalKeySigner
from tests.reconcile_helpers import archive_of, exported, ledger_of, resign, signed_chain, state_of

CUSTOMER = "cust_r"
AS_OF = "2026-01-25T13:00:00Z"


@pytest.fixture(scope="module")
def chain(signer):
    return signed_chain(signer, 5)


@pytest.fixture(scope="module")
def foreign() -> LocalKeySigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return LocalKeySigner(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def check(
    jwks: Jwks,
    ledger: Sequence[dict] | None,
    archive: Sequence[dict] | None = None,
    state: CustomerState | None = None,
    scope: Scope | None = None,
    ledger_entries=None,
    archive_copies=None,
    read_at=None,
) -> CustomerResult:
    return reconcile_customer(
        CUSTOMER,
        ledger_entries if ledger_entries is not None else ledger_of(ledger or []),
        archive_copies if archive_copies is not None else archive_of(archive if archive is not None else ledger or []),
        state,
        jwks,
        scope or Scope("both", AS_OF),
        read_at,
    )


def found(result: CustomerResult) -> set[tuple[str, str | None, str, str]]:
    """(check, receipt_id, field, rule) of every discrepancy."""
    return {(d.check, d.receipt_id, d.field, d.rule) for d in result.discrepancies}


def only(result: CustomerResult, *expected: tuple[str, str | None, str, str]) -> None:
    assert found(result) == set(expected), [(d.check, d.field, d.rule, d.reason) for d in result.discrepancies]


def reason_of(result: CustomerResult, rule: str) -> str:
    return next(d.reason for d in result.discrepancies if d.rule == rule)


def test_a_whole_ledger_has_no_discrepancy_and_counts_what_it_examined(chain, jwks) -> None:
    result = check(jwks, exported(chain), state=state_of(chain))
    assert result.discrepancies == ()
    assert result.tally.receipts == 5 and result.tally.customers == 1
    assert {name: counts["receipts"] for name, counts in result.tally.checks.items()} == {
        "chain": 5,
        "signatures": 5,
        "money": 5,
        "idempotency": 5,
        "stores": 5,
        "log": 0,  # the log is checked per receipt (receipts.reconciliation.log), not per customer
        "statements": 0,  # statements have their own step (receipts.reconciliation.statements)
    }
    assert result.tally.set_aside == {}


def test_an_amount_edited_in_the_ledger_names_the_receipt_and_field(chain, jwks) -> None:
    ledger = exported(chain)
    ledger[2] = {**ledger[2], "amount": "0.10"}
    result = check(jwks, ledger, archive=exported(chain), state=state_of(chain))
    rid = chain[2].receipt_id
    only(result, ("signatures", rid, "amount", "canonical"), ("stores", rid, "amount", "copies_differ"))
    assert "the copy in receipts-2026-01-25T10.jsonl line 3 verifies" in reason_of(result, "copies_differ")
    assert all(d.sequence == 3 and d.customer_id == CUSTOMER for d in result.discrepancies)


def test_a_receipt_deleted_from_the_ledger_is_named_missing_and_breaks_the_next_link(chain, jwks) -> None:
    ledger = [r for r in exported(chain) if r["sequence"] != 3]
    result = check(jwks, ledger, archive=exported(chain), state=state_of(chain))
    deleted, after = chain[2].receipt_id, chain[3].receipt_id
    assert ("stores", deleted, "ledger", "missing") in found(result)
    assert "in the archive and the state store, missing from the ledger" in reason_of(result, "missing")
    assert {("chain", after, "sequence", "sequence"), ("chain", after, "previous_receipt_hash", "chain_link")} <= found(
        result
    )
    assert ("money", after, "balance_after", "balance") in found(result)


def test_the_last_and_the_first_receipt_deleted(chain, jwks) -> None:
    result = check(jwks, exported(chain[:4]), archive=exported(chain), state=state_of(chain))
    assert ("chain", chain[3].receipt_id, "chain_head", "chain_head") in found(result)
    assert ("stores", chain[4].receipt_id, "ledger", "missing") in found(result)
    assert "chain head is sequence 5" in reason_of(result, "chain_head")

    result = check(jwks, exported(chain[1:]), archive=exported(chain), state=state_of(chain))
    assert ("chain", chain[1].receipt_id, "sequence", "chain_start") in found(result)
    assert ("stores", chain[0].receipt_id, "ledger", "missing") in found(result)


def test_two_receipts_swapped_in_the_ledger_are_both_named(chain, jwks) -> None:
    entries = ledger_of(exported(chain))
    entries[1].stored["sequence"], entries[2].stored["sequence"] = 3, 2  # the rows' own sequence columns
    result = check(jwks, None, archive=exported(chain), state=state_of(chain), ledger_entries=entries)
    second, third = chain[1].receipt_id, chain[2].receipt_id
    assert {
        ("signatures", second, "sequence", "stored_fields"),
        ("signatures", third, "sequence", "stored_fields"),
    } <= (found(result))
    assert ("chain", third, "sequence", "sequence") in found(result)  # the first one out of place
    assert "the ledger's stored sequence is 3; the signed body says 2" in reason_of(result, "stored_fields")


def test_a_row_holding_another_receipts_body_is_named_by_its_key(chain, jwks) -> None:
    entries = ledger_of(exported(chain))
    entries[0].stored["receipt_id"] = chain[1].receipt_id
    result = check(jwks, None, archive=exported(chain), state=state_of(chain), ledger_entries=entries)
    only(result, ("signatures", chain[0].receipt_id, "receipt_id", "stored_fields"))


def test_a_signature_from_a_foreign_key_fails_signatures(chain, jwks, foreign) -> None:
    ledger = exported(chain)
    [token] = sign_payloads(
        foreign, [canonical_bytes({k: v for k, v in ledger[1].items() if k not in ("receipt_hash", "signature")})]
    )
    ledger[1] = {**ledger[1], "signature": token}
    result = check(jwks, ledger, archive=exported(chain), state=state_of(chain))
    rid = chain[1].receipt_id
    assert ("signatures", rid, "signature", "signature") in found(result)
    assert "not in the JWKS" in next(d.reason for d in result.discrepancies if d.rule == "signature")
    assert {d.receipt_id for d in result.discrepancies} == {rid}


def test_a_balance_drifted_by_one_cent_names_the_receipt_it_is_as_of(chain, jwks) -> None:
    state = state_of(chain)
    drifted = CustomerState(**{**state.__dict__, "balances": {"USD": AmountRow("16.77", 5)}})
    result = check(jwks, exported(chain), state=drifted)
    only(result, ("money", chain[4].receipt_id, "balances[USD]", "state_row"))
    assert "16.77" in reason_of(result, "state_row") and "16.76" in reason_of(result, "state_row")

    stale = CustomerState(**{**state.__dict__, "balances": {"USD": AmountRow("16.76", 4)}})
    only(
        check(jwks, exported(chain), state=stale),
        ("money", chain[4].receipt_id, "balances[USD].as_of_sequence", "state_row"),
    )
    missing = CustomerState(
        **{**state.__dict__, "balances": {"USD": state.balances["USD"], "EUR": AmountRow("1.00", 2)}}
    )
    only(check(jwks, exported(chain), state=missing), ("money", None, "balances[EUR]", "state_row"))


def test_entitlement_usage_rows_and_quota_remaining(signer, jwks) -> None:
    cap = Entitlement(CUSTOMER, "ent_small", 400, "USD")  # 4.00 USD
    receipts = signed_chain(signer, 4, amounts=["1.50"], entitlement=cap)
    assert [r.chained.body["status"] for r in receipts] == ["accepted", "accepted", REJECTED, REJECTED]
    state = state_of(receipts, cap)
    assert check(jwks, exported(receipts), state=state).discrepancies == ()

    drifted = CustomerState(**{**state.__dict__, "usage": {"ent_small": AmountRow("150", 4)}})
    only(
        check(jwks, exported(receipts), state=drifted),
        ("money", receipts[3].receipt_id, "entitlement_usage[ent_small]", "state_row"),
    )

    # Re-signed by an insider: an accepted charge past the limit, and a rejection that would have fitted.
    ledger = exported(receipts)
    ledger[2] = resign(signer, ledger[2], status="accepted", reason=None, quota_remaining="-0.50", balance_after="4.50")
    result = check(jwks, ledger, archive=ledger, state=state)
    assert ("money", receipts[2].receipt_id, "quota_remaining", "quota") in found(result)
    assert "passed the entitlement's limit" in reason_of(result, "quota")
    ledger = exported(receipts)
    ledger[3] = resign(signer, ledger[3], quota_remaining="2.00")
    result = check(jwks, ledger, archive=ledger, state=state)
    assert ("money", receipts[3].receipt_id, "quota_remaining", "quota") in found(result)
    assert QUOTA_EXCEEDED in reason_of(result, "quota")


def test_an_archive_line_removed_is_named(chain, jwks) -> None:
    archive = [r for r in exported(chain) if r["sequence"] != 4]
    result = check(jwks, exported(chain), archive=archive, state=state_of(chain))
    only(result, ("stores", chain[3].receipt_id, "archive", "missing"))
    assert reason_of(result, "missing") == "in the ledger and the state store, missing from the archive"


def test_archived_copies_the_same_twice_are_fine_different_ones_are_not(chain, jwks) -> None:
    copies = [*archive_of(exported(chain)), ArchivedCopy(exported(chain)[1], "replay.jsonl line 1")]
    assert check(jwks, exported(chain), state=state_of(chain), archive_copies=copies).discrepancies == ()
    other = {**exported(chain)[1], "usage_description": "edited"}
    copies = [*archive_of(exported(chain)), ArchivedCopy(other, "late.jsonl line 1")]
    result = check(jwks, exported(chain), state=state_of(chain), archive_copies=copies)
    only(result, ("stores", chain[1].receipt_id, "usage_description", "archive_copies"))


def test_resigned_after_an_edit_with_our_key_is_caught_by_the_stale_link(chain, signer, jwks) -> None:
    ledger = exported(chain)
    ledger[1] = resign(signer, ledger[1], amount="0.25")
    result = check(jwks, ledger, archive=exported(chain), state=state_of(chain))
    edited, after = chain[1].receipt_id, chain[2].receipt_id
    assert ("chain", after, "previous_receipt_hash", "chain_link") in found(result)
    assert ("money", edited, "balance_after", "balance") in found(result)
    assert ("stores", edited, "amount", "copies_differ") in found(result)
    assert ("stores", edited, "event_sha256", "state_row") in found(result)
    assert not any(d.check == "signatures" for d in result.discrepancies)  # it is validly signed


def test_idempotency_a_key_charged_twice_and_a_row_naming_another_receipt(chain, signer, jwks) -> None:
    ledger = exported(chain)
    ledger.append(resign(signer, ledger[4], sequence=6, previous_receipt_hash=ledger[4]["receipt_hash"]))
    result = check(jwks, ledger, archive=ledger, state=None)
    assert ("idempotency", chain[4].receipt_id, "idempotent_key", "idempotency") in found(result)

    state = state_of(chain)
    wrong = IdempotencyRow(state.idempotency[0].idempotent_key, chain[1].receipt_id, state.idempotency[0].event_sha256)
    tampered = CustomerState(**{**state.__dict__, "idempotency": (wrong, *state.idempotency[1:])})
    result = check(jwks, exported(chain), state=tampered)
    assert ("idempotency", chain[1].receipt_id, "receipt_id", "idempotency_row") in found(result)
    assert ("stores", chain[0].receipt_id, "state", "missing") in found(result)


def test_spanner_rows_carry_hash_and_sequence_and_expire(signer, jwks) -> None:
    old = signed_chain(signer, 3, processed_at=["2025-11-01T00:00:00.000000Z"] * 3)
    state = state_of(old, spanner=True, ttl=30 * 24 * 3600)
    assert check(jwks, exported(old), state=state).discrepancies == ()
    wrong = IdempotencyRow(*[*state.idempotency[1].__dict__.values()][:4], "f" * 64, state.idempotency[1].created_at)
    tampered = CustomerState(**{**state.__dict__, "idempotency": (state.idempotency[0], wrong, state.idempotency[2])})
    only(check(jwks, exported(old), state=tampered), ("stores", old[1].receipt_id, "receipt_hash", "state_row"))

    expired = CustomerState(**{**state.__dict__, "idempotency": state.idempotency[1:]})  # past the 30-day TTL
    result = check(jwks, exported(old), state=expired)
    assert result.discrepancies == () and result.tally.set_aside == {"expired_state_rows": 1}
    recent = signed_chain(signer, 3, processed_at=["2026-01-25T12:00:00.000000Z"] * 3)
    state = state_of(recent, spanner=True, ttl=30 * 24 * 3600)
    gone = CustomerState(**{**state.__dict__, "idempotency": state.idempotency[1:]})  # cannot have expired yet
    only(check(jwks, exported(recent), state=gone), ("stores", recent[0].receipt_id, "state", "missing"))


def test_the_cut_leaves_later_receipts_for_the_next_run(signer, jwks) -> None:
    times = ["2026-01-25T12:00:00.000000Z"] * 3 + ["2026-01-25T13:00:05.000000Z", "2026-01-25T13:00:06.000000Z"]
    receipts = signed_chain(signer, 5, processed_at=times)
    at_cut = state_of(receipts[:3])  # the state store read at 13:00: head 3
    result = check(jwks, exported(receipts), state=at_cut)
    assert result.discrepancies == ()
    assert result.tally.set_aside == {"after_cut": 2} and result.tally.receipts == 3

    # Receipts past the head that claim to be older than the cut are not in flight: they are named.
    early = signed_chain(signer, 5)
    result = check(jwks, exported(early), state=state_of(early[:3]))
    assert ("stores", early[3].receipt_id, "state", "missing") in found(result)
    assert ("chain", early[4].receipt_id, "chain_head", "chain_head") in found(result)


def test_a_receipt_dated_past_the_read_is_checked_not_set_aside(signer, jwks) -> None:
    from datetime import UTC, datetime

    receipts = signed_chain(signer, 2, processed_at=["2026-01-25T12:00:00Z", "2099-01-01T00:00:00Z"])
    read_at = datetime(2026, 1, 25, 13, 1, tzinfo=UTC)
    result = check(jwks, exported(receipts), state=state_of(receipts[:1]), read_at=read_at)
    assert ("stores", receipts[1].receipt_id, "state", "missing") in found(result)


def test_settle_seconds_excuse_receipts_on_their_way_to_the_archive(signer, jwks) -> None:
    receipts = signed_chain(signer, 3, processed_at=["2026-01-25T12:00:00Z"] * 2 + ["2026-01-25T12:59:30Z"])
    ledger, archive = exported(receipts), exported(receipts)[:2]
    strict = check(jwks, ledger, archive=archive, state=state_of(receipts))
    only(strict, ("stores", receipts[2].receipt_id, "archive", "missing"))
    settled = check(jwks, ledger, archive=archive, state=state_of(receipts), scope=Scope("both", AS_OF, 60))
    assert settled.discrepancies == () and settled.tally.set_aside == {"not_yet_archived": 1}


def test_source_archive_checks_the_archive_as_the_chain(chain, jwks) -> None:
    archive = [r for r in exported(chain) if r["sequence"] != 2]
    result = check(jwks, [], archive=archive, state=state_of(chain), scope=Scope("archive", AS_OF))
    assert ("chain", chain[2].receipt_id, "sequence", "sequence") in found(result)
    assert ("stores", chain[1].receipt_id, "archive", "missing") in found(result)
    assert not any(d.source == "ledger" for d in result.discrepancies)


def test_a_customer_with_no_state_rows_at_all(chain, jwks) -> None:
    empty = CustomerState(CUSTOMER, None, None, {}, {}, {}, ())
    result = check(jwks, exported(chain), state=empty)
    assert ("chain", chain[4].receipt_id, "chain_head", "chain_head") in found(result)
    assert ("money", chain[4].receipt_id, "balances[USD]", "state_row") in found(result)
    assert sum(d.field == "state" for d in result.discrepancies) == 5


def test_archive_lines_that_are_not_receipts_are_named() -> None:
    assert isinstance(archived_copy(b'{"customer_id":"c","x":1}', "f line 1"), ArchivedCopy)
    for line in (b"{broken", b"[1]", b'{"customer_id":1}', b"\xff", b'{"a":1,"a":2}'):
        problem = archived_copy(line, "f.jsonl line 7")
        assert isinstance(problem, Discrepancy), line
        assert problem.check == "stores" and problem.rule == "unreadable" and "f.jsonl line 7" in problem.reason


def test_differing_fields_compares_as_json() -> None:
    assert differing_fields({"a": 1, "b": "x"}, {"a": 1.0, "b": "x"}) == []
    assert differing_fields({"a": "1", "b": 2}, {"a": 1, "c": 2}) == ["a", "b", "c"]


def test_archived_copies_are_taken_in_line_order_not_text_order() -> None:
    first = {"receipt_id": "r_a", "customer_id": "c", "sequence": 1, "amount": "1.00"}
    later = {**first, "amount": "2.00"}
    copies = [ArchivedCopy(later, "f.jsonl line 10"), ArchivedCopy(first, "f.jsonl line 2")]
    groups, found = distinct_copies("c", copies)
    assert [held.where for held in groups["r_a"]] == ["f.jsonl line 2", "f.jsonl line 10"]
    assert [d.field for d in found] == ["amount"]
    assert "f.jsonl line 2 and f.jsonl line 10" in found[0].reason


def test_an_archive_line_carrying_another_receipts_signature_is_named_by_both_ids(chain, jwks) -> None:
    """Line 3 keeps receipt 3's fields but carries receipt 4's signature: the findings name
    the receipt the signature proves, and the line itself (where, and the receipt_id it
    states), so an auditor opens line 3, not line 4."""
    archive = exported(chain)
    archive[2] = {**archive[2], "signature": archive[3]["signature"]}
    line_id, signed_id = chain[2].receipt_id, chain[3].receipt_id
    line = "receipts-2026-01-25T10.jsonl line 3"

    result = check(jwks, [], archive=archive, state=state_of(chain), scope=Scope("archive", AS_OF))
    about_line = [d for d in result.discrepancies if d.where == line]
    assert about_line and {d.check for d in about_line} >= {"chain", "signatures"}
    assert all((d.receipt_id, d.stated_receipt_id) == (signed_id, line_id) for d in about_line)
    untouched = [d for d in result.discrepancies if d.where == "receipts-2026-01-25T10.jsonl line 4"]
    assert all(d.stated_receipt_id is None for d in untouched)

    result = check(jwks, exported(chain), archive=archive, state=state_of(chain))
    [differs] = result.discrepancies
    assert (differs.receipt_id, differs.field, differs.rule, differs.where) == (
        line_id,
        "signature",
        "copies_differ",
        line,
    )
    assert differs.stated_receipt_id is None  # the line says what the ledger's receipt says
