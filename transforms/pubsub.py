"""Pub/Sub at the edges of the streaming job: messages in, dead letters out."""

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage

from receipts.producer.publisher import ATTRIBUTE_LIMIT
from receipts.records import DeadLetter, Message


class ToMessage(beam.DoFn):
    """PubsubMessage -> Message: the raw bytes as published, and the Pub/Sub message id."""

    def process(self, pubsub: PubsubMessage):
        yield Message(message_id=pubsub.message_id or "", raw=pubsub.data or b"")


def dead_letter_message(letter: DeadLetter) -> PubsubMessage:
    """A dead letter as a message for the dead-letter topic: the raw bytes as received,
    the reason and who it concerns as attributes."""
    attributes = {
        "reason": letter.reason,
        "detail": _clip(letter.detail),
        "message_id": _clip(letter.message_id),
        "dead_letter_id": letter.dead_letter_id,
    }
    if letter.customer_id:
        attributes["customer_id"] = letter.customer_id
    if letter.idempotent_key:
        attributes["idempotent_key"] = _clip(letter.idempotent_key)
    return PubsubMessage(data=letter.raw, attributes=attributes)


def _clip(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= ATTRIBUTE_LIMIT:
        return text
    return data[: ATTRIBUTE_LIMIT - 3].decode("utf-8", errors="ignore") + "..."
