"""Intake's freeze in the pipelines: while the store says intake is frozen, valid events
are held (kept whole as `intake_frozen` dead letters, charged after resume by `receipts
dead-letters replay --reason intake_frozen`), and a reconciliation that finds a
discrepancy can freeze it."""

import logging
import time
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.events import Event, FieldError
from receipts.reconciliation.report import freeze_reason
from receipts.records import INTAKE_FROZEN, DeadLetter, Message
from receipts.rows import IntakeState
from receipts.stores import open_store
from receipts.stores.worker_stores import acquire_store, release_store

HELD = "held"
REREAD_SECONDS = 1.0  # the state is read again at most this often, across bundles
REPLAY = f"receipts dead-letters replay --reason {INTAKE_FROZEN}"
log = logging.getLogger("receipts.intake")


class HoldWhileFrozen(beam.DoFn):
    """(Message, Event) -> itself while intake is open; while frozen -> a DeadLetter with
    reason `intake_frozen` on the 'held' output (raw bytes kept), and nothing is charged.
    The state is read on the first event and then at most once a second, across bundles:
    a streaming runner's bundles may hold one event each, and a store read per bundle would
    be a read per event."""

    def __init__(self, store_url: str, clock=time.monotonic) -> None:
        self.store_url = store_url
        self.clock = clock
        self.held = Metrics.counter("receipts", "events_held_frozen")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)
        self.state: IntakeState | None = None
        self.read_at = 0.0

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, element: tuple[Message, Event]):
        if self.state is None or self.clock() - self.read_at >= REREAD_SECONDS:
            self.state, self.read_at = self.store.intake(), self.clock()
        if not self.state.frozen:
            yield element
            return
        message, event = element
        self.held.inc()
        yield beam.pvalue.TaggedOutput(HELD, held_letter(message, event, self.state))


def held_letter(message: Message, event: Event, state: IntakeState) -> DeadLetter:
    """The dead letter of an event that arrived while intake was frozen: its raw message whole."""
    detail = (
        f"intake is frozen ({state.reason}; since {state.changed_at}, by {state.changed_by}): nothing was charged; "
        f"it is charged after `receipts intake resume` by `{REPLAY}`"
    )
    return DeadLetter.of(message, FieldError(None, INTAKE_FROZEN, detail), event.customer_id, event.idempotent_key)


class FreezeIntakeOnFailure(beam.DoFn):
    """The reconciliation's report -> intake frozen (by "reconciliation") when it has any
    discrepancy; passes the report on, marked `intake_frozen`, so the alert can say so."""

    def __init__(self, store_url: str, report_url: str | None) -> None:
        self.store_url, self.report_url = store_url, report_url
        self.frozen = Metrics.counter("reconcile", "intake_frozen")

    def process(self, report: dict):
        if report["ok"]:
            yield report
            return
        reason = freeze_reason(report, self.report_url)
        store = open_store(self.store_url)
        try:
            store.set_intake(
                IntakeState(True, reason, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "reconciliation")
            )
        finally:
            store.close()
        self.frozen.inc()
        log.warning("intake frozen: %s", reason)
        yield {**report, "intake_frozen": True}
