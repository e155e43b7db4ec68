"""The reconciliation's check that the archive is complete beyond the receipts: every stored
statement (receipts.stores.statement_files) and key document (receipts.stores.key_document_files)
is in the archive with identical bytes, and every archived one is in the store. What a
restore could not give back is what this finds: a missing or edited archived statement or
key document, or one the store lost (the store and the archive differ: `receipts restore`
or `receipts archive catch-up`, after looking at both copies).

Findings are of the `stores` check (the copies of the stores agree), with the rule
`archived_statement` or `archived_key_document` and the field naming where it is missing
(`archive`, `store`) or `bytes` when both hold it and the bytes differ. Pure: the stored
objects come in by their archive path, the archive through `paths()` and `read(path)`."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from receipts.reconciliation.findings import ARCHIVE, LEDGER, STORES, Discrepancy

STATEMENT_RULE, KEY_DOCUMENT_RULE = "archived_statement", "archived_key_document"


@dataclass(frozen=True)
class Stored:
    """A statement or key document as the store holds it, named as the archive names it."""

    path: str  # its archive path (statements/…, keys/… relative)
    data: bytes  # the bytes the archive must hold
    customer_id: str | None  # a statement's customer; None for a key document
    identifier: str  # the statement id, or the key document's id (endorsement:KID)


def archive_copy_findings(
    rule: str,
    stored: Iterable[Stored],
    paths: Iterable[str],
    read: Callable[[str], bytes],
    where: Callable[[str], str],
    name_of: Callable[[str], tuple[str | None, str]],
) -> tuple[list[Discrepancy], int]:
    """(discrepancies, objects compared) between what the store holds and what the archive
    holds under `rule`; `name_of(path)` names an archive-only object (customer, identifier)."""
    held: Mapping[str, Stored] = {item.path: item for item in stored}
    archived = set(paths)
    found = []
    for path in sorted(set(held) | archived):
        item = held.get(path)
        customer, identifier = (item.customer_id, item.identifier) if item else name_of(path)

        def add(field: str, reason: str, source: str, customer=customer, identifier=identifier, path=path) -> None:
            found.append(Discrepancy(STORES, customer, identifier, None, field, reason, rule, source, where(path)))

        if item is None:
            add("store", "archived, but the store does not hold it: restore it (`receipts restore`)", ARCHIVE)
        elif path not in archived:
            add("archive", "stored, but the archive lacks it: `receipts archive catch-up` writes it", LEDGER)
        elif read(path) != item.data:
            add("bytes", "the archived bytes are not the stored ones: one of the copies was changed", ARCHIVE)
    return found, len(set(held) | archived)
