"""Chain, sign and write per customer, in one step: the store's chain head is the truth.

Keyed by customer_id; each element carries a batch of that customer's fresh events (one or
a few in streaming, all of them in a batch job), chained in (timestamp, idempotent_key)
order, signed with the key each body names (a delegated signer's: the key of the body's
processed_at window, the same on every worker), and written in chain order. Beam state keeps
the chain (head, balances, usage) so the store need not be read per event; it is only a
cache. When the store refuses a receipt (NOT_NEXT or CONFLICT: two jobs on one
subscription, a job resumed from older state, a backfill into the same store, a retried
bundle whose first attempt committed), the head is read again from the store and each
refused event is settled against it: already stored (the same event under its key) is a
replay; a different event under its key is an idempotency conflict; anything else is
chained again on the store's head and written. So one refusal never strands a customer,
and no checkpoint is needed between chaining and writing: the store decides.

In streaming the batch's keys are first asked of the store in one read (dedup's look-up for
keys its state does not vouch for, one per micro-batch instead of one per event): an event
already charged is a duplicate (its stored receipt emitted again unless the store's head is
still the committed cache: a retried bundle must emit what its first attempt wrote, and once
an attempt has read a customer's head from the store it cannot tell); another payload under
its key is an idempotency conflict.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.transforms.window import TimestampedValue

from receipts.canonical import canonical_bytes
from receipts.contract import signed_body
from receipts.credits import ChargeBook
from receipts.events import Event
from receipts.ledger import ACCEPTED, ChainedReceipt, ChainState, Entitlement
from receipts.records import Message, SignedReceipt
from receipts.rows import WriteOutcome
from receipts.stores.signers import signer_from_url
from receipts.stores.worker_stores import acquire_store, release_store
from transforms.dedup import DUPLICATE, against_store, conflict
from transforms.sign import processed_at, sign_in_windows, signing_kid
from transforms.sinks import DEAD, refused_for_good
from transforms.state_coders import ChainStateCoder
from transforms.tally import TalliedCounter

REFUSED = (WriteOutcome.NOT_NEXT, WriteOutcome.CONFLICT)
ATTEMPTS = 5  # refusals in a row before the events are dead letters: another writer keeps winning


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FixedClock:
    """One instant for every receipt (`processed_at`): a run whose results do not depend on
    when or in how many processes it ran, so two runs can be compared byte for byte (tests,
    benchmarks). A class, not a lambda, so worker processes unpickle it by name."""

    def __init__(self, at: str) -> None:
        self.at = at

    def __call__(self) -> str:
        return self.at


class ChargeCustomer(beam.DoFn):
    """(customer_id, [(Message, Event)]) -> stored SignedReceipts (timestamped with when they
    were made); dead letters on DEAD."""

    CHAIN = ReadModifyWriteStateSpec("chain_state", ChainStateCoder())

    def __init__(
        self,
        store_url: str,
        signer_url: str,
        kid: str,
        clock: Callable[[], str] = utc_now,
        transaction_size: int = 500,
        check_store: bool = False,
    ) -> None:
        """`check_store` (streaming): the batch's keys are first asked of the store in one read
        (transforms.dedup.against_store), what it already holds is a duplicate or a replay, and
        only the rest is chained; batch has asked before (DeduplicatePerCustomer)."""
        self.store_url, self.signer_url, self.kid = store_url, signer_url, kid
        self.clock, self.transaction_size, self.check_store = clock, transaction_size, check_store
        self.duplicates = Metrics.counter("receipts", "duplicates")
        self.lookups = Metrics.counter("receipts", "store_idempotency_reads")
        self.accepted = Metrics.counter("receipts", "receipts_accepted")
        self.rejected = Metrics.counter("receipts", "receipts_rejected")
        self.written = TalliedCounter("receipts_written")
        self.replayed = Metrics.counter("receipts", "receipts_already_present")
        self.refusals = Metrics.counter("receipts", "receipts_rechained")
        self.conflicts = Metrics.counter("receipts", "receipt_conflicts")
        self.idempotency_conflicts = Metrics.counter("receipts", "idempotency_conflicts")
        self.ledger_conflicts = Metrics.counter("receipts", "ledger_conflicts")
        self.transactions = Metrics.counter("receipts", "store_write_transactions")
        self.mutations = Metrics.counter("receipts", "store_write_mutations")

    def start_bundle(self) -> None:
        # Customers whose head this attempt read from the store: what it holds past the
        # committed cache may be a failed attempt's writes, so their receipts are emitted.
        self.heads_from_store: set[str] = set()

    def setup(self) -> None:
        self.heads_from_store = set()
        self.store = acquire_store(self.store_url)
        self.signer = signer_from_url(self.signer_url, self.store)  # a delegated signer keeps its keys there
        if self.signer.kid != self.kid:
            raise ValueError(f"the signer {self.signer_url} holds key {self.signer.kid}, not {self.kid}")

    def teardown(self) -> None:
        release_store(self.store)
        close = getattr(self.signer, "close", None)
        if close is not None:
            close()

    def process(self, element: tuple[str, Iterable[tuple[Message, Event]]], chain=beam.DoFn.StateParam(CHAIN)):
        customer_id, batch = element
        pending = sorted(batch, key=lambda item: item[1].order_key)
        cached: ChainState | None = chain.read()
        state: ChainState = cached or self.store.load_chain(customer_id)
        if cached is None:
            self.heads_from_store.add(customer_id)
        if self.check_store:
            pending, state, outputs = self._against_store(customer_id, pending, state)
            yield from outputs
            if not pending:
                chain.write(state)
                return
        entitlements: dict[str, Entitlement | None] = {}  # one store read per entitlement per batch
        for _ in range(ATTEMPTS):
            refused: list[tuple[Message, Event]] = []
            charges = ChargeBook(lambda receipt_id: self.store.charge(customer_id, receipt_id))  # as the store has them
            for receipt, outcome, item in self._charge(state, pending, entitlements, charges):
                if outcome in REFUSED:
                    refused.append(item)
                    continue
                (self.written if outcome is WriteOutcome.WRITTEN else self.replayed).inc()
                yield TimestampedValue(receipt, processed_at(receipt.chained))
            if not refused:
                break
            self.refusals.inc(len(refused))
            state = self.store.load_chain(customer_id)  # the store's head is the truth
            self.heads_from_store.add(customer_id)
            pending = []
            for outcome in self._settle(refused):
                if isinstance(outcome, tuple):
                    pending.append(outcome)
                else:
                    yield outcome
            if not pending:
                break
        else:
            for message, event in pending:
                self.conflicts.inc()
                yield beam.pvalue.TaggedOutput(DEAD, refused_for_good(message, event, ATTEMPTS))
        chain.write(state)

    def _charge(self, state: ChainState, items: list[tuple[Message, Event]], entitlements: dict, charges: ChargeBook):
        """Chain `items` on `state` (advancing it), sign, write in chunks: (receipt, outcome, item).
        A credit sees the charge it corrects as the store has it and as this batch changed it."""
        chained: list[ChainedReceipt] = []
        for _, event in items:
            entitlement = None
            entitlement_id = state.entitlement_of(event, charges)
            if entitlement_id:
                if entitlement_id not in entitlements:
                    entitlements[entitlement_id] = self.store.entitlement(event.customer_id, entitlement_id)
                entitlement = entitlements[entitlement_id]
            at = self.clock()
            receipt = state.append(event, entitlement, signing_kid(self.signer, at), at, charges)
            (self.accepted if receipt.body["status"] == ACCEPTED else self.rejected).inc()
            chained.append(receipt)
        signed = sign_in_windows(self.signer, chained)
        for start in range(0, len(signed), self.transaction_size):
            chunk = signed[start : start + self.transaction_size]
            before = self.store.ledger_conflicts
            counts = self.store.write_counts
            transactions, mutations = counts.transactions, counts.mutations
            outcomes = self.store.write_receipts(chunk)
            self.ledger_conflicts.inc(self.store.ledger_conflicts - before)
            self.transactions.inc(counts.transactions - transactions)
            self.mutations.inc(counts.mutations - mutations)
            yield from zip(chunk, outcomes, items[start : start + self.transaction_size], strict=True)

    def _against_store(self, customer_id: str, items: list, state: ChainState):
        """One store read for the batch's keys: (the events still to charge, the chain state to
        charge them on, outputs). An event already charged under its key is a duplicate. Unless
        the store's head is still the committed cache (so an earlier, committed bundle charged
        it), its stored receipt is emitted again too: a retried bundle whose first attempt
        wrote it must still emit it, and a head read from the store in this attempt (this
        batch or an earlier one of the bundle) cannot tell."""
        self.lookups.inc()
        verdicts = against_store(self.store, customer_id, items)
        outputs: list = []
        for output in verdicts.outputs:
            (self.duplicates if output.tag == DUPLICATE else self.idempotency_conflicts).inc()
            outputs.append(output)
        if verdicts.held and customer_id not in self.heads_from_store:
            head = self.store.load_chain(customer_id)
            if (head.sequence, head.head_hash) != (state.sequence, state.head_hash):
                state = head  # written since the committed cache
                self.heads_from_store.add(customer_id)
        for item, record in verdicts.held:
            self.duplicates.inc()
            outputs.append(beam.pvalue.TaggedOutput(DUPLICATE, item))
            if customer_id in self.heads_from_store:
                outputs.extend(self._stored(record))
        return verdicts.fresh, state, outputs

    def _stored(self, record):
        """The stored receipt of `record` (the same event, already charged), as the job would
        have yielded it (none if the store no longer has it)."""
        stored = self.store.receipt(record.receipt_id)
        if stored is not None:
            receipt = as_signed(stored)
            yield TimestampedValue(receipt, processed_at(receipt.chained))

    def _settle(self, refused: list[tuple[Message, Event]]):
        """Each refused event (all of one customer) against the store, whose keys it reads at
        once: its stored receipt (a replay), a conflict dead letter (another event holds its
        key), or the item itself, to chain again."""
        held = self.store.lookup_idempotency_many(
            refused[0][1].customer_id, [event.idempotent_key for _, event in refused]
        )
        for message, event in refused:
            record = held.get(event.idempotent_key)
            if record is None:
                yield (message, event)
            elif record.event_sha256 == event.event_sha256:
                self.replayed.inc()
                yield from self._stored(record)
            else:
                self.idempotency_conflicts.inc()
                yield beam.pvalue.TaggedOutput(DEAD, conflict(message, event))


class _NoChainState:
    """Where ChargeCustomer keeps a customer's chain between batches, for a job that hands it
    each customer once: nothing to keep, the store's head is read instead."""

    def read(self) -> None:
        return None

    def write(self, state: ChainState) -> None:
        pass


class ChargeCustomerOnce(ChargeCustomer):
    """Batch: ChargeCustomer for a job whose GroupByKey hands it all of a customer's events as
    one element, so no Beam state (it would only be read once, empty). A stateless step is
    one the FnApiRunner spreads over its worker processes, customers split between them; a
    stateful one it runs in one worker (pipelines/workers.py)."""

    def process(self, element: tuple[str, Iterable[tuple[Message, Event]]]):
        yield from super().process(element, chain=_NoChainState())


def as_signed(record: dict) -> SignedReceipt:
    """A stored receipt (export format) as the SignedReceipt the job would have yielded."""
    body = signed_body(record)
    return SignedReceipt(ChainedReceipt(body, canonical_bytes(body), record["receipt_hash"], None), record["signature"])
