"""The steps both charging jobs share, in order and under the same labels: ParseAndValidate
-> HoldWhileFrozen -> Charge -> ArchiveReceipts (and LogReceipts), and every dead letter (AllDeadLetters ->
BatchDeadLetters -> WriteDeadLetters). pipelines/batch.py feeds them a file's lines, pipelines/streaming.py
Pub/Sub messages (and publishes the dead letters too)."""

from typing import Protocol

import apache_beam as beam

from pipelines.options import signing
from receipts.stores.log_locations import log_url
from transforms.chain import utc_now
from transforms.charge import ChargeEvents
from transforms.intake import HELD, HoldWhileFrozen
from transforms.log import LogTarget
from transforms.parse import DEAD as PARSE_DEAD
from transforms.parse import ParseEvents
from transforms.sinks import WriteDeadLetters

DEAD_LETTER_BATCH = 500  # dead letters per store write


class ChargingSettings(Protocol):
    """What the shared steps read of a job's settings (batch.Settings, streaming.StreamSettings)."""

    store: str
    archive: str
    keys: str | None
    kid: str | None
    signer: str | None
    dedup_ttl_seconds: int
    max_future_seconds: int
    log_origin: str | None
    log_signer: str | None
    log_witnesses: tuple[str, ...]
    log_witness_quorum: int | None


def charge_messages(
    messages: beam.PCollection,
    settings: ChargingSettings,
    archive: beam.PTransform,
    streaming: bool,
    batch: tuple[int, float] = (500, 1.0),
    log: beam.PTransform | None = None,
) -> dict[str, beam.PCollection]:
    """Message -> receipts in the store and `archive`, dead letters in the store; returns the
    job's main outputs: "receipts" (stored), "dead" and "duplicates"; with `log`, the
    stored receipts also trigger the transparency log's integrations (transforms.log). In streaming, each
    customer's events are charged in batches of up to batch[0] events, waiting at most
    batch[1] seconds to fill, and dead letters are written as they come (batches of one or
    more); in batch, 500 at a time. While
    intake is frozen, valid events become `intake_frozen` dead letters instead (transforms.intake)."""
    parsed = messages | "ParseAndValidate" >> beam.ParDo(ParseEvents(settings.max_future_seconds)).with_outputs(
        PARSE_DEAD, main="valid"
    )
    admitted = parsed.valid | "HoldWhileFrozen" >> beam.ParDo(HoldWhileFrozen(settings.store)).with_outputs(
        HELD, main="open"
    )
    signer, kid = signing(settings.signer, settings.keys, settings.kid, settings.store)
    charged = admitted.open | "Charge" >> ChargeEvents(
        settings.store,
        signer,
        kid,
        streaming=streaming,
        dedup_ttl_seconds=settings.dedup_ttl_seconds,
        batch_size=batch[0],
        batch_buffer_seconds=batch[1],
        receipt_clock=getattr(settings, "clock", None) or utc_now,  # batch.Settings may fix it; streaming never
    )
    charged["stored"] | "ArchiveReceipts" >> archive
    if log is not None:
        charged["stored"] | "LogReceipts" >> log
    dead = (parsed[PARSE_DEAD], admitted[HELD], charged["dead"]) | "AllDeadLetters" >> beam.Flatten()
    _ = (
        dead
        | "BatchDeadLetters"
        >> beam.BatchElements(min_batch_size=1 if streaming else DEAD_LETTER_BATCH, max_batch_size=DEAD_LETTER_BATCH)
        | "WriteDeadLetters" >> beam.ParDo(WriteDeadLetters(settings.store))
    )
    return {"receipts": charged["stored"], "dead": dead, "duplicates": charged["duplicates"]}


def log_target(settings: ChargingSettings) -> LogTarget | None:
    """The log a job's settings name: its files beside the archive; None without one."""
    if not (settings.log_origin and settings.log_signer):
        return None
    return LogTarget(
        settings.store,
        log_url(settings.archive),
        settings.log_origin,
        settings.log_signer,
        witnesses=tuple(settings.log_witnesses),
        witness_quorum=settings.log_witness_quorum,
    )
