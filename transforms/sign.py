"""Signing chained receipts as RS256 JWS with the key each body names."""

from collections.abc import Sequence
from datetime import datetime

from apache_beam.utils.timestamp import Timestamp

from receipts.jws import Signer, sign_payloads
from receipts.ledger import ChainedReceipt
from receipts.records import SignedReceipt


class KeyMismatch(RuntimeError):
    """A body names another key than the signer holds: signing it would make a receipt that
    names one key and is signed by another, charged and never verifiable."""


def sign_named(signer: Signer, receipts: Sequence[ChainedReceipt]) -> list[SignedReceipt]:
    """Sign each receipt; refuse (KeyMismatch, nothing signed) when any body's `kid` is not the signer's."""
    wrong = [receipt.receipt_id for receipt in receipts if receipt.body["kid"] != signer.kid]
    if wrong:
        raise KeyMismatch(
            f"{len(wrong)} receipt(s) ({', '.join(wrong[:3])}) name another key than the signer's {signer.kid}; "
            "none was signed"
        )
    signatures = sign_payloads(signer, [receipt.canonical for receipt in receipts])
    return [SignedReceipt(receipt, signature) for receipt, signature in zip(receipts, signatures, strict=True)]


def sign_in_windows(signer: Signer, receipts: Sequence[ChainedReceipt]) -> list[SignedReceipt]:
    """Sign each receipt with the key its processed_at's window has (a delegated signer,
    receipts.stores.delegated) or with the signer itself; each group by sign_named, in order."""
    key_at = getattr(signer, "signer_at", None)
    if key_at is None:
        return sign_named(signer, receipts)
    groups: dict[str, tuple[Signer, list[int]]] = {}
    for index, receipt in enumerate(receipts):
        key = key_at(receipt.body["processed_at"])
        groups.setdefault(key.kid, (key, []))[1].append(index)
    signed: list[SignedReceipt | None] = [None] * len(receipts)
    for key, indexes in groups.values():
        for index, receipt in zip(indexes, sign_named(key, [receipts[i] for i in indexes]), strict=True):
            signed[index] = receipt
    return [receipt for receipt in signed if receipt is not None]


def signing_kid(signer: Signer, at: str) -> str:
    """The kid a body processed `at` names: its window's key's for a delegated signer."""
    key_at = getattr(signer, "signer_at", None)
    return key_at(at).kid if key_at is not None else signer.kid


def processed_at(receipt: ChainedReceipt) -> Timestamp:
    """When the receipt was made, as a Beam timestamp: its event time from the write on (the
    archive windows by it)."""
    # fromisoformat is C; Timestamp.from_rfc3339 goes through dateutil at ~4% of the batch job.
    return Timestamp.from_utc_datetime(datetime.fromisoformat(receipt.body["processed_at"].replace("Z", "+00:00")))
