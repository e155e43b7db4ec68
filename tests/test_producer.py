"""The producer client without Pub/Sub: local validation, the bytes it publishes, retries
with the same bytes, and waiting for the receipt. End to end on the emulator:
tests/gcp/test_ingest_gcp.py."""

import json
from concurrent.futures import Future
from decimal import Decimal

import pytest
from google.api_core import exceptions as api_exceptions

from receipts.canonical import receipt_id
from receipts.producer import (
    IdempotencyConflict,
    InvalidEvent,
    Producer,
    ReceiptTimeout,
    Sent,
    event_message,
    wait_for_receipt,
)
from tests.conftest import event_bytes, make_event

EVENT = {
    "idempotent_key": "evt-1",
    "customer_id": "cust_1",
    "amount": "150.00",
    "currency": "USD",
    "timestamp": "2026-01-25T10:30:45Z",
}


class FakeClient:
    """A PublisherClient whose publishes fail with `errors` first, then succeed."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.published: list[tuple[str, bytes, dict[str, str]]] = []
        self.stopped = False

    def publish(self, topic: str, data: bytes, retry=None, timeout=None, **attributes: str) -> Future:
        self.published.append((topic, data, attributes))
        future: Future = Future()
        if self.errors:
            future.set_exception(self.errors.pop(0))
        else:
            future.set_result(f"m{len(self.published)}")
        return future

    def stop(self) -> None:
        self.stopped = True


def test_a_mapping_is_sent_as_compact_utf8_json_and_bytes_as_they_are() -> None:
    assert event_message({**EVENT, "usage_description": "café"}) == json.dumps(
        {**EVENT, "usage_description": "café"}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    assert json.loads(event_message({**EVENT, "amount": Decimal("7.50")}))["amount"] == "7.50"
    raw = b'{ "any":  "bytes" }'
    assert event_message(raw) == raw


def test_a_float_amount_is_refused_before_anything_is_sent() -> None:
    client = FakeClient()
    with pytest.raises(InvalidEvent, match="float"), Producer("billing-local", client=client) as producer:
        producer.send({**EVENT, "amount": 0.1})
    assert client.published == [] and client.stopped


def test_an_invalid_event_lists_every_reason_and_nothing_is_sent() -> None:
    client = FakeClient()
    producer = Producer("billing-local", client=client)
    with pytest.raises(InvalidEvent) as raised:
        producer.send_many([EVENT, {**EVENT, "amount": "1.001", "currency": "usd", "colour": "red"}])
    assert raised.value.index == 1
    assert [error.reason for error in raised.value.errors] == ["unknown_currency", "unknown_field"]
    assert "event 1: not sent" in str(raised.value)
    assert client.published == []  # not even the valid first event


def test_an_event_timestamped_years_ahead_is_refused_before_anything_is_sent() -> None:
    client = FakeClient()
    with pytest.raises(InvalidEvent, match="timestamp_in_future"):
        Producer("billing-local", client=client).send({**EVENT, "timestamp": "2099-01-01T00:00:00Z"})
    assert client.published == []


def test_an_event_is_published_with_its_attributes_and_its_receipt_id_known() -> None:
    client = FakeClient()
    sent = Producer("billing-local", client=client).send(event_bytes())
    assert sent == Sent(receipt_id("cust_1", "evt-1"), "m1", make_event().event_sha256)
    assert client.published == [
        (
            "projects/billing-local/topics/billing-events",
            event_bytes(),
            {"idempotent_key": "evt-1", "customer_id": "cust_1"},
        )
    ]


def test_a_transient_failure_is_retried_with_the_same_bytes() -> None:
    client = FakeClient(api_exceptions.ServiceUnavailable("down"), api_exceptions.DeadlineExceeded("slow"))
    sent = Producer("billing-local", client=client, retry_for=30).send(EVENT)
    assert sent.message_id == "m3"
    assert len({(data, tuple(sorted(attributes.items()))) for _, data, attributes in client.published}) == 1
    assert len(client.published) == 3


def test_a_permanent_failure_is_raised_at_once() -> None:
    client = FakeClient(api_exceptions.NotFound("no topic"))
    with pytest.raises(api_exceptions.NotFound):
        Producer("billing-local", client=client).send(EVENT)
    assert len(client.published) == 1


def test_waiting_needs_somewhere_to_read_receipts() -> None:
    with pytest.raises(ValueError, match="receipts="):
        Producer("billing-local", client=FakeClient()).send(EVENT, wait=True)


def test_waiting_returns_the_receipt_of_this_payload_once_written() -> None:
    sent = Sent("r_x", "m1", "a" * 64)
    answers = iter([None, None, {"receipt_id": "r_x", "event_sha256": "a" * 64}])
    naps: list[float] = []
    receipt = wait_for_receipt(lambda _: next(answers), sent, timeout=60, sleep=naps.append)
    assert receipt["receipt_id"] == "r_x" and naps == [0.2, pytest.approx(0.3)]


def test_a_receipt_for_another_payload_under_the_key_is_a_conflict() -> None:
    with pytest.raises(IdempotencyConflict, match="another payload"):
        wait_for_receipt(lambda _: {"event_sha256": "b" * 64}, Sent("r_x", "m1", "a" * 64), timeout=1)


def test_no_receipt_in_time_is_a_timeout_that_says_it_is_still_coming() -> None:
    with pytest.raises(ReceiptTimeout, match="not written after"):
        wait_for_receipt(lambda _: None, Sent("r_x", "m1", "a" * 64), timeout=0.1, sleep=lambda _: None)
