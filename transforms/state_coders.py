"""Explicit, versioned coders for the streaming job's Beam state.

A pickled state ties `--update` compatibility to Python class layout: a renamed module or
field wedges or mis-decodes a running job. Each coder here writes a small JSON document
with a version number (`"v"`), decodes every version it ever wrote, and refuses one it does
not know with a clear error instead of guessing. Change a state's shape by adding a
version and keep decoding the old ones (tests/test_state_coders.py keeps the bytes each
version wrote, and must keep passing). Moving a running job from pickled state to these
coders is not an in-place `--update` (the coder changed): drain and replace it once.
"""

import base64
import json
from typing import Any

from apache_beam.coders import Coder, registry

from receipts.events import CHARGE, Event
from receipts.ledger import ChainState
from receipts.records import Message

CHAIN_STATE_VERSION = 1
MESSAGE_VERSION = 1
EVENT_VERSION = 2  # 1: a charge; 2: a credit, with kind and corrects


class UnknownStateVersion(ValueError):
    """State bytes written by a newer release (or not ours): refused, never guessed at."""


class _VersionedJson(Coder):
    """A value <-> `{"v": VERSION, ...fields}` in compact, sorted JSON."""

    name = "value"
    version = 1

    def fields(self, value) -> dict[str, Any]:
        raise NotImplementedError

    def build(self, document: dict[str, Any]):
        raise NotImplementedError

    def encode(self, value) -> bytes:
        document = {"v": self.version, **self.fields(value)}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def decode(self, encoded: bytes):
        try:
            document = json.loads(encoded)
        except (UnicodeDecodeError, ValueError) as error:
            raise UnknownStateVersion(f"{self.name} is not a versioned JSON document: {error}") from error
        version = document.get("v") if isinstance(document, dict) else None
        if version != self.version:
            raise UnknownStateVersion(f"{self.name} version {version!r} is not one this release reads ({self.version})")
        return self.build(document)

    def is_deterministic(self) -> bool:
        return True


class MessageCoder(_VersionedJson):
    """receipts.records.Message <-> `{"v":1,"message_id":…,"raw":base64,"position":…}`: what
    the streaming job buffers per customer (GroupIntoBatches) and shuffles between steps."""

    name, version = "message", MESSAGE_VERSION

    def fields(self, message: Message) -> dict[str, Any]:
        raw = base64.b64encode(message.raw).decode("ascii")
        return {"message_id": message.message_id, "raw": raw, "position": message.position}

    def build(self, document: dict[str, Any]) -> Message:
        return Message(document["message_id"], base64.b64decode(document["raw"]), _integer(document["position"]))

    def to_type_hint(self):
        return Message


class EventCoder(_VersionedJson):
    """receipts.events.Event <-> its fields as JSON (the amount in integer minor units). A
    charge is written as version 1 wrote it, byte for byte; a credit (receipt contract v2) as
    version 2, which adds `kind` and `corrects`. Both decode."""

    name, version = "event", EVENT_VERSION
    TEXT = ("idempotent_key", "customer_id", "currency", "timestamp", "entitlement_id", "usage_description", "instant")
    CREDIT_TEXT = ("kind", "corrects")  # version 2

    def encode(self, event: Event) -> bytes:
        document = {"v": 1, "amount_minor": event.amount_minor, **{name: getattr(event, name) for name in self.TEXT}}
        if event.kind != CHARGE:
            document.update({"v": EVENT_VERSION, **{name: getattr(event, name) for name in self.CREDIT_TEXT}})
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def decode(self, encoded: bytes) -> Event:
        try:
            document = json.loads(encoded)
        except (UnicodeDecodeError, ValueError) as error:
            raise UnknownStateVersion(f"{self.name} is not a versioned JSON document: {error}") from error
        version = document.get("v") if isinstance(document, dict) else None
        if version not in (1, 2) or isinstance(version, bool):
            raise UnknownStateVersion(f"{self.name} version {version!r} is not one this release reads (1, 2)")
        names = self.TEXT + (self.CREDIT_TEXT if version == 2 else ())
        return Event(amount_minor=_integer(document["amount_minor"]), **{name: document[name] for name in names})

    def to_type_hint(self):
        return Event


class ChainStateCoder(_VersionedJson):
    """receipts.ledger.ChainState <-> `{"v":1,"customer_id":…,"sequence":…,"head_hash":…,
    "balances":{currency: minor units},"usage":{entitlement_id: minor units}}` (sorted keys,
    integers only: no float ever touches an amount)."""

    name, version = "chain state", CHAIN_STATE_VERSION

    def fields(self, state: ChainState) -> dict[str, Any]:
        return {
            "customer_id": state.customer_id,
            "sequence": state.sequence,
            "head_hash": state.head_hash,
            "balances": state.balances,
            "usage": state.usage,
        }

    def build(self, document: dict[str, Any]) -> ChainState:
        return ChainState(
            customer_id=document["customer_id"],
            sequence=_integer(document["sequence"]),
            head_hash=document["head_hash"],
            balances={currency: _integer(amount) for currency, amount in document["balances"].items()},
            usage={entitlement: _integer(used) for entitlement, used in document["usage"].items()},
        )

    def to_type_hint(self):
        return ChainState


registry.register_coder(Message, MessageCoder)
registry.register_coder(Event, EventCoder)


def _integer(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnknownStateVersion(f"chain state holds {value!r} where an integer belongs")
    return value
