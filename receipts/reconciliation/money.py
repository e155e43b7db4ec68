"""Money: balances, entitlement usage and charge credits recomputed from the accepted
receipts must equal the state store's rows, each receipt's quota_remaining must fit its
status, and each accepted credit must correct an accepted charge before it in the chain, in
its currency, without the charge's credits passing its amount (receipt contract v2).

Every `balance_after` moving by exactly the accepted amount is verify_chain's check.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from receipts.credits import CREDIT, CreditTally
from receipts.currencies import MINOR_UNITS
from receipts.ledger import ACCEPTED, QUOTA_EXCEEDED
from receipts.money import AmountError, format_amount, parse_amount, parse_balance, to_decimal
from receipts.reconciliation.findings import LEDGER, MONEY, STATE, Copy, Discrepancy
from receipts.rows import AmountRow, CustomerState

Position = tuple[Any, Copy]  # (sequence, copy) of the receipt a row is as of


@dataclass(frozen=True)
class Totals:
    """What a chain adds up to: per currency the accepted minor units (charges less credits),
    per entitlement the minor units used (less what credits gave back), per credited charge
    what its credits add up to, and the index (in the chain given) of the last receipt in
    each, which the state store's row is as of; and each accepted credit that breaks a credit
    rule (receipts.credits), by index."""

    balances: dict[str, int]
    used: dict[str, int]
    last_in: dict[str, int]
    last_of: dict[str, int]
    credited: dict[str, int] = field(default_factory=dict)
    last_credit: dict[str, int] = field(default_factory=dict)
    credit_problems: list[tuple[int, str]] = field(default_factory=list)


def add_up(bodies: Sequence[dict[str, Any]]) -> Totals:
    """The balances, entitlement usage and charge credits the state store must hold after these
    signed bodies (one customer's chain, in order): the rows `restore` writes, and those the
    reconciliation compares."""
    totals = Totals({}, {}, {}, {})
    tally = CreditTally()
    for index, body in enumerate(bodies):
        currency = body.get("currency")
        if currency not in MINOR_UNITS:
            continue  # the contract check reports it
        amount = _amount(body.get("amount"), currency)
        charged = amount if body.get("status") == ACCEPTED and amount is not None else 0
        entitlement = body.get("entitlement_id")
        if charged and body.get("type") == CREDIT:
            problem, charge = tally.credit(body, charged)
            if problem:
                totals.credit_problems.append((index, problem))
            if charge is not None:
                totals.credited[charge.receipt_id] = charge.credited_minor
                totals.last_credit[charge.receipt_id] = index
                entitlement = charge.entitlement_id  # the quota the credit gives back
            charged = -charged
        elif charged and isinstance(body.get("receipt_id"), str):
            tally.charge(body, charged)
        totals.balances[currency] = totals.balances.get(currency, 0) + charged
        totals.last_in[currency] = index
        if isinstance(entitlement, str):
            totals.used[entitlement] = totals.used.get(entitlement, 0) + charged
            totals.last_of[entitlement] = index
    return totals


def check_money(
    customer_id: str, chain: Sequence[tuple[dict[str, Any], Copy]], state: CustomerState | None
) -> list[Discrepancy]:
    """`chain`: the signed bodies in chain order, with the copies they were read from."""
    found: list[Discrepancy] = []
    for body, copy in chain:
        currency = body.get("currency")
        if currency in MINOR_UNITS:
            found += _quota(customer_id, body, copy, _amount(body.get("amount"), currency))
    totals = add_up([body for body, _ in chain])
    balances, used = totals.balances, totals.used

    def position(index: int) -> Position:
        body, copy = chain[index]
        return body.get("sequence"), copy

    last_in = {currency: position(index) for currency, index in totals.last_in.items()}
    last_of = {entitlement: position(index) for entitlement, index in totals.last_of.items()}
    for index, problem in totals.credit_problems:
        sequence, copy = position(index)
        reason = f"an accepted credit {problem}"
        found.append(Discrepancy.of(MONEY, customer_id, copy, sequence, "corrects", reason, "credit", LEDGER))
    if state is None:
        return found
    last_credit = {receipt_id: position(index) for receipt_id, index in totals.last_credit.items()}
    for receipt_id in sorted(set(totals.credited) | set(state.credits)):
        found += _compare_row(
            customer_id,
            f"charge_credits[{receipt_id}]",
            f"credited total of charge {receipt_id}",
            state.credits.get(receipt_id),
            totals.credited.get(receipt_id),
            last_credit.get(receipt_id),
            lambda minor: f"{minor} minor units",
            _integer,
            lambda minor: minor,
        )
    for currency in sorted(set(balances) | set(state.balances)):
        found += _compare_row(
            customer_id,
            f"balances[{currency}]",
            f"{currency} balance",
            state.balances.get(currency),
            balances.get(currency),
            last_in.get(currency),
            lambda minor, currency=currency: format_amount(minor, currency),
            _decimal,
            lambda minor, currency=currency: to_decimal(minor, currency),
        )
    for entitlement in sorted(set(used) | set(state.usage)):
        found += _compare_row(
            customer_id,
            f"entitlement_usage[{entitlement}]",
            f"usage of entitlement {entitlement}",
            state.usage.get(entitlement),
            used.get(entitlement),
            last_of.get(entitlement),
            lambda minor: f"{minor} minor units",
            _integer,
            lambda minor: minor,
        )
    return found


def _compare_row(
    customer_id: str,
    field: str,
    what: str,
    row: AmountRow | None,
    recomputed: int | None,
    last: Position | None,
    show: Callable[[int | None], str],
    read_row: Callable[[str], Any],
    as_row: Callable[[int], Any],
) -> list[Discrepancy]:
    """One state row against what the receipts add up to, and the receipt it is as of."""

    def discrepancy(name: str, reason: str, position: Position | None) -> Discrepancy:
        sequence, copy = position or (row.as_of_sequence if row else None, Copy(None))
        return Discrepancy.of(MONEY, customer_id, copy, sequence, name, reason, "state_row", STATE)

    if row is None:
        return [discrepancy(field, f"the state store has no {what}; the receipts add up to {show(recomputed)}", last)]
    if recomputed is None or last is None:
        reason = f"the state store has a {what} of {row.amount} as of sequence {row.as_of_sequence}, but no receipt"
        return [discrepancy(field, reason, None)]
    found = []
    if read_row(row.amount) != as_row(recomputed):
        reason = f"the state store holds a {what} of {row.amount}; the accepted receipts add up to {show(recomputed)}"
        found.append(discrepancy(field, reason, last))
    if row.as_of_sequence != last[0]:
        reason = f"the state store's {what} is as of sequence {row.as_of_sequence}; the last receipt is {last[0]}"
        found.append(discrepancy(f"{field}.as_of_sequence", reason, last))
    return found


def _quota(customer_id: str, body: dict[str, Any], copy: Copy, amount: int | None) -> list[Discrepancy]:
    """An accepted charge never passes its entitlement's limit, and a quota_exceeded rejection
    really would have. (The limit in force at each receipt is not recorded anywhere:
    `entitlements set` overwrites it, so receipts are not compared with today's limit.)"""
    text, currency = body.get("quota_remaining"), body["currency"]
    if text is None or amount is None:
        return []
    remaining = _signed_minor(text, currency)
    accepted, reason = body.get("status") == ACCEPTED, body.get("reason")
    problem = None
    if remaining is None and (accepted or reason == QUOTA_EXCEEDED):
        problem = f"quota_remaining {text!r} is not an amount in {currency}"
    elif accepted and remaining < 0:
        problem = f"an accepted charge left quota_remaining at {text} {currency}: it passed the entitlement's limit"
    elif reason == QUOTA_EXCEEDED and amount <= remaining:
        problem = f"rejected as {QUOTA_EXCEEDED}, but {body['amount']} {currency} fits in quota_remaining {text}"
    if problem is None:
        return []
    sequence = body.get("sequence")
    return [Discrepancy.of(MONEY, customer_id, copy, sequence, "quota_remaining", problem, "quota", LEDGER)]


def _amount(text: Any, currency: str) -> int | None:
    try:
        return parse_amount(text, currency) if isinstance(text, str) else None
    except AmountError:
        return None


def _signed_minor(text: Any, currency: str) -> int | None:
    """quota_remaining may go below zero once a limit is lowered under the usage."""
    if not isinstance(text, str):
        return None
    negative = text.startswith("-")
    minor = parse_balance(text[1:] if negative else text, currency)
    return None if minor is None else -minor if negative else minor


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return value if value.is_finite() else None


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
