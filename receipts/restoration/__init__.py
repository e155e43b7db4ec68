"""Restore: which of a customer's archived receipts may be written back into a damaged store.

Only a verified prefix: the archive's distinct copies in sequence order from 1, checked with
`receipts.verify.verify_chain` (signature, canonical form, hash, links, sequences, balances),
cut at the first receipt that is missing, ambiguous (two different copies) or fails a check.
Receipts the store holds past that prefix (not yet archived) are kept when they extend it
and verify with it; otherwise the customer is left as it is. Pure: no I/O.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from receipts.keys import Jwks
from receipts.money import format_amount
from receipts.reconciliation.copies import Held
from receipts.reconciliation.findings import ArchivedCopy
from receipts.reconciliation.money import add_up
from receipts.reconciliation.stores import distinct_copies
from receipts.rows import LedgerEntry
from receipts.verify import verify_chain

Receipt = dict[str, Any]
MISSING, AMBIGUOUS = "missing", "archive_copies"  # cut-short checks of our own, beside verify's


@dataclass(frozen=True)
class CutShort:
    """The first archived receipt that could not be restored, and why."""

    sequence: int | None
    receipt_id: str | None
    check: str  # a receipts.verify check name, MISSING or AMBIGUOUS
    reason: str
    where: str | None = None  # the archive file and line


@dataclass(frozen=True)
class Restorable:
    """A customer's verified archived chain, sequences 1..n in order, and where it stopped."""

    customer_id: str
    receipts: tuple[Receipt, ...]
    lines: int  # archive lines read for this customer
    duplicates: int  # identical lines beyond the first (a replayed window): harmless
    cut_short: CutShort | None = None


@dataclass(frozen=True)
class Extended:
    """What to write: the verified archived chain, plus the store's own receipts past it when
    they extend it and verify (`kept`); or, in `refused`, why the customer is left untouched."""

    receipts: tuple[Receipt, ...]
    kept: int = 0
    refused: str | None = None


def restorable_chain(customer_id: str, copies: Iterable[ArchivedCopy], jwks: Jwks) -> Restorable:
    """The longest prefix of the archived chain (from sequence 1) in which every receipt is
    there once, in one version, and verifies with every receipt before it."""
    copies = list(copies)
    groups, _ = distinct_copies(customer_id, copies)  # identical lines once; different ones kept apart
    distinct = sum(len(group) for group in groups.values())
    chosen = sorted((group[0] for group in groups.values()), key=Held.position)
    ambiguous = {id(group[0]) for group in groups.values() if len(group) > 1}

    cut: CutShort | None = None
    end = len(chosen)
    for index, held in enumerate(chosen):
        sequence = held.position()[1]
        if sequence != index + 1:
            reason = (
                f"sequence {index + 1} is missing from the archive"
                if isinstance(sequence, int) and sequence > index + 1
                else f"sequence {sequence} where {index + 1} is expected"
            )
            cut, end = CutShort(index + 1, None, MISSING, reason, held.where), index
            break
        if id(held) in ambiguous:
            others = [other.where for other in groups[held.receipt_id(None)][1:]]
            reason = f"two different archived copies of this receipt: {held.where} and {', '.join(others)}"
            cut, end = CutShort(sequence, held.receipt_id(None), AMBIGUOUS, reason, held.where), index
            break
    results = verify_chain([held.receipt for held in chosen[:end]], jwks)
    for index, result in enumerate(results):
        if not result.ok:
            failure, held = result.failures[0], chosen[index]
            cut = CutShort(index + 1, held.receipt_id(result.body), failure.check, failure.reason, held.where)
            end = index
            break
    verified = tuple(held.receipt for held in chosen[:end])
    return Restorable(customer_id, verified, len(copies), len(copies) - distinct, cut)


def extended_by_store(
    restorable: Restorable, ledger: Iterable[LedgerEntry], head_sequence: int | None, jwks: Jwks
) -> Extended:
    """The chain to restore, given the customer's ledger as the store holds it and its chain
    head. A restore never moves a chain head backwards: receipts past the verified chain are
    either proven (they extend it and verify) or left for a person to look at."""
    base = restorable.receipts
    held = sorted((Held.of_ledger(entry) for entry in ledger), key=Held.position)
    tail = [copy for copy in held if copy.position()[0] > len(base)]
    chain: Sequence[Receipt] = base
    if tail:
        chain = (*base, *(copy.receipt for copy in tail))
        results = verify_chain(chain, jwks)
        for offset, (copy, result) in enumerate(zip(tail, results[len(base) :], strict=True)):
            sequence = len(base) + offset + 1
            problem = None
            if copy.position()[0] != sequence:
                problem = f"the ledger has no receipt at sequence {sequence}"
            elif not result.ok:
                failure = result.failures[0]
                problem = f"sequence {sequence} ({copy.receipt_id(result.body)}) {failure.check}: {failure.reason}"
            if problem:
                return Extended(
                    (),
                    refused=f"the store holds {len(tail)} receipt(s) past the verified archived chain "
                    f"(which ends at sequence {len(base)}) that do not extend it: {problem}; nothing was "
                    "written for this customer: look at them with `receipts export --customer`",
                )
    if head_sequence is not None and head_sequence > len(chain):
        return Extended(
            (),
            refused=f"the state store's chain head is sequence {head_sequence}, past every verified receipt "
            f"(sequence {len(chain)}): restoring would rewind the chain, so nothing was written for this customer",
        )
    return Extended(tuple(chain), len(chain) - len(base))


def state_rows(
    receipts: Sequence[Receipt],
) -> tuple[dict[str, tuple[str, int]], dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """The balance rows (currency -> (amount text, as of sequence)), entitlement usage rows
    (entitlement -> (minor units, as of sequence)) and charge credit rows (charge receipt id ->
    (minor units, as of sequence)) a verified chain leaves, by the reconciliation's own
    arithmetic (receipts.reconciliation.money.add_up)."""
    totals = add_up(receipts)
    balances = {
        currency: (format_amount(minor, currency), receipts[totals.last_in[currency]]["sequence"])
        for currency, minor in totals.balances.items()
    }
    usage = {
        entitlement: (minor, receipts[totals.last_of[entitlement]]["sequence"])
        for entitlement, minor in totals.used.items()
    }
    credits = {
        receipt_id: (minor, receipts[totals.last_credit[receipt_id]]["sequence"])
        for receipt_id, minor in totals.credited.items()
    }
    return balances, usage, credits
