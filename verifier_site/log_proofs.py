"""A receipt's place in the log, and its proofs: made from the store's stored hashes
(receipts.tlog.proving reads about 2 log2(n) of them), never by rebuilding the tree, and
checked against the signed checkpoint's root before they leave the site. The proof
endpoint, the receipt's page and the evidence bundle all take them from here."""

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app

from receipts.tlog.hashing import leaf_hash
from receipts.tlog.proofs import ProofError, verify_consistency, verify_inclusion
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.tlog_proof import TlogProof
from verifier_site.errors import SiteError
from verifier_site.storage import get_store
from verifier_site.transparency import Published, at_size, cosigners, latest, settings

SIZE = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)  # a tree size as checkpoints spell it
RETRY_AFTER_SECONDS = 60


@dataclass(frozen=True)
class ReceiptProof:
    """Leaf `index` of the published tree in `published`, and the audit path that proves it."""

    receipt_id: str
    index: int
    path: tuple[bytes, ...]
    published: Published

    @property
    def size(self) -> int:
        return self.published.checkpoint.size

    def text(self) -> bytes:
        """The proof as a c2sp.org/tlog-proof@v1 file (`.tlog-proof`)."""
        return TlogProof(self.index, self.path, self.published.note).text()

    def as_json(self) -> dict[str, Any]:
        return {
            "leaf_index": self.index,
            "tree_size": self.size,
            "inclusion_path": [value.hex() for value in self.path],
            "checkpoint": self.published.note.decode("utf-8"),
        }

    def cosigned_by(self) -> list[str]:
        return cosigners(self.published.note)


def size_arg(name: str, text: str | None) -> int:
    """A tree size from a request: plain decimal digits (no sign, no leading zeros), else 400."""
    if text is None or not SIZE.fullmatch(text) or int(text) >= 1 << 64:
        raise SiteError(400, f"{name} must be a tree size: a decimal number without leading zeros", "invalid_parameter")
    return int(text)


def published_at(name: str, size: int) -> Published:
    """The checkpoint published for `size`; 404 `unknown_tree_size` when there is none."""
    found = at_size(size)
    if found is None:
        raise SiteError(
            404,
            f"{name}={size} is not the size of a checkpoint this log published: see /log/checkpoint for the latest",
            "unknown_tree_size",
        )
    return found


def not_yet_logged(receipt_id: str, detail: str) -> SiteError:
    return SiteError(
        409,
        f"receipt {receipt_id} is stored but {detail}: the log takes in stored receipts within minutes; "
        "ask again later",
        "not_yet_logged",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def receipt_proof(record: dict[str, Any], tree_size: int | None = None) -> ReceiptProof:
    """The inclusion proof of a stored receipt in the latest published tree (or the one of
    `tree_size`, which must be published). 409 `not_yet_logged` while no published tree
    holds it; 404 `not_in_tree` when the tree asked for is older than its leaf."""
    receipt_id = record["receipt_id"]
    published = latest() if tree_size is None else published_at("tree_size", tree_size)
    if published is None:
        raise not_yet_logged(receipt_id, "the log has published no checkpoint yet")
    index = get_store().log_leaf_index(receipt_id)
    size = published.checkpoint.size
    if index is None:
        raise not_yet_logged(receipt_id, "not in the log yet")
    if index >= size:
        if tree_size is None:
            raise not_yet_logged(receipt_id, f"leaf {index}, past the latest checkpoint's {size} leaves")
        raise SiteError(
            404,
            f"receipt {receipt_id} is leaf {index}: the tree of {size} leaves does not hold it; ask for a "
            "larger tree_size, or none for the latest",
            "not_in_tree",
        )
    path = tuple(prove_inclusion(index, size, get_store().log_hash_reader()))
    try:  # the store's hashes against the signed root: a damaged store is an outage, never a false proof
        verify_inclusion(leaf_hash(bytes.fromhex(record["receipt_hash"])), index, size, path, published.checkpoint.root)
    except ProofError as error:
        current_app.logger.error("inclusion proof of %s (leaf %d of %d) fails: %s", receipt_id, index, size, error)
        raise SiteError(
            503, "the log's stored hashes do not prove this receipt: tell the operator", "log_damaged"
        ) from None
    return ReceiptProof(receipt_id, index, path, published)


def consistency_proof(first: int, second: int) -> list[bytes]:
    """The consistency proof between two published trees (first <= second), checked
    against both signed roots."""
    if first > second:
        raise SiteError(400, f"from ({first}) must not be larger than to ({second})", "invalid_parameter")
    old, new = published_at("from", first), published_at("to", second)
    path = prove_consistency(first, second, get_store().log_hash_reader())
    try:
        verify_consistency(first, second, path, old.checkpoint.root, new.checkpoint.root)
    except ProofError as error:
        current_app.logger.error("consistency proof %d -> %d fails: %s", first, second, error)
        message = "the log's stored hashes do not prove its own consistency: tell the operator"
        raise SiteError(503, message, "log_damaged") from None
    return path


@dataclass(frozen=True)
class LogStatus:
    """What a receipt's page says of its place in the log: its proof, or why there is none."""

    proof: ReceiptProof | None
    witnesses: int = 0
    reason: str | None = None

    @property
    def line(self) -> str:
        if self.proof is None:
            return self.reason or "Not in the transparency log yet."
        cosigned = f"{self.witnesses} witness{'' if self.witnesses == 1 else 'es'}"
        return f"In the log at index {self.proof.index} of {self.proof.size}, cosigned by {cosigned}."


def log_status(record: dict[str, Any]) -> LogStatus:
    """The receipt's place in the latest published tree, for its page (never an error page)."""
    try:
        proof = receipt_proof(record)
    except SiteError as error:
        if error.code == "not_yet_logged":
            return LogStatus(None, reason="Not in the transparency log yet: stored receipts are added within minutes.")
        return LogStatus(None, reason=f"The log could not be checked: {error.message}.")
    except Exception as error:  # a page reports, never crashes
        current_app.logger.warning("log status of %s unavailable: %s", record["receipt_id"], error)
        return LogStatus(None, reason="The log could not be checked right now.")
    return LogStatus(proof, len(proof.cosigned_by()))


def log_evidence(record: dict[str, Any]) -> dict[str, Any] | None:
    """The evidence bundle's log member: the receipt's tlog-proof and the log's key, or None
    while no published checkpoint holds it (or the site has no log key to name)."""
    verifier = settings().verifier
    if verifier is None:
        return None
    try:
        proof = receipt_proof(record)
    except SiteError as error:
        if error.code != "not_yet_logged":
            raise
        return None
    return {
        "origin": verifier.name,
        "vkey": verifier.key.vkey,
        "leaf_index": proof.index,
        "tree_size": proof.size,
        "tlog_proof": proof.text().decode("utf-8"),
        "cosigned_by": proof.cosigned_by(),
        "witnesses": [witness.key.vkey for witness in settings().witnesses],  # the policy verify.sh checks
        "quorum": settings().quorum,
    }
