"""Chain receipts per customer: sequence, previous hash, balances, entitlement usage.

Keyed by customer_id; each element carries a batch of that customer's events (one in
streaming, all of them in a batch job), chained in (timestamp, idempotent_key) order so
a replay is deterministic. The chain state lives in Beam state and is hydrated from
the store on first touch.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from receipts.events import Event
from receipts.ledger import ACCEPTED, ChainState, Entitlement
from receipts.records import Message
from receipts.stores import open_store


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ChainReceipts(beam.DoFn):
    CHAIN = ReadModifyWriteStateSpec("chain_state", PickleCoder())

    def __init__(self, store_url: str, kid: str, clock: Callable[[], str] = utc_now) -> None:
        self.store_url = store_url
        self.kid = kid
        self.clock = clock
        self.accepted = Metrics.counter("receipts", "receipts_accepted")
        self.rejected = Metrics.counter("receipts", "receipts_rejected")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, element: tuple[str, Iterable[tuple[Message, Event]]], chain=beam.DoFn.StateParam(CHAIN)):
        customer_id, batch = element
        state: ChainState = chain.read() or self.store.load_chain(customer_id)
        entitlements: dict[str, Entitlement | None] = {}  # one store read per entitlement per batch
        for _, event in sorted(batch, key=lambda item: item[1].order_key):
            entitlement = None
            if event.entitlement_id:
                if event.entitlement_id not in entitlements:
                    entitlements[event.entitlement_id] = self.store.entitlement(customer_id, event.entitlement_id)
                entitlement = entitlements[event.entitlement_id]
            receipt = state.append(event, entitlement, self.kid, self.clock())
            (self.accepted if receipt.body["status"] == ACCEPTED else self.rejected).inc()
            yield receipt
        chain.write(state)
