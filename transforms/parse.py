"""Parse and validate raw messages; invalid ones leave as dead letters, never dropped."""

import os

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.events import Event, parse_event
from receipts.records import DeadLetter, Message

DEAD = "dead"


class ParseEvents(beam.DoFn):
    """Message -> (Message, Event); anything invalid -> DeadLetter on the 'dead' output."""

    def __init__(self) -> None:
        self.valid = Metrics.counter("receipts", "events_valid")
        self.invalid = Metrics.counter("receipts", "events_invalid")

    def process(self, message: Message):
        result = parse_event(message.raw)
        if isinstance(result, Event):
            self.valid.inc()
            yield message, result
        else:
            self.invalid.inc()
            yield beam.pvalue.TaggedOutput(DEAD, DeadLetter.from_invalid(message, result))


class ReadJsonLines(beam.DoFn):
    """A JSONL file -> one Message per non-empty line, split on "\\n" only."""

    def process(self, path: str):
        name = os.path.basename(path)
        with open(path, "rb") as handle:  # binary iteration splits on b"\n" only
            for number, line in enumerate(handle, start=1):
                raw = line.removesuffix(b"\n").removesuffix(b"\r")
                if raw:
                    yield Message(message_id=f"{name}:{number}", raw=raw, position=number)
