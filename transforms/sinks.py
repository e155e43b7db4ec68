"""Sinks: dead letters into the store (receipts are written by transforms.chain, which
chains, signs and writes them in one step), and the dead letter of an event the store kept
refusing."""

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.events import Event, FieldError
from receipts.records import RECEIPT_CONFLICT, DeadLetter, Message
from receipts.stores.worker_stores import acquire_store, release_store

DEAD = "dead"


def refused_for_good(message: Message, event: Event, attempts: int) -> DeadLetter:
    """A dead letter for an event the store refused `attempts` times in a row, each time
    chained again on the store's head: another writer kept winning. Its raw message is kept,
    so replaying the dead letters charges it once the other writer is gone."""
    error = FieldError(
        None,
        RECEIPT_CONFLICT,
        f"the store refused its receipt {attempts} times (sequence taken each time: another job writes this "
        f"customer's chain); nothing was charged",
    )
    return DeadLetter.of(message, error, event.customer_id, event.idempotent_key)


class WriteDeadLetters(beam.DoFn):
    """list[DeadLetter] -> the store; the same raw message and reason are kept once."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.kept = Metrics.counter("receipts", "dead_letters")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, batch: list[DeadLetter]):
        self.store.add_dead_letters(batch)
        self.kept.inc(len(batch))
