"""Parse and validate raw messages; invalid ones leave as dead letters, never dropped."""

import os
from datetime import UTC, datetime, timedelta

import apache_beam as beam

from receipts.events import MAX_AHEAD, Event, parse_event
from receipts.records import DeadLetter, Message
from transforms.tally import TalliedCounter

DEAD = "dead"


class ParseEvents(beam.DoFn):
    """Message -> (Message, Event); anything invalid -> DeadLetter on the 'dead' output.
    An event timestamped more than `max_future_seconds` ahead of processing time (read once
    per bundle) is invalid."""

    def __init__(self, max_future_seconds: int = int(MAX_AHEAD.total_seconds())) -> None:
        self.valid = TalliedCounter("events_valid")
        self.invalid = TalliedCounter("events_invalid")
        self.max_ahead = timedelta(seconds=max_future_seconds)

    def start_bundle(self) -> None:
        self.now = datetime.now(UTC)

    def process(self, message: Message):
        result = parse_event(message.raw, self.now, self.max_ahead)
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
