"""Credit notes (receipt contract v2): the rules a credit obeys against the charge it corrects.

A credit names the receipt id of an accepted charge of the same customer (`corrects`). It is
refused, with a signed `rejected` receipt that moves nothing, when there is no such charge,
when it corrects a credit, when its currency is not the charge's, or when the credits of the
charge would add up to more than the charge. Pure rules over small values: the chain
(receipts.ledger) applies them, the stores answer `ChargeRecord`s, the reconciliation and the
restore recompute them from a chain (`CreditTally`).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from receipts.events import CHARGE, CREDIT, Event
from receipts.money import AmountError, parse_amount

ACCEPTED = "accepted"  # receipts.ledger's (which builds on these rules)

UNKNOWN_RECEIPT = "unknown_receipt"  # no accepted receipt of this customer under that id
NOT_A_CHARGE = "not_a_charge"  # it names a credit
CREDIT_CURRENCY_MISMATCH = "currency_mismatch"  # not the charge's currency
CREDIT_EXCEEDS_CHARGE = "credit_exceeds_charge"  # the charge's credits would add up to more than it
CREDIT_REASONS = (UNKNOWN_RECEIPT, NOT_A_CHARGE, CREDIT_CURRENCY_MISMATCH, CREDIT_EXCEEDS_CHARGE)


@dataclass(frozen=True)
class ChargeRecord:
    """What a credit needs to know of an accepted receipt it may correct."""

    receipt_id: str
    kind: str  # CHARGE or CREDIT (a v1 receipt is a charge)
    amount_minor: int
    currency: str
    entitlement_id: str | None
    credited_minor: int = 0  # what accepted credits of it add up to so far

    @classmethod
    def of_body(cls, body: Mapping[str, Any], amount_minor: int, credited_minor: int = 0) -> "ChargeRecord":
        """The record of an accepted signed body (its amount already parsed)."""
        return cls(
            body["receipt_id"],
            body.get("type", CHARGE),
            amount_minor,
            body["currency"],
            body.get("entitlement_id"),
            credited_minor,
        )


def stored_charge(body: Mapping[str, Any], customer_id: str, credited_minor: int = 0) -> ChargeRecord | None:
    """A store's receipt body as what a credit of `customer_id` may correct: None unless it is
    an accepted receipt of that customer (a rejected charge charged nothing to correct)."""
    if body.get("customer_id") != customer_id or body.get("status") != ACCEPTED:
        return None
    return ChargeRecord.of_body(body, parse_amount(body["amount"], body["currency"]), credited_minor)


def credit_refusal(event: Event, charge: ChargeRecord | None) -> str | None:
    """Why `event` (a credit) may not correct `charge` (None: no accepted receipt of the
    customer under `event.corrects`), or None when it may."""
    if charge is None:
        return UNKNOWN_RECEIPT
    if charge.kind != CHARGE:
        return NOT_A_CHARGE
    if charge.currency != event.currency:
        return CREDIT_CURRENCY_MISMATCH
    if charge.credited_minor + event.amount_minor > charge.amount_minor:
        return CREDIT_EXCEEDS_CHARGE
    return None


class ChargeBook:
    """The receipts one batch of a customer's chain may correct: each read from the store on
    first ask (`lookup`), then kept current as the batch goes, so two credits of one charge in
    one batch see each other's amounts and a charge made earlier in the batch can be credited.
    It lives for one batch: after a refusal the store is asked again."""

    def __init__(self, lookup: Callable[[str], ChargeRecord | None] | None = None) -> None:
        self._lookup = lookup
        self._known: dict[str, ChargeRecord | None] = {}

    def get(self, receipt_id: str) -> ChargeRecord | None:
        if receipt_id not in self._known:
            self._known[receipt_id] = self._lookup(receipt_id) if self._lookup else None
        return self._known[receipt_id]

    def put(self, record: ChargeRecord) -> None:
        self._known[record.receipt_id] = record


def credited(charge: ChargeRecord, amount_minor: int) -> ChargeRecord:
    """`charge` after an accepted credit of `amount_minor`."""
    return replace(charge, credited_minor=charge.credited_minor + amount_minor)


class CreditTally:
    """A chain's accepted receipts as it is read in order (the reconciliation and the restore),
    each as a `ChargeRecord`, credited-so-far included: what the chain step knew at each credit."""

    def __init__(self) -> None:
        self.records: dict[str, ChargeRecord] = {}

    def charge(self, body: Mapping[str, Any], amount_minor: int) -> None:
        """Take an accepted charge into account."""
        self.records[body["receipt_id"]] = ChargeRecord.of_body(body, amount_minor)

    def credit(self, body: Mapping[str, Any], amount_minor: int) -> tuple[str | None, ChargeRecord | None]:
        """Take an accepted credit into account: (what is wrong with it against the chain read
        so far, or None; the charge it corrects, its credits now including this one, if any)."""
        corrects = body.get("corrects")
        charge = self.records.get(corrects) if isinstance(corrects, str) else None
        problem = None
        if charge is None:
            problem = f"corrects {str(corrects)[:40]!r}, which is no accepted receipt before it in this chain"
        elif charge.kind != CHARGE:
            problem = f"corrects {corrects}, a credit: only charges are corrected"
        elif charge.currency != body.get("currency"):
            problem = f"is in {body.get('currency')}, but the charge {corrects} it corrects is in {charge.currency}"
        elif charge.credited_minor + amount_minor > charge.amount_minor:
            problem = f"takes the credits of charge {corrects} past its amount ({charge.amount_minor} minor units)"
        if charge is not None:
            charge = credited(charge, amount_minor)
            self.records[charge.receipt_id] = charge
        if isinstance(body.get("receipt_id"), str):
            self.records[body["receipt_id"]] = ChargeRecord.of_body(body, amount_minor)
        return problem, charge


@dataclass(frozen=True)
class CreditStanding:
    """What a charge's credit notes add up to, from the signed receipts alone (what its page
    shows): `credited_minor` by its accepted credits, `remaining_minor` still creditable (0
    for a rejected charge or a credit, which nothing may correct)."""

    currency: str
    credited_minor: int
    remaining_minor: int


def credit_standing(charge: Mapping[str, Any], credits: Iterable[Mapping[str, Any]]) -> CreditStanding | None:
    """The standing of `charge` (a receipt body) given the credits that name it, or None when
    its amount or currency cannot be read (a damaged record: the checks say what is wrong)."""
    currency = charge.get("currency")
    try:
        amount = parse_amount(charge.get("amount"), currency)
        credited_minor = sum(
            parse_amount(credit["amount"], currency)
            for credit in credits
            if credit.get("status") == ACCEPTED
            and credit.get("corrects") == charge.get("receipt_id")
            and credit.get("currency") == currency
        )
    except (AmountError, KeyError, TypeError, ValueError):
        return None
    creditable = charge.get("status") == ACCEPTED and charge.get("type", CHARGE) == CHARGE
    return CreditStanding(currency, credited_minor, max(amount - credited_minor, 0) if creditable else 0)


__all__ = [
    "CREDIT",
    "CREDIT_CURRENCY_MISMATCH",
    "CREDIT_EXCEEDS_CHARGE",
    "CREDIT_REASONS",
    "NOT_A_CHARGE",
    "UNKNOWN_RECEIPT",
    "ChargeBook",
    "ChargeRecord",
    "CreditStanding",
    "CreditTally",
    "credit_refusal",
    "credit_standing",
    "credited",
]
