"""Explicit, versioned coders for the streaming job's Beam state.

A pickled state ties `--update` compatibility to Python class layout: a renamed module or
field wedges or mis-decodes a running job. Each coder here writes a small JSON document
with a version number (`"v"`), decodes every version it ever wrote, and refuses one it does
not know with a clear error instead of guessing. Change a state's shape by adding a
version and keep decoding the old ones (tests/test_state_coders.py keeps the bytes each
version wrote, and must keep passing). Moving a running job from pickled state to these
coders is not an in-place `--update` (the coder changed): drain and replace it once.
"""

import json

from apache_beam.coders import Coder

from receipts.ledger import ChainState

CHAIN_STATE_VERSION = 1


class UnknownStateVersion(ValueError):
    """State bytes written by a newer release (or not ours): refused, never guessed at."""


class ChainStateCoder(Coder):
    """receipts.ledger.ChainState <-> `{"v":1,"customer_id":…,"sequence":…,"head_hash":…,
    "balances":{currency: minor units},"usage":{entitlement_id: minor units}}` (sorted keys,
    integers only: no float ever touches an amount)."""

    def encode(self, state: ChainState) -> bytes:
        return json.dumps(
            {
                "v": CHAIN_STATE_VERSION,
                "customer_id": state.customer_id,
                "sequence": state.sequence,
                "head_hash": state.head_hash,
                "balances": state.balances,
                "usage": state.usage,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")

    def decode(self, encoded: bytes) -> ChainState:
        try:
            document = json.loads(encoded)
        except (UnicodeDecodeError, ValueError) as error:
            raise UnknownStateVersion(f"chain state is not a versioned JSON document: {error}") from error
        version = document.get("v") if isinstance(document, dict) else None
        if version != 1:
            raise UnknownStateVersion(f"chain state version {version!r} is not one this release reads (1)")
        return ChainState(
            customer_id=document["customer_id"],
            sequence=_integer(document["sequence"]),
            head_hash=document["head_hash"],
            balances={currency: _integer(amount) for currency, amount in document["balances"].items()},
            usage={entitlement: _integer(used) for entitlement, used in document["usage"].items()},
        )

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self):
        return ChainState


def _integer(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnknownStateVersion(f"chain state holds {value!r} where an integer belongs")
    return value
