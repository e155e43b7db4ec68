"""Reconciliation: prove the ledger is whole.

One customer at a time, the ledger, the archive and the state store are checked against
the signatures and against each other. Receipt and chain rules are `receipts.verify`'s
(the same functions the site and `receipts verify` use); this package adds what only a
reconciliation can see: the chain head, balances and usage in the state store, and
whether every store holds the same receipts with the same hashes. Pure: no I/O.
"""

from receipts.reconciliation.customer import reconcile_customer
from receipts.reconciliation.findings import (
    ARCHIVE,
    CHECKS,
    LEDGER,
    SOURCES,
    STATE,
    ArchivedCopy,
    CustomerResult,
    Discrepancy,
    Scope,
    Tally,
)

__all__ = [
    "ARCHIVE",
    "CHECKS",
    "LEDGER",
    "SOURCES",
    "STATE",
    "ArchivedCopy",
    "CustomerResult",
    "Discrepancy",
    "Scope",
    "Tally",
    "reconcile_customer",
]
