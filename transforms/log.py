"""Integrating the transparency log from the store (receipts.stores.log_sequencer): these
steps decide when, the store decides what. Stored receipts only say that something is
waiting; every integration appends whatever the store holds and the log does not, so a
receipt a killed job stored is logged by the next integration, and a duplicate trigger
finds nothing left.

- `LogWhenDone` (batch): one integration once every receipt is written, ending with a
  signed checkpoint of everything stored.
- `LogEvery` (streaming): one integration when the job starts (what an earlier job left),
  then one per `interval_seconds` of processing time while receipts are stored. The
  triggers (a count per pane, combined before the shuffle) go to one key, so one sequencer
  step at a time appends: the log is one sequence. An integration that fails (an outage)
  is tried again `interval_seconds` later by a processing-time timer, so what it left is
  logged even when no receipt follows.
"""

import logging
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger, window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Duration, Timestamp

from receipts.stores.log_locations import open_log_files
from receipts.stores.log_sequencer import LOG_BATCH_ENTRIES, LogRun, integrate_log
from receipts.stores.log_signers import log_signer_from_url
from receipts.stores.witnessing import Witnesses, WitnessPolicy
from receipts.stores.worker_stores import acquire_store, release_store
from transforms.tally import TalliedCounter

log = logging.getLogger("receipts.log")
SEQUENCER = "log"  # the one key every trigger goes to


@dataclass(frozen=True)
class LogTarget:
    """Which log a job integrates: the store it derives from, where its files go, its
    origin and its checkpoint signer (a URL: file://…/log.key or kms://…)."""

    store: str
    files: str
    origin: str
    signer: str
    max_entries: int = LOG_BATCH_ENTRIES
    witnesses: tuple[str, ...] = ()  # VKEY@URL each (receipts.stores.witnessing)
    witness_quorum: int | None = None


class LogWhenDone(beam.PTransform):
    """Stored receipts -> (once they are all written) one integration and a checkpoint."""

    def __init__(self, target: LogTarget) -> None:
        super().__init__()
        self.target = target

    def expand(self, receipts):
        return (
            receipts
            | "CountStored" >> beam.combiners.Count.Globally()
            | "IntegrateLog" >> beam.ParDo(IntegrateLog(self.target))
        )


class LogEvery(beam.PTransform):
    """Stored receipts -> an integration at start, then one per `interval_seconds` of
    processing time (while receipts come), all through one sequencer key."""

    def __init__(self, target: LogTarget, interval_seconds: int = 10) -> None:
        super().__init__()
        self.target, self.interval_seconds = target, interval_seconds

    def expand(self, receipts):
        at_start = (
            receipts.pipeline | "AtStart" >> beam.Impulse() | "StartTrigger" >> beam.Map(lambda _: (SEQUENCER, 0))
        )
        ticks = (
            receipts
            | "EveryInterval"
            >> beam.WindowInto(
                window.GlobalWindows(),
                # whole seconds: the runner API carries the delay in milliseconds, Beam reads seconds
                trigger=trigger.Repeatedly(trigger.AfterProcessingTime(max(1, int(self.interval_seconds)))),
                accumulation_mode=trigger.AccumulationMode.DISCARDING,
            )
            | "CountStored" >> beam.CombineGlobally(beam.combiners.CountCombineFn()).without_defaults()
            | "DefaultTrigger" >> beam.WindowInto(window.GlobalWindows())
            | "ToSequencer" >> beam.Map(lambda count: (SEQUENCER, count))
        )
        return (
            (at_start, ticks)
            | "Triggers" >> beam.Flatten()
            | "IntegrateLog" >> beam.ParDo(SequenceLog(self.target, self.interval_seconds))
        )


class IntegrateLog(beam.DoFn):
    """Any element -> one integration of the log (everything stored and unlogged) and a
    checkpoint. A failure is logged and counted, never raised: the receipts are stored, and
    the next integration (or `receipts log integrate`) logs them."""

    def __init__(self, target: LogTarget) -> None:
        self.target = target
        self.integrations = Metrics.counter("receipts", "log_integrations")
        self.logged = TalliedCounter("receipts_logged")
        self.failures = Metrics.counter("receipts", "log_failures")
        self.size = Metrics.gauge("receipts", "log_size")
        self.below_quorum = Metrics.counter("receipts", "log_checkpoints_below_quorum")

    def setup(self) -> None:
        self.store = acquire_store(self.target.store)
        self.files = open_log_files(self.target.files)
        self.signer = log_signer_from_url(self.target.signer, self.target.origin)
        self.witnesses = Witnesses(WitnessPolicy.parse(self.target.witnesses, self.target.witness_quorum))

    def teardown(self) -> None:
        release_store(self.store)

    def integrate(self) -> LogRun:
        run = integrate_log(
            self.store, self.files, self.signer, self.target.origin, self.target.max_entries, witnesses=self.witnesses
        )
        self.integrations.inc()
        if run.witnessing is not None and not run.witnessing.quorum_met:
            self.below_quorum.inc()
        self.logged.inc(run.logged)
        if run.ok:
            self.size.set(run.size)
        else:
            self.failures.inc()
            log.error("log integration stopped: %s; `receipts log integrate` finishes it", run.failed[0])
        return run

    def process(self, element):
        self.integrate()
        return ()


class SequenceLog(IntegrateLog):
    """(sequencer key, trigger) -> an integration: the state makes this step stateful, so
    the runner runs the key's triggers one at a time. A failed integration sets the retry
    timer: without it, what the failure left would wait for the next stored receipt."""

    LOGGED_SIZE = ReadModifyWriteStateSpec("logged_size", VarIntCoder())
    RETRY = TimerSpec("retry_integration", TimeDomain.REAL_TIME)

    def __init__(self, target: LogTarget, retry_seconds: int = 10) -> None:
        super().__init__(target)
        self.retry_seconds = max(1, int(retry_seconds))

    def process(
        self,
        element,
        logged_size=beam.DoFn.StateParam(LOGGED_SIZE),
        retry=beam.DoFn.TimerParam(RETRY),
    ):
        self.sequence(logged_size, retry)
        return ()

    @on_timer(RETRY)
    def retry_integration(
        self,
        logged_size=beam.DoFn.StateParam(LOGGED_SIZE),
        retry=beam.DoFn.TimerParam(RETRY),
    ):
        self.sequence(logged_size, retry)
        return ()

    def sequence(self, logged_size, retry) -> None:
        run = self.integrate()
        if run.ok:
            logged_size.write(run.size)
            retry.clear()
        else:
            retry.set(Timestamp.now() + Duration(seconds=self.retry_seconds))
