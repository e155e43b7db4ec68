"""The server's verdicts as the site shows them. Every verdict comes from
`receipts.verify.verify_chain`; this module only groups its checks under the three
headings people look for and prints their reasons as they are."""

import re
from dataclasses import asdict, dataclass
from typing import Any

from receipts.store import Store
from receipts.verify import (
    BALANCE,
    CANONICAL,
    CHAIN_LINK,
    CONTRACT,
    FORMAT,
    HASH,
    IDEMPOTENCY,
    SEQUENCE,
    SIGNATURE,
    Check,
    Jwks,
    Verification,
    verify_chain,
)
from verifier_site.metrics import count_verification

RECEIPT_ID_PATTERN = re.compile(r"r_[a-z2-7]{26}", re.ASCII)  # receipts.canonical.receipt_id's output
GROUPS = (
    ("signature", "Signature", (FORMAT, SIGNATURE)),
    ("hash", "Canonical hash", (CANONICAL, HASH, CONTRACT)),
    ("chain_link", "Chain link", (IDEMPOTENCY, SEQUENCE, CHAIN_LINK, BALANCE)),
)


@dataclass(frozen=True)
class Headline:
    """One of the three headings and the checks under it, each with a label."""

    key: str
    title: str
    items: tuple[tuple[str, Check], ...]

    @property
    def ok(self) -> bool:
        """Passed only if some check ran and none failed (an early failure skips the rest)."""
        return bool(self.items) and all(check.ok for _, check in self.items)


def headlines(result: Verification, next_result: Verification | None = None) -> list[Headline]:
    """Group a receipt's checks; the next receipt's chain link is about this receipt too."""
    out = []
    for key, title, names in GROUPS:
        items = [(check.check, check) for check in result.checks if check.check in names]
        if key == "chain_link" and next_result is not None:
            items += [
                (f"next receipt: {check.check}", check) for check in next_result.checks if check.check == CHAIN_LINK
            ]
        out.append(Headline(key, title, tuple(items)))
    return out


def result_json(result: Verification, next_result: Verification | None = None) -> dict[str, Any]:
    """A verification as the API and the evidence bundle print it."""
    groups = headlines(result, next_result)
    return {
        "receipt_id": result.receipt_id,
        "customer_id": result.customer_id,
        "sequence": result.sequence,
        "ok": all(group.ok for group in groups),
        "receipt_hash": result.payload_hash,
        "summary": {group.key: group.ok for group in groups},
        "checks": [{"label": label, **asdict(check)} for group in groups for label, check in group.items],
    }


@dataclass(frozen=True)
class ReceiptReport:
    """A stored receipt, its neighbours in the chain, and the server's verification of it and of the
    next receipt (whose chain link is about this one)."""

    receipt: dict[str, Any]
    previous: dict[str, Any] | None
    next: dict[str, Any] | None
    result: Verification
    next_result: Verification | None

    @property
    def headlines(self) -> list[Headline]:
        return headlines(self.result, self.next_result)

    @property
    def ok(self) -> bool:
        return all(group.ok for group in self.headlines)

    @property
    def segment(self) -> list[dict[str, Any]]:
        return [record for record in (self.previous, self.receipt, self.next) if record is not None]

    def as_json(self) -> dict[str, Any]:
        return result_json(self.result, self.next_result)


def neighbours(store: Store, receipt: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The receipts just before and after this one in its customer's chain (one indexed read)."""
    sequence = receipt["sequence"]
    page = store.receipts_page(receipt["customer_id"], max(sequence - 2, 0), 3)
    by_sequence = {record["sequence"]: record for record in page}
    return by_sequence.get(sequence - 1), by_sequence.get(sequence + 1)


def report(store: Store, receipt: dict[str, Any], jwks: Jwks, source: str) -> ReceiptReport:
    """Verify a stored receipt with its neighbours, so its chain link is checked both ways."""
    previous, following = neighbours(store, receipt)
    segment = [record for record in (previous, receipt, following) if record is not None]
    results = verify_chain(segment, jwks)
    index = 1 if previous is not None else 0
    built = ReceiptReport(
        receipt,
        previous,
        following,
        results[index],
        results[index + 1] if following is not None else None,
    )
    count_verification(source, built.ok)
    return built
