"""Credit notes (receipt contract v2) in the domain: the event fields `type` and `corrects`,
their fingerprint, and the chain's credit rules (receipts.credits, receipts.ledger): the
balance down, the quota given back, every refusal, credits of one charge seeing each other."""

import hashlib

import pytest
import rfc8785

from receipts.contract import contract_problem
from receipts.credits import (
    CREDIT_CURRENCY_MISMATCH,
    CREDIT_EXCEEDS_CHARGE,
    NOT_A_CHARGE,
    UNKNOWN_RECEIPT,
    ChargeBook,
    ChargeRecord,
    CreditTally,
    credit_refusal,
)
from receipts.events import INVALID_CORRECTS, INVALID_ENTITLEMENT_ID, INVALID_TYPE, MISSING_FIELD, Event
from receipts.ledger import ACCEPTED, REJECTED, ChainState, Entitlement
from tests.conftest import event_bytes, make_event
from tests.event_messages import assert_only, invalid

CHARGE_ID = make_event(customer_id="cust_1", idempotent_key="charge-1").receipt_id
NOW = "2026-01-25T12:00:00.000000Z"


def credit_event(key: str = "credit-1", amount: str = "2.00", corrects: str = CHARGE_ID, **fields) -> Event:
    return make_event(idempotent_key=key, amount=amount, type="credit", corrects=corrects, **fields)


# -- the event -------------------------------------------------------------------------


def test_a_credit_names_the_receipt_it_corrects() -> None:
    event = credit_event()
    assert (event.kind, event.corrects, event.amount) == ("credit", CHARGE_ID, "2.00")
    assert event.normalized() == {**make_event(idempotent_key="credit-1", amount="2.00").normalized(),
                                  "type": "credit", "corrects": CHARGE_ID}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"type": "credit"}, "corrects", MISSING_FIELD),
        ({"corrects": CHARGE_ID}, "corrects", INVALID_CORRECTS),  # a charge corrects nothing
        ({"type": "charge", "corrects": CHARGE_ID}, "corrects", INVALID_CORRECTS),
        ({"type": "credit", "corrects": "r_short"}, "corrects", INVALID_CORRECTS),
        ({"type": "credit", "corrects": CHARGE_ID.upper()}, "corrects", INVALID_CORRECTS),
        ({"type": "credit", "corrects": 5}, "corrects", INVALID_CORRECTS),
        ({"type": "refund"}, "type", INVALID_TYPE),
        ({"type": ["credit"]}, "type", INVALID_TYPE),
        (
            {"type": "credit", "corrects": CHARGE_ID, "entitlement_id": "ent_1"},
            "entitlement_id",
            INVALID_ENTITLEMENT_ID,
        ),
    ],
)
def test_type_and_corrects_break_their_rules_with_a_clear_reason(fields: dict, field: str, reason: str) -> None:
    assert_only(invalid(event_bytes(**fields)), field, reason)


def test_a_charge_keeps_its_v1_fingerprint_whether_or_not_it_says_type_charge() -> None:
    implicit, explicit = make_event(), make_event(type="charge")
    assert implicit == explicit and implicit.event_sha256 == explicit.event_sha256
    v1_fields = {
        "idempotent_key": "evt-1", "customer_id": "cust_1", "amount": "150.00", "currency": "USD",
        "timestamp": "2026-01-25T10:30:45Z", "entitlement_id": None, "usage_description": None,
    }  # fmt: skip
    assert implicit.event_sha256 == hashlib.sha256(rfc8785.dumps(v1_fields)).hexdigest()


def test_the_fingerprint_covers_type_and_corrects() -> None:
    charge = make_event(idempotent_key="k", amount="2.00")
    credit = credit_event(key="k")
    other = credit_event(key="k", corrects=make_event(idempotent_key="charge-2").receipt_id)
    assert len({charge.event_sha256, credit.event_sha256, other.event_sha256}) == 3  # so a retry that differs conflicts


# -- the rules --------------------------------------------------------------------------


def charge_record(amount: int = 500, credited: int = 0, kind: str = "charge", currency: str = "USD") -> ChargeRecord:
    return ChargeRecord(CHARGE_ID, kind, amount, currency, "ent_1", credited)


@pytest.mark.parametrize(
    ("charge", "event", "reason"),
    [
        (None, credit_event(), UNKNOWN_RECEIPT),
        (charge_record(kind="credit"), credit_event(), NOT_A_CHARGE),
        (charge_record(currency="EUR"), credit_event(currency="USD"), CREDIT_CURRENCY_MISMATCH),
        (charge_record(credited=301), credit_event(amount="2.00"), CREDIT_EXCEEDS_CHARGE),
        (charge_record(credited=300), credit_event(amount="2.00"), None),  # exactly the charge
        (charge_record(), credit_event(amount="5.00"), None),
        (charge_record(), credit_event(amount="5.01"), CREDIT_EXCEEDS_CHARGE),
    ],
)
def test_credit_refusal(charge: ChargeRecord | None, event: Event, reason: str | None) -> None:
    assert credit_refusal(event, charge) == reason


def charged(entitlement: Entitlement | None = None) -> tuple[ChainState, ChargeBook]:
    state, book = ChainState("cust_1"), ChargeBook()
    receipt = state.append(make_event(idempotent_key="charge-1", amount="5.00", entitlement_id="ent_1"),
                           entitlement, "kid", NOW, book)  # fmt: skip
    assert receipt.receipt_id == CHARGE_ID and receipt.body["status"] == ACCEPTED
    return state, book


def test_an_accepted_credit_moves_the_balance_down_and_gives_the_quota_back() -> None:
    cap = Entitlement("cust_1", "ent_1", 800, "USD")
    state, book = charged(cap)
    credit = credit_event(amount="2.00")
    assert state.entitlement_of(credit, book) == "ent_1"
    receipt = state.append(credit, cap, "kid", NOW, book)
    body = receipt.body
    assert (body["v"], body["type"], body["corrects"], body["status"]) == (2, "credit", CHARGE_ID, ACCEPTED)
    assert (body["balance_after"], body["quota_remaining"], body["entitlement_id"]) == ("3.00", "5.00", None)
    assert (receipt.entitlement_id, receipt.entitlement_used_minor, receipt.credited) == (
        "ent_1",
        300,
        (CHARGE_ID, 200),
    )
    assert state.balances == {"USD": 300} and state.usage == {"ent_1": 300}
    assert book.get(CHARGE_ID).credited_minor == 200
    assert contract_problem(body, "kid") is None
    # the quota given back is spendable: 5.00 used would not fit under 8.00 with 5.00 used before
    again = state.append(make_event(idempotent_key="charge-2", amount="5.00", entitlement_id="ent_1"),
                         cap, "kid", NOW, book)  # fmt: skip
    assert again.body["status"] == ACCEPTED and again.body["quota_remaining"] == "0.00"


def test_credits_of_one_charge_see_each_other_and_stop_at_its_amount() -> None:
    state, book = charged()
    outcomes = [
        state.append(credit_event(key=f"credit-{n}", amount=amount), None, "kid", NOW, book).body
        for n, amount in enumerate(["3.00", "2.01", "2.00", "0.01"])
    ]
    assert [(b["status"], b["reason"], b["balance_after"]) for b in outcomes] == [
        (ACCEPTED, None, "2.00"),
        (REJECTED, CREDIT_EXCEEDS_CHARGE, "2.00"),
        (ACCEPTED, None, "0.00"),
        (REJECTED, CREDIT_EXCEEDS_CHARGE, "0.00"),
    ]
    assert state.usage == {"ent_1": 0} and book.get(CHARGE_ID).credited_minor == 500


def test_each_refused_credit_is_a_signed_rejection_that_moves_nothing() -> None:
    state, book = charged()
    first = state.append(credit_event(key="credit-1", amount="1.00"), None, "kid", NOW, book)
    cases = {
        UNKNOWN_RECEIPT: credit_event(key="c-unknown", corrects=make_event(idempotent_key="nothing").receipt_id),
        NOT_A_CHARGE: credit_event(key="c-of-credit", corrects=first.receipt_id, amount="0.50"),
        CREDIT_CURRENCY_MISMATCH: credit_event(key="c-eur", currency="EUR"),
        CREDIT_EXCEEDS_CHARGE: credit_event(key="c-more", amount="4.01"),
    }
    for reason, event in cases.items():
        before = (dict(state.balances), dict(state.usage))
        receipt = state.append(event, None, "kid", NOW, book)
        assert (receipt.body["status"], receipt.body["reason"]) == (REJECTED, reason)
        assert (receipt.credited, receipt.entitlement_used_minor, receipt.body["quota_remaining"]) == (None, None, None)
        assert (dict(state.balances), dict(state.usage)) == before
        assert contract_problem(receipt.body, "kid") is None
    assert book.get(CHARGE_ID).credited_minor == 100


def test_a_rejected_charge_cannot_be_credited_and_another_customers_is_unknown() -> None:
    state, book = ChainState("cust_1"), ChargeBook()
    cap = Entitlement("cust_1", "ent_1", 100, "USD")
    state.append(make_event(idempotent_key="charge-1", amount="5.00", entitlement_id="ent_1"), cap, "kid", NOW, book)
    receipt = state.append(credit_event(), None, "kid", NOW, book)
    assert receipt.body["reason"] == UNKNOWN_RECEIPT
    lookups = []
    other = ChainState("cust_2").append(
        credit_event(customer_id="cust_2"), None, "kid", NOW, ChargeBook(lambda rid: lookups.append(rid))
    )
    assert other.body["reason"] == UNKNOWN_RECEIPT and lookups == [CHARGE_ID]


def test_the_book_asks_the_store_once_and_keeps_what_the_batch_did() -> None:
    asked = []
    stored = charge_record(credited=100)

    def lookup(receipt_id: str) -> ChargeRecord | None:
        asked.append(receipt_id)
        return stored if receipt_id == CHARGE_ID else None

    state, book = ChainState("cust_1", 1, "a" * 64, {"USD": 400}), ChargeBook(lookup)
    first = state.append(credit_event(key="c-1", amount="3.00"), None, "kid", NOW, book)
    second = state.append(credit_event(key="c-2", amount="1.01"), None, "kid", NOW, book)
    assert (first.body["status"], second.body["reason"]) == (ACCEPTED, CREDIT_EXCEEDS_CHARGE)
    assert asked == [CHARGE_ID] and first.credited == (CHARGE_ID, 400)


def test_the_tally_finds_what_a_forged_chain_credits_wrongly() -> None:
    tally = CreditTally()
    charge = {"receipt_id": CHARGE_ID, "type": "charge", "currency": "USD", "entitlement_id": None}
    tally.charge(charge, 500)
    credit = {"type": "credit", "corrects": CHARGE_ID, "currency": "USD", "receipt_id": "r_" + "c" * 26}
    problem, record = tally.credit(credit, 300)
    assert problem is None and (record.receipt_id, record.credited_minor) == (CHARGE_ID, 300)
    problem, record = tally.credit({**credit, "receipt_id": "r_" + "d" * 26}, 201)
    assert "past its amount" in problem and record.credited_minor == 501
    assert "no accepted receipt" in tally.credit({**credit, "corrects": "r_" + "e" * 26}, 1)[0]
    assert "a credit" in tally.credit({**credit, "corrects": "r_" + "c" * 26}, 1)[0]
    assert "is in EUR" in tally.credit({**credit, "currency": "EUR", "receipt_id": "r_" + "f" * 26}, 1)[0]
