"""Which receipts a statement holds, and what they add up to: the rules every close and
every check share (receipts.statements.close builds with them, receipts.statements.verify
recomputes with them).

A customer's statement for period P, closed at T after a previous statement that closed at
chain sequence S (0 for the first), holds the receipts of the chain up to the close
(`closing_sequence`: the last of the leading receipts processed at or before T) whose
event time is

- in P (its own period's lines), or
- before P's start and whose sequence is past S (late: it arrived after the statement of
  its own period closed).

So each receipt is on exactly one statement, its own period's or the first one closed
after it arrived, provided periods close in order (receipts.statements.close refuses
anything else). Rejected receipts are lines too (they are part of the history the
customer is shown) and add nothing to the money.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from receipts.ledger import ACCEPTED
from receipts.money import format_amount, parse_amount
from receipts.statements.periods import Period, instant_key
from receipts.tlog.hashing import EMPTY_ROOT, leaf_hash, node_hash

CHARGE, CREDIT = "charge", "credit"


@dataclass(frozen=True)
class Line:
    sequence: int
    receipt_hash: str  # lowercase hex, the log's entry for the receipt
    late: bool
    receipt: Mapping[str, Any]  # the exported receipt (its body fields and receipt_hash)


def receipt_type(body: Mapping[str, Any]) -> str:
    """A v1 receipt is a charge; v2 says which it is."""
    return body.get("type", CHARGE) if body.get("v") != 1 else CHARGE


def closing_sequence(chain: Sequence[Mapping[str, Any]], closed_at: str) -> int:
    """The last sequence of the chain's leading run of receipts processed at or before
    `closed_at` (0 when the first was processed after it). `chain` starts at sequence 1."""
    bound = instant_key(closed_at)
    last = 0
    for receipt in chain:
        if instant_key(receipt["processed_at"]) > bound:
            break
        last = receipt["sequence"]
    return last


def select_lines(chain: Sequence[Mapping[str, Any]], period: Period, closing: int, previous_closing: int) -> list[Line]:
    """The lines of `period`'s statement, in sequence order, from the chain (starting at
    sequence 1) up to `closing`, after a previous statement that closed at `previous_closing`."""
    start, end = instant_key(period.start), instant_key(period.end)
    lines = []
    for receipt in chain:
        sequence = receipt["sequence"]
        if sequence > closing:
            break
        when = instant_key(receipt["event_timestamp"])
        if start <= when < end:
            lines.append(Line(sequence, receipt["receipt_hash"], False, receipt))
        elif when < start and sequence > previous_closing:
            lines.append(Line(sequence, receipt["receipt_hash"], True, receipt))
    return lines


def lines_root(receipt_hashes: Iterable[str]) -> str:
    """The RFC 6962 Merkle tree hash over the lines' receipt hashes (each entry the hash's 32
    raw bytes), in sequence order: what a log of exactly these receipts would sign."""
    # Fold left to right, keeping one perfect subtree per set bit of the count: the stack
    # holds (size, hash) with sizes strictly decreasing, as RFC 6962's split requires.
    stack: list[tuple[int, bytes]] = []
    for text in receipt_hashes:
        size, node = 1, leaf_hash(bytes.fromhex(text))
        while stack and stack[-1][0] == size:
            size, node = size * 2, node_hash(stack.pop()[1], node)
        stack.append((size, node))
    if not stack:
        return EMPTY_ROOT.hex()
    root = stack.pop()[1]
    while stack:
        root = node_hash(stack.pop()[1], root)
    return root.hex()


def totals(lines: Iterable[Line]) -> dict[str, dict[str, Any]]:
    """Per currency: charged and credited (accepted receipts only), net = charged - credited,
    accepted and rejected line counts, and the late lines' count and net. Amounts as text
    with the currency's minor digits, like a receipt's."""
    sums: dict[str, dict[str, int]] = {}
    for line in lines:
        body = line.receipt
        currency = body["currency"]
        entry = sums.setdefault(
            currency, {"charged": 0, "credited": 0, "accepted": 0, "rejected": 0, "late_lines": 0, "late_net": 0}
        )
        entry["late_lines"] += line.late
        if body["status"] != ACCEPTED:
            entry["rejected"] += 1
            continue
        entry["accepted"] += 1
        amount = parse_amount(body["amount"], currency)
        signed = -amount if receipt_type(body) == CREDIT else amount
        entry["credited" if signed < 0 else "charged"] += abs(signed)
        if line.late:
            entry["late_net"] += signed
    return {
        currency: {
            "charged": format_amount(entry["charged"], currency),
            "credited": format_amount(entry["credited"], currency),
            "net": format_amount(entry["charged"] - entry["credited"], currency),
            "accepted": entry["accepted"],
            "rejected": entry["rejected"],
            "late_lines": entry["late_lines"],
            "late_net": format_amount(entry["late_net"], currency),
        }
        for currency, entry in sorted(sums.items())
    }
