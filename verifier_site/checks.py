"""The server's verdicts as the site shows them. Every verdict comes from
`receipts.verify.verify_chain`; this module only groups its checks under the three
headings people look for, prints their reasons as they are, and sums a page of results
up: how many failed and which, and which checks ran. A heading is ticked only when every
check under it ran and passed; one that could not run is marked "–", never ticked."""

from dataclasses import asdict, dataclass
from typing import Any

from receipts.keys import Jwks
from receipts.reading import Unreadable
from receipts.stores import Store
from receipts.verify import (
    BALANCE,
    CANONICAL,
    CHAIN_LINK,
    CONTRACT,
    FORMAT,
    HASH,
    IDEMPOTENCY,
    KEY_ENDORSEMENT,
    SEQUENCE,
    SIGNATURE,
    Check,
    Verification,
    verify_chain,
)
from verifier_site.key_source import trusted_delegations
from verifier_site.metrics import count_verification

GROUPS = (
    ("signature", "Signature", (FORMAT, SIGNATURE, KEY_ENDORSEMENT)),
    ("hash", "Canonical hash", (CANONICAL, HASH, CONTRACT)),
    ("chain_link", "Chain link", (IDEMPOTENCY, SEQUENCE, CHAIN_LINK, BALANCE)),
)
CHECK_WORDS = {
    FORMAT: "format",
    SIGNATURE: "signature",
    KEY_ENDORSEMENT: "key endorsement",
    CANONICAL: "canonical form",
    HASH: "hash",
    CONTRACT: "contract",
    IDEMPOTENCY: "idempotency",
    SEQUENCE: "sequence",
    CHAIN_LINK: "chain link",
    BALANCE: "balance",
}
MARKS = {"pass": "✓", "fail": "✗", "unchecked": "–"}


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

    @property
    def state(self) -> str:
        """'fail' if a check failed, 'pass' if every check under it ran and passed, else
        'unchecked': skipped after an earlier failure, or nothing to compare with."""
        if any(not check.ok for _, check in self.items):
            return "fail"
        return "pass" if self.items and all(check.ran for _, check in self.items) else "unchecked"

    @property
    def mark(self) -> str:
        return MARKS[self.state]


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


def words(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def failed_checks(result: Verification) -> str:
    """The checks a receipt failed, in plain words and run order."""
    return words(list(dict.fromkeys(CHECK_WORDS[check.check] for check in result.failures)))


@dataclass(frozen=True)
class Summary:
    """The top of a page of results: how many receipts failed and which (by position, from 1,
    to link each), the lines that were no receipt, and the checks that ran."""

    count: int
    failed: tuple[tuple[int, Verification], ...]
    unreadable: tuple[Unreadable, ...]
    passed: tuple[str, ...]  # every check that ran, in words
    not_checked: tuple[str, ...]  # checks that had nothing to compare with, in words
    not_checked_receipts: int

    @property
    def ok(self) -> bool:
        return self.count > 0 and not self.failed and not self.unreadable

    def verdict(self, where: str) -> str:
        """The first line of the results: the count, and only checks that ran."""
        receipts, lines = plural(self.count, "receipt"), plural(len(self.unreadable), "line")
        if self.ok and not self.not_checked:
            return f"Verified {where}: {receipts}; every check passed ({words(list(self.passed))})."
        if self.ok:
            return (
                f"Verified {where}: {receipts}; every check that ran passed ({words(list(self.passed))}). "
                f"Not checked for {plural(self.not_checked_receipts, 'receipt')}, with no earlier receipt given to "
                f"compare with: {words(list(self.not_checked))} (marked –)."
            )
        if not self.count:
            return f"Verification FAILED {where}: no receipt could be read ({lines} are not receipts)."
        if not self.failed:
            return f"Verification FAILED {where}: {lines} could not be read as receipts; the {receipts} read passed."
        unread = f", and {lines} could not be read" if self.unreadable else ""
        return f"Verification FAILED {where}: {len(self.failed)} of {receipts} failed{unread}."


def summarize(results: list[Verification], unreadable: list[Unreadable]) -> Summary:
    ran = {check.check for result in results for check in result.checks if check.ran}
    skipped: set[str] = set()
    receipts_skipped = 0
    for result in results:
        names = {check.check for check in result.checks if not check.ran}
        if SEQUENCE in names:
            names.add(CHAIN_LINK)  # its reason says so: with no receipt before it, no link to check
        skipped |= names
        receipts_skipped += bool(names)
    return Summary(
        len(results),
        tuple((position, result) for position, result in enumerate(results, start=1) if not result.ok),
        tuple(unreadable),
        tuple(CHECK_WORDS[name] for name in CHECK_WORDS if name in ran),
        tuple(CHECK_WORDS[name] for name in CHECK_WORDS if name in skipped),
        receipts_skipped,
    )


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
    def state(self) -> str:
        states = {group.state for group in self.headlines}
        return "fail" if "fail" in states else "unchecked" if "unchecked" in states else "pass"

    @property
    def verdict(self) -> str:
        """The receipt page's sentence, naming only the headings whose checks all ran."""
        groups = self.headlines
        failed = [group.title.lower() for group in groups if group.state == "fail"]
        if failed:
            return f"This receipt FAILED verification: {words(failed)} failed; see the checks below."
        passed = [group.title.lower() for group in groups if group.state == "pass"]
        unchecked = [group.title.lower() for group in groups if group.state == "unchecked"]
        if not unchecked:
            return f"Verified by this site: {words(passed)} all pass."
        return (
            f"Verified by this site: {words(passed)} pass; {words(unchecked)} could not be fully checked (see below)."
        )

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


def receipt_and_neighbour_ids(store: Store, receipt_id: str) -> tuple[dict[str, Any], str | None, str | None] | None:
    """A receipt and the ids of its neighbours in its chain: one read on a store that has
    `receipt_and_neighbour_ids` (SQLite), else the receipt's read and `neighbours`."""
    combined = getattr(store, "receipt_and_neighbour_ids", None)
    if combined is not None:
        return combined(receipt_id)
    receipt = store.receipt(receipt_id)
    if receipt is None:
        return None
    previous, following = neighbours(store, receipt)
    return receipt, previous and previous["receipt_id"], following and following["receipt_id"]


def report(store: Store, receipt: dict[str, Any], jwks: Jwks, source: str) -> ReceiptReport:
    """Verify a stored receipt with its neighbours, so its chain link is checked both ways."""
    previous, following = neighbours(store, receipt)
    segment = [record for record in (previous, receipt, following) if record is not None]
    results = verify_chain(segment, jwks, trusted_delegations())
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
