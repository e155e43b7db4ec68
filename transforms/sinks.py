"""Sinks: receipts (with their state rows, in chain order) and dead letters into the store."""

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec

from receipts.canonical import canonical_bytes
from receipts.events import FieldError
from receipts.ledger import event_of
from receipts.records import RECEIPT_CONFLICT, DeadLetter, Message, SignedReceipt
from receipts.rows import WriteOutcome
from receipts.stores import open_store

DEAD = "dead"


class WriteReceipts(beam.DoFn):
    """(customer_id, [SignedReceipt]) -> the store, in sequence order; yields what is stored.

    Keyed by customer so one customer's receipts are written by one worker in chain
    order: the store only takes a receipt that extends its stored head, so a crash
    leaves a gap-free prefix and a rerun continues from it. In streaming a receipt may
    overtake its predecessor on the way here; it waits in state until the predecessor
    is written. A batch job hands over a customer's receipts at once, so a missing
    predecessor there is a bug and fails the job rather than leaving a gap.
    """

    WAITING = BagStateSpec("receipts_waiting_for_predecessor", PickleCoder())
    NEXT_SEQUENCE = ReadModifyWriteStateSpec("next_sequence_to_write", VarIntCoder())

    def __init__(self, store_url: str, hold_out_of_order: bool, transaction_size: int = 500) -> None:
        self.store_url = store_url
        self.hold_out_of_order = hold_out_of_order
        self.transaction_size = transaction_size
        self.written = Metrics.counter("receipts", "receipts_written")
        self.replayed = Metrics.counter("receipts", "receipts_already_present")
        self.conflicts = Metrics.counter("receipts", "receipt_conflicts")
        self.waiting = Metrics.counter("receipts", "receipts_waited_for_predecessor")
        self.ledger_conflicts = Metrics.counter("receipts", "ledger_conflicts")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(
        self,
        element: tuple[str, Iterable[SignedReceipt]],
        waiting=beam.DoFn.StateParam(WAITING),
        next_sequence=beam.DoFn.StateParam(NEXT_SEQUENCE),
    ):
        customer_id, batch = element
        arrived = sorted([*waiting.read(), *batch], key=lambda receipt: receipt.chained.sequence)
        waiting.clear()
        expected = next_sequence.read() or self.store.load_chain(customer_id).sequence + 1
        ready = []
        for receipt in arrived:
            sequence = receipt.chained.sequence
            if sequence > expected:  # its predecessor has not arrived yet
                if not self.hold_out_of_order:
                    raise RuntimeError(
                        f"receipt {receipt.receipt_id} is sequence {sequence} of customer {customer_id} but "
                        f"sequence {expected} is missing from this batch; none of the batch was written"
                    )
                self.waiting.inc()
                waiting.add(receipt)
                continue
            ready.append(receipt)
            expected = max(expected, sequence + 1)
        next_sequence.write(expected)
        for start in range(0, len(ready), self.transaction_size):
            chunk = ready[start : start + self.transaction_size]
            conflicts_before = self.store.ledger_conflicts
            outcomes = self.store.write_receipts(chunk)
            self.ledger_conflicts.inc(self.store.ledger_conflicts - conflicts_before)
            for receipt, outcome in zip(chunk, outcomes, strict=True):
                if outcome in (WriteOutcome.CONFLICT, WriteOutcome.NOT_NEXT):
                    self.conflicts.inc()
                    yield beam.pvalue.TaggedOutput(DEAD, not_written(receipt, outcome))
                    continue
                (self.written if outcome is WriteOutcome.WRITTEN else self.replayed).inc()
                yield receipt


def not_written(receipt: SignedReceipt, outcome: WriteOutcome) -> DeadLetter:
    """A dead letter for a receipt the store refused. Its raw message is the event it was
    made from, so replaying the dead letters charges it once the cause is mended."""
    body = receipt.chained.body
    why = (
        f"another receipt is stored as {receipt.receipt_id}"
        if outcome is WriteOutcome.CONFLICT
        else f"sequence {body['sequence']} does not extend the stored chain head of customer {body['customer_id']}"
    )
    error = FieldError(None, RECEIPT_CONFLICT, f"{why}; this receipt was not written, nothing was charged")
    message = Message(f"receipt-{receipt.receipt_id}", canonical_bytes(event_of(body)))
    return DeadLetter.of(message, error, body["customer_id"], body["idempotent_key"])


class WriteDeadLetters(beam.DoFn):
    """list[DeadLetter] -> the store; the same raw message and reason are kept once."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.kept = Metrics.counter("receipts", "dead_letters")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, batch: list[DeadLetter]):
        self.store.add_dead_letters(batch)
        self.kept.inc(len(batch))
