"""One customer's reconciliation: its chain read in one pass, checked with
`receipts.verify.verify_chain`, then against the state store and the other copies."""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from receipts.canonical import differing_fields
from receipts.contract import signed_body
from receipts.delegation import Delegations
from receipts.keys import Jwks
from receipts.reconciliation.copies import Held, Link
from receipts.reconciliation.findings import (
    AFTER_CUT,
    ARCHIVE,
    CHAIN,
    IDEMPOTENCY,
    LEDGER,
    MONEY,
    SIGNATURES,
    STORES,
    ArchivedCopy,
    Copy,
    CustomerResult,
    Discrepancy,
    Scope,
    Tally,
    parse_time,
)
from receipts.reconciliation.money import check_money
from receipts.reconciliation.stores import check_idempotency_rows, check_stores, distinct_copies
from receipts.rows import CustomerState, LedgerEntry
from receipts.verify import (
    BALANCE,
    CANONICAL,
    CHAIN_LINK,
    CONTRACT,
    FORMAT,
    HASH,
    KEY_ENDORSEMENT,
    SEQUENCE,
    SIGNATURE,
    verify_chain,
)
from receipts.verify import IDEMPOTENCY as REPEATED_KEY

# receipts.verify's checks -> (the report's check, the field each is about)
VERIFY_CHECKS = {
    FORMAT: (SIGNATURES, "signature"),
    SIGNATURE: (SIGNATURES, "signature"),
    KEY_ENDORSEMENT: (SIGNATURES, "kid"),  # a delegated key outside its window, revoked, or never endorsed
    CANONICAL: (SIGNATURES, "body"),  # refined below to the field that differs
    HASH: (SIGNATURES, "receipt_hash"),
    CONTRACT: (SIGNATURES, "body"),
    SEQUENCE: (CHAIN, "sequence"),
    CHAIN_LINK: (CHAIN, "previous_receipt_hash"),
    BALANCE: (MONEY, "balance_after"),
    REPEATED_KEY: (IDEMPOTENCY, "idempotent_key"),
}


def reconcile_customer(
    customer_id: str,
    ledger: Iterable[LedgerEntry],
    archive: Iterable[ArchivedCopy],
    state: CustomerState | None,
    jwks: Jwks,
    scope: Scope,
    read_at: datetime | None = None,
    delegations: Delegations | None = None,
) -> CustomerResult:
    """Check one customer's chain in one pass (the primary copy: the ledger, or the archive
    with `--source archive`), then the state store's rows and the other copies against it.
    With `delegations`, each receipt's key too (receipts.verify.KEY_ENDORSEMENT)."""
    tally = Tally(customers=1)
    found: list[Discrepancy] = []
    ledger_held = [Held.of_ledger(entry) for entry in ledger] if LEDGER in scope.sources else []
    archived, archive_problems = distinct_copies(customer_id, archive) if ARCHIVE in scope.sources else ({}, [])
    found += archive_problems
    primary = ledger_held if LEDGER in scope.sources else [copies[0] for copies in archived.values()]
    primary_source = LEDGER if LEDGER in scope.sources else ARCHIVE

    after_cut = _once_each(_cut(state, scope, read_at))
    ordered = sorted(primary, key=Held.position)
    in_scope = [held for held in ordered if not after_cut(held)]
    later = {held.receipt_id(None) for held in ordered if after_cut(held)}
    tally.aside(AFTER_CUT, len(ordered) - len(in_scope))
    results = verify_chain([held.receipt for held in in_scope], jwks, delegations)
    chain = [Link(held, result) for held, result in zip(in_scope, results, strict=True)]
    tally.receipts = len(chain)

    found += _verification_failures(customer_id, chain, primary_source)
    found += _stored_fields(customer_id, chain)
    found += _chain_ends(customer_id, chain, state, primary_source)
    found += check_money(customer_id, [(link.body, link.copy) for link in chain if link.body], state)
    found += check_idempotency_rows(customer_id, state)
    stores_found, compared = check_stores(customer_id, chain, archived, state, scope, jwks, after_cut, later, tally)
    found += stores_found

    has_chain = bool(chain) or (state is not None and state.head_sequence is not None)
    tally.examined(CHAIN, len(chain), int(has_chain))
    tally.examined(SIGNATURES, len(chain), int(bool(chain)))
    tally.examined(MONEY, len(chain), int(bool(chain) or (state is not None and bool(state.balances))))
    rows = len(state.idempotency) if state else 0
    tally.examined(IDEMPOTENCY, len(chain), int(bool(chain) or bool(rows)))
    tally.examined(STORES, compared, int(compared > 0))
    tally.found(found)
    return CustomerResult(customer_id, tuple(sorted(found, key=Discrepancy.sort_key)), tally)


def _cut(state: CustomerState | None, scope: Scope, read_at: datetime | None) -> Callable[[Held], bool]:
    """Was a receipt charged after the cut? Yes when it is past the chain head the state
    store had at the cut and was processed after the cut (less --settle-seconds): the next
    run checks it. One processed later than the read itself (plus clock skew) is not in
    flight but misdated, so it is checked now."""
    settled = scope.settled_before()
    if state is None or settled is None:
        return lambda held: False
    head = state.head_sequence or 0
    latest = None if read_at is None else read_at + timedelta(seconds=scope.clock_skew_seconds)

    def after_cut(held: Held) -> bool:
        processed = parse_time(held.receipt.get("processed_at"))
        return (
            held.position()[0] > head
            and processed is not None
            and processed > settled
            and (latest is None or processed <= latest)
        )

    return after_cut


def _once_each(after_cut: Callable[[Held], bool]) -> Callable[[Held], bool]:
    """`after_cut`, asked once per copy: the chain and the stores check ask of each receipt."""
    answers: dict[int, bool] = {}

    def answer(held: Held) -> bool:
        known = answers.get(id(held))  # each Held lives as long as this customer's check
        if known is None:
            known = answers[id(held)] = after_cut(held)
        return known

    return answer


def _verification_failures(customer_id: str, chain: Sequence[Link], source: str) -> list[Discrepancy]:
    found = []
    for link in chain:
        for failure in link.result.failures:
            check, field = VERIFY_CHECKS[failure.check]
            reason = failure.reason
            if failure.check == CANONICAL and link.body is not None:
                exported = signed_body(link.held.receipt)
                if exported:  # else the stored body could not even be read: "body" it is
                    field = next(iter(differing_fields(exported, link.body)), field)
            if failure.check == REPEATED_KEY:
                reason += " (lines count this customer's receipts in sequence order)"
            found.append(
                Discrepancy.of(check, customer_id, link.copy, link.sequence, field, reason, failure.check, source)
            )
    return found


def _stored_fields(customer_id: str, chain: Sequence[Link]) -> list[Discrepancy]:
    """The ledger's own key and index fields (SQLite columns, Firestore document id and
    fields) must say what the signed body says: a swapped or re-keyed row is caught here."""
    found = []
    for link in chain:
        signed = link.body if link.body is not None else link.held.receipt
        for name, value in (link.held.stored or {}).items():
            expected = signed.get("receipt_id" if name == "document_id" else name)
            if value != expected or type(value) is not type(expected):
                what = "document id" if name == "document_id" else f"stored {name}"
                found.append(
                    Discrepancy.of(
                        SIGNATURES,
                        customer_id,
                        link.copy,
                        link.sequence,
                        name,
                        f"the ledger's {what} is {value!r}; the signed body says {expected!r}",
                        "stored_fields",
                        LEDGER,
                    )
                )
    return found


def _chain_ends(customer_id: str, chain: Sequence[Link], state: CustomerState | None, source: str) -> list[Discrepancy]:
    """The chain starts at sequence 1 and ends at the state store's chain head."""
    found = []

    def add(link: Link | None, sequence: int | None, field: str, reason: str, rule: str, where: str) -> None:
        found.append(
            Discrepancy.of(CHAIN, customer_id, link.copy if link else Copy(None), sequence, field, reason, rule, where)
        )

    if chain and chain[0].sequence != 1:
        first = chain[0]
        add(
            first,
            first.sequence,
            "sequence",
            f"the {source}'s chain starts at sequence {first.sequence}: every sequence before it is missing",
            "chain_start",
            source,
        )
    if state is None:
        return found
    last = chain[-1] if chain else None
    if state.head_sequence is None:
        if last is not None:
            add(
                last,
                last.sequence,
                "chain_head",
                f"the state store has no chain head; the {source} ends at sequence {last.sequence}",
                "chain_head",
                "state",
            )
        return found
    if last is None:
        add(
            None,
            state.head_sequence,
            "chain_head",
            f"the state store's chain head is sequence {state.head_sequence}, but the {source} holds no receipt",
            "chain_head",
            "state",
        )
        return found
    if (last.sequence, last.result.payload_hash) != (state.head_sequence, state.head_hash):
        add(
            last,
            last.sequence,
            "chain_head",
            f"the state store's chain head is sequence {state.head_sequence} ({str(state.head_hash)[:16]}…); "
            f"the {source} ends at sequence {last.sequence} ({str(last.result.payload_hash)[:16]}…)",
            "chain_head",
            "state",
        )
    return found
