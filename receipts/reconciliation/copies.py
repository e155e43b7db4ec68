"""The receipts a reconciliation compares: a copy as one store holds it (`Held`), and that
copy with its verification (`Link`), a link of the chain being checked."""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from receipts.contract import is_int
from receipts.reconciliation.findings import ARCHIVE, LEDGER, ArchivedCopy, Copy
from receipts.rows import LedgerEntry
from receipts.verify import Verification

LAST = 2**63  # sorts receipts without a readable sequence after every real one


def int_or_none(value: Any) -> int | None:
    return value if is_int(value) else None


@dataclass(frozen=True)
class Held:
    """A receipt as one store holds it: the export format as read, and for the ledger the
    key and index fields kept beside the signed body."""

    receipt: dict[str, Any]
    source: str
    where: str
    stored: dict[str, Any] | None = None

    @classmethod
    def of_ledger(cls, entry: LedgerEntry) -> "Held":
        return cls(entry.receipt, LEDGER, "the ledger", entry.stored)

    @classmethod
    def of_archive(cls, copy: ArchivedCopy) -> "Held":
        return cls(copy.receipt, ARCHIVE, copy.where)

    def position(self) -> tuple[int, int, str]:
        """Where the store puts it in the chain: its stored sequence (a ledger row's own
        column, so a swap shows), else the exported one."""
        return self._position

    @cached_property  # sorting, the cut and the stores check all ask (a Held is never changed)
    def _position(self) -> tuple[int, int, str]:
        claimed = int_or_none(self.receipt.get("sequence"))
        stored = int_or_none((self.stored or {}).get("sequence"))
        first = stored if stored is not None else claimed
        return (LAST if first is None else first, LAST if claimed is None else claimed, str(self.receipt_id(None)))

    def named(self, body: dict[str, Any] | None) -> Copy:
        """This copy as findings name it: by the receipt id its signed `body` carries, by
        where it is, and by its own receipt_id when that is another one."""
        signed, stated = self.receipt_id(body), self.receipt_id(None)
        return Copy(signed, self.where, stated if stated != signed else None)

    def receipt_id(self, body: dict[str, Any] | None) -> str | None:
        for record in (body, self.receipt, self.stored):
            value = record.get("receipt_id") if record else None
            if isinstance(value, str):
                return value
        return None


@dataclass(frozen=True)
class Link:
    """A receipt of the chain being checked, with its verification."""

    held: Held
    result: Verification

    @property
    def body(self) -> dict[str, Any] | None:
        return self.result.body

    @property
    def receipt_id(self) -> str | None:
        return self.held.receipt_id(self.body)

    @property
    def copy(self) -> Copy:
        return self.held.named(self.body)

    @property
    def sequence(self) -> int | None:
        value = (self.body or self.held.receipt).get("sequence")
        return value if is_int(value) else self.result.sequence
