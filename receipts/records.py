"""The records that move between pipeline steps and stores: raw messages, signed
receipts in the export format, and dead letters."""

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from receipts.canonical import canonical_bytes, sha256_hex
from receipts.events import FieldError, Invalid
from receipts.ledger import ChainedReceipt


@dataclass(frozen=True)
class Message:
    """One raw producer message and where it came from (Pub/Sub id, or file line)."""

    message_id: str
    raw: bytes
    position: int = 0  # input order: line number in a batch, arrival order in a stream


@dataclass(frozen=True)
class SignedReceipt:
    chained: ChainedReceipt
    signature: str  # JWS compact serialization

    @property
    def receipt_id(self) -> str:
        return self.chained.receipt_id

    def export(self) -> dict[str, Any]:
        """The export format: the body fields, `receipt_hash` and `signature`."""
        return {**self.chained.body, "receipt_hash": self.chained.receipt_hash, "signature": self.signature}

    def export_line(self) -> bytes:
        """`export_line(self.export())`, spliced from the canonical body (spliced_export_line)."""
        return spliced_export_line(self.chained.canonical, self.chained.receipt_hash, self.signature)


def spliced_export_line(canonical_body: bytes, receipt_hash: str, signature: str) -> bytes:
    """The export line of a stored receipt from its canonical body, without canonicalizing it
    again: `export_line({**body, "receipt_hash": …, "signature": …})`, byte for byte. RFC 8785
    sorts members by name, so `receipt_hash` goes just before `receipt_id` and `signature`
    just before `status`; in canonical JSON a string cannot hold an unescaped quote, so each
    `,"name":` marker occurs once, at the top."""
    before_id, before_status = b',"receipt_id":', b',"status":'
    if canonical_body.count(before_id) != 1 or canonical_body.count(before_status) != 1:
        return export_line({**json.loads(canonical_body), "receipt_hash": receipt_hash, "signature": signature})
    head, tail = canonical_body.split(before_id)
    middle, end = tail.split(before_status)
    hash_member = b',"receipt_hash":"' + receipt_hash.encode("ascii") + b'"'
    signature_member = b',"signature":"' + signature.encode("ascii") + b'"'
    return head + hash_member + before_id + middle + signature_member + before_status + end + b"\n"


def export_line(record: dict[str, Any]) -> bytes:
    """One JSONL line, RFC 8785 ordered so the same receipt is always the same bytes."""
    return canonical_bytes(record) + b"\n"


@dataclass(frozen=True)
class DeadLetter:
    """A message that did not become a receipt, kept whole with the reason why."""

    reason: str
    detail: str
    raw: bytes
    message_id: str
    errors: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    customer_id: str | None = None
    idempotent_key: str | None = None

    @property
    def dead_letter_id(self) -> str:
        """Same raw bytes, same reason, same id, whatever the message id or file position: a
        shuffled or repeated replay adds no second copy (the stores keep the first recorded)."""
        return sha256_hex(f"{self.reason}\n".encode() + self.raw)[:32]

    @classmethod
    def from_invalid(cls, message: Message, invalid: Invalid) -> "DeadLetter":
        return cls(
            reason=invalid.reason,
            detail=invalid.detail,
            raw=message.raw,
            message_id=message.message_id,
            errors=tuple(error.as_dict() for error in invalid.errors),
            customer_id=invalid.customer_id,
            idempotent_key=invalid.idempotent_key,
        )

    @classmethod
    def of(
        cls, message: Message, error: FieldError, customer_id: str | None = None, idempotent_key: str | None = None
    ) -> "DeadLetter":
        return cls(
            error.reason, error.detail, message.raw, message.message_id, (error.as_dict(),), customer_id, idempotent_key
        )

    def export(self) -> dict[str, Any]:
        try:
            text: str | None = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return {
            "dead_letter_id": self.dead_letter_id,
            "reason": self.reason,
            "detail": self.detail,
            "errors": list(self.errors),
            "message_id": self.message_id,
            "customer_id": self.customer_id,
            "idempotent_key": self.idempotent_key,
            "raw": text,
            "raw_base64": base64.b64encode(self.raw).decode("ascii"),
        }

    @classmethod
    def from_export(cls, record: dict[str, Any]) -> "DeadLetter":
        return cls(
            reason=record["reason"],
            detail=record["detail"],
            raw=base64.b64decode(record["raw_base64"]),
            message_id=record["message_id"],
            errors=tuple(record.get("errors") or ()),
            customer_id=record.get("customer_id"),
            idempotent_key=record.get("idempotent_key"),
        )


def dumps_line(record: dict[str, Any]) -> str:
    """A JSON line for humans and tools, keys sorted; ASCII, every other character a JSON
    escape, so a control or bidi character in a dead letter never reaches a terminal raw."""
    return json.dumps(record, ensure_ascii=True, sort_keys=True, separators=(",", ":"))


INTAKE_FROZEN = "intake_frozen"  # dead letter reason: held while intake was frozen, replayable after resume
RECEIPT_CONFLICT = "receipt_conflict"  # dead letter reason: a receipt the store refused; its raw is the event
