"""Do the stores agree? The same receipts, with the same hashes, in the ledger, the archive
and the state store's idempotency rows; a receipt missing from any one is named."""

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from receipts.canonical import differing_fields, same_values, strict_loads
from receipts.canonical import receipt_id as derived_receipt_id
from receipts.keys import Jwks
from receipts.reconciliation.copies import LAST, Held, Link, int_or_none
from receipts.reconciliation.findings import (
    AFTER_CUT,
    ARCHIVE,
    EXPIRED_STATE_ROW,
    IDEMPOTENCY,
    IN_FLIGHT,
    LEDGER,
    NOT_YET_ARCHIVED,
    SIGNATURES,
    STATE,
    STORES,
    ArchivedCopy,
    Discrepancy,
    Scope,
    Tally,
    parse_time,
)
from receipts.rows import CustomerState, IdempotencyRow
from receipts.verify import verify_receipt

STORE_NAMES = {LEDGER: "the ledger", ARCHIVE: "the archive", STATE: "the state store"}


def distinct_copies(
    customer_id: str, copies: Iterable[ArchivedCopy]
) -> tuple[dict[str | None, list[Held]], list[Discrepancy]]:
    """The archive's different copies of each receipt, in file order. The same line twice is
    fine (a streaming replay archives a receipt again, byte for byte); two different copies
    of one receipt are not."""
    groups: dict[str | None, list[Held]] = {}
    found = []
    for copy in sorted(copies, key=_file_order):
        held = Held.of_archive(copy)
        key = held.receipt_id(None) or copy.where
        group = groups.setdefault(key, [])
        if any(same_values(copy.receipt, other.receipt) for other in group):
            continue
        if group:
            first = group[0]
            fields = differing_fields(first.receipt, held.receipt)
            found.append(
                Discrepancy(
                    STORES,
                    customer_id,
                    first.receipt_id(None),
                    int_or_none(first.receipt.get("sequence")),
                    fields[0] if fields else "receipt",
                    f"two archived copies differ in {', '.join(fields)}: {first.where} and {held.where}",
                    "archive_copies",
                    ARCHIVE,
                    held.where,
                )
            )
        group.append(held)
    return groups, found


def check_idempotency_rows(customer_id: str, state: CustomerState | None) -> list[Discrepancy]:
    """Each idempotency row names the receipt its key derives to, so no two receipts can
    share a (customer_id, idempotent_key); the chain's own repeats are verify_chain's."""
    found = []
    for row in state.idempotency if state else ():
        expected = derived_receipt_id(customer_id, row.idempotent_key)
        if row.receipt_id != expected:
            found.append(
                Discrepancy(
                    IDEMPOTENCY,
                    customer_id,
                    row.receipt_id,
                    row.sequence,
                    "receipt_id",
                    f"the state store's idempotency row for key {row.idempotent_key!r} names {row.receipt_id}; "
                    f"that key's receipt is {expected}",
                    "idempotency_row",
                    STATE,
                )
            )
    return found


def check_stores(
    customer_id: str,
    chain: Sequence[Link],
    archived: dict[str | None, list[Held]],
    state: CustomerState | None,
    scope: Scope,
    jwks: Jwks,
    after_cut: Callable[[Held], bool],
    counted: set[str | None],
    tally: Tally,
) -> tuple[list[Discrepancy], int]:
    """Compare the receipt sets; return the discrepancies and how many receipts were compared.
    `chain` is the ledger's part in this run (when the ledger is read), `archived` the
    different archived copies of each receipt, `state` the rows read at the cut; `counted`:
    receipts already set aside as charged after the cut."""
    ledger = {link.receipt_id: link.held for link in chain} if LEDGER in scope.sources else {}
    archive = {receipt_id: copies[0] for receipt_id, copies in archived.items()}
    rows = {row.receipt_id: row for row in state.idempotency} if state else {}
    settled = scope.settled_before()
    cut = parse_time(scope.as_of)
    ttl = state.idempotency_ttl_seconds if state else None
    expired_before = None if cut is None or ttl is None else cut - timedelta(seconds=ttl)
    found: list[Discrepancy] = []
    compared = 0

    def add(
        receipt_id: str | None,
        sequence: int | None,
        field: str,
        reason: str,
        rule: str,
        source: str,
        where: str | None = None,
    ) -> None:
        found.append(Discrepancy(STORES, customer_id, receipt_id, sequence, field, reason, rule, source, where))

    def verdict(held: Held) -> str:
        tally.examined(SIGNATURES, 1, 0)
        result = verify_receipt(held.receipt, jwks)
        if result.ok:
            return f"; the copy in {held.where} verifies"
        failure = result.failures[0]
        return f"; the copy in {held.where} does not verify ({failure.check}: {failure.reason})"

    everywhere = set(ledger) | set(archive) | set(rows)
    for receipt_id in sorted(everywhere, key=lambda rid: _order(rid, ledger, archive, rows)):
        in_ledger, in_archive, row = ledger.get(receipt_id), archive.get(receipt_id), rows.get(receipt_id)
        reference = in_ledger or in_archive
        if reference is not None and after_cut(reference):
            if receipt_id not in counted:
                tally.aside(AFTER_CUT)
            continue
        compared += 1
        sequence = int_or_none(reference.receipt.get("sequence")) if reference else row.sequence
        processed = parse_time(reference.receipt.get("processed_at")) if reference else None
        holders = [name for name, held in ((LEDGER, in_ledger), (ARCHIVE, in_archive), (STATE, row)) if held]
        held_by = " and ".join(STORE_NAMES[name] for name in holders)

        if LEDGER in scope.sources and in_ledger is None:
            committed = parse_time(row.created_at) if row else None
            if in_archive is None and committed is not None and settled is not None and committed > settled:
                tally.aside(IN_FLIGHT)
                continue
            reason = f"in {held_by}, missing from the ledger" + (verdict(in_archive) if in_archive else "")
            add(receipt_id, sequence, LEDGER, reason, "missing", LEDGER)
        if ARCHIVE in scope.sources and in_archive is None:
            if _queued(state, sequence) or (processed is not None and settled is not None and processed > settled):
                tally.aside(NOT_YET_ARCHIVED)
            else:
                add(receipt_id, sequence, ARCHIVE, f"in {held_by}, missing from the archive", "missing", ARCHIVE)
        if state is not None and row is None:
            if expired_before is not None and processed is not None and processed <= expired_before:
                tally.aside(EXPIRED_STATE_ROW)
            else:
                reason = f"in {held_by}, missing from the state store's idempotency rows"
                add(receipt_id, sequence, STATE, reason, "missing", STATE)

        if in_ledger is not None and in_archive is not None and not same_values(in_archive.receipt, in_ledger.receipt):
            fields = differing_fields(in_archive.receipt, in_ledger.receipt)
            others = archived[receipt_id][1:]  # the first is in_archive: `fields` says it differs
            if fields and all(differing_fields(c.receipt, in_ledger.receipt) for c in others):
                reason = f"the archived copy ({in_archive.where}) differs from the ledger in {', '.join(fields)}"
                copy = in_archive.where
                add(receipt_id, sequence, fields[0], reason + verdict(in_archive), "copies_differ", ARCHIVE, copy)
        if row is not None and reference is not None:
            for field, stored, held in _row_differences(row, reference.receipt):
                reason = f"the state store's idempotency row has {field} {stored!r}; {reference.where} has {held!r}"
                add(receipt_id, sequence, field, reason, "state_row", STATE)
    return found, compared


def _queued(state: CustomerState | None, sequence: int | None) -> bool:
    """Still in the store's archive outbox: past the sequence up to which everything is archived."""
    through = state.archived_through if state is not None else None
    return through is not None and sequence is not None and sequence > through


def _row_differences(row: IdempotencyRow, receipt: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    pairs = [("idempotent_key", row.idempotent_key), ("event_sha256", row.event_sha256)]
    if row.receipt_hash is not None:  # Spanner keeps the hash and sequence; SQLite does not
        pairs.append(("receipt_hash", row.receipt_hash))
    if row.sequence is not None:
        pairs.append(("sequence", row.sequence))
    return [(field, stored, receipt.get(field)) for field, stored in pairs if receipt.get(field) != stored]


def _order(receipt_id: str, *maps: dict) -> tuple[int, str]:
    for mapping in maps:
        item = mapping.get(receipt_id)
        if item is None:
            continue
        sequence = int_or_none(item.receipt.get("sequence")) if isinstance(item, Held) else item.sequence
        if sequence is not None:
            return sequence, str(receipt_id)
    return LAST, str(receipt_id)


def _file_order(copy: ArchivedCopy) -> tuple[str, int]:
    """File, then line number as a number ("line 10" after "line 2")."""
    where, _, number = copy.where.rpartition(" line ")
    return (where, int(number)) if where and number.isdigit() else (copy.where, 0)


def archived_copy(line: bytes, where: str) -> ArchivedCopy | Discrepancy:
    """One archive line as a receipt of some customer, or why it is not one."""
    try:
        record = strict_loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        problem = f"not a JSON receipt ({str(error)[:200]})"
    else:
        if isinstance(record, dict) and isinstance(record.get("customer_id"), str):
            return ArchivedCopy(record, where)
        problem = "not a receipt: a JSON object with a customer_id is expected"
    return Discrepancy(STORES, None, None, None, ARCHIVE, f"{where} is {problem}", "unreadable", ARCHIVE)
