"""Beam transforms on their own: TestPipeline + assert_that, TestStream for expiry."""

import itertools
from pathlib import Path
from typing import ClassVar

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from receipts.canonical import ZERO_HASH
from receipts.events import IDEMPOTENCY_CONFLICT
from receipts.ledger import Entitlement
from receipts.records import Message
from receipts.stores.sqlite import SqliteStore
from tests.conftest import event_bytes, make_event
from transforms.chain import ChargeCustomer
from transforms.dedup import DEAD, DUPLICATE, DeduplicateEvents, DeduplicatePerCustomer
from transforms.parse import ParseEvents, ReadJsonLines

pytestmark = pytest.mark.beam
BATCH = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
FIXED_TIME = "2026-01-25T12:00:00.000000Z"


def fixed_clock() -> str:
    return FIXED_TIME


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'receipts.db'}"


def message(position: int, **fields) -> Message:
    return Message(f"m{position}", event_bytes(**fields), position)


def test_read_json_lines_splits_on_newline_only(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    inside = '{"usage_description":"a\u2028b\u2029c\x85d"}'.encode()
    path.write_bytes(inside + b"\n\n" + b'{"x":1}\r\n' + b"last-without-newline")
    with TestPipeline(runner=BATCH) as pipeline:
        lines = pipeline | beam.Create([str(path)]) | beam.ParDo(ReadJsonLines())
        assert_that(
            lines | beam.Map(lambda m: (m.position, m.raw)),
            equal_to([(1, inside), (3, b'{"x":1}'), (4, b"last-without-newline")]),
        )


def test_parse_events_splits_valid_from_dead_letters() -> None:
    messages = [message(1), Message("m2", b"{not json", 2), message(3, amount="-1")]
    with TestPipeline(runner=BATCH) as pipeline:
        parsed = pipeline | beam.Create(messages) | beam.ParDo(ParseEvents()).with_outputs("dead", main="valid")
        assert_that(parsed.valid | beam.Map(lambda item: item[1].idempotent_key), equal_to(["evt-1"]), label="valid")
        assert_that(
            parsed.dead | beam.Map(lambda letter: (letter.message_id, letter.reason, letter.raw)),
            equal_to([("m2", "malformed_json", b"{not json"), ("m3", "invalid_amount", messages[2].raw)]),
            label="dead",
        )


def test_parse_events_refuses_events_timestamped_ahead_of_processing_time() -> None:
    messages = [message(1), message(2, timestamp="2031-01-25T10:30:45Z")]
    with TestPipeline(runner=BATCH) as pipeline:
        parsed = pipeline | beam.Create(messages) | beam.ParDo(ParseEvents(3600)).with_outputs("dead", main="valid")
        assert_that(parsed.valid | beam.Map(lambda item: item[1].idempotent_key), equal_to(["evt-1"]), label="valid")
        assert_that(
            parsed.dead | beam.Map(lambda letter: (letter.message_id, letter.reason)),
            equal_to([("m2", "timestamp_in_future")]),
            label="dead",
        )


def keyed(items: list[Message]) -> list[tuple[tuple[str, str], list]]:
    """Group messages per (customer, key), each element of the streaming step one batch."""
    groups: dict[tuple[str, str], list] = {}
    for item in items:
        event = make_event(**_fields(item))
        groups.setdefault((event.customer_id, event.idempotent_key), []).append((item, event))
    return list(groups.items())


def per_customer(items: list[Message]) -> list[tuple[str, list]]:
    """Group messages per customer as the batch pipeline's GroupByKey before dedup does."""
    groups: dict[str, list] = {}
    for (customer_id, _), batch in keyed(items):
        groups.setdefault(customer_id, []).extend(batch)
    return list(groups.items())


def _fields(item: Message) -> dict:
    import json

    return {name: value for name, value in json.loads(item.raw).items()}


# The streaming step (state, here kept for the job's life) and the batch step (no state: each
# key arrives once, grouped) decide the same.
DEDUPLICATORS = pytest.mark.parametrize(
    "deduplicate, grouped",
    [(lambda url: DeduplicateEvents(url, ttl_seconds=None), keyed), (DeduplicatePerCustomer, per_customer)],
    ids=["stateful", "per_customer"],
)


@DEDUPLICATORS
def test_dedup_keeps_the_first_payload_in_input_order(store_url: str, deduplicate, grouped) -> None:
    first = message(2, amount="10.00")
    retry = message(5, amount="10.00")
    conflicting = message(3, amount="11.00")  # same key, other payload, later in the input
    other_customer = message(4, customer_id="cust_2", amount="99.00")  # same key, other customer
    with TestPipeline(runner=BATCH) as pipeline:
        result = (
            pipeline
            | beam.Create(grouped([retry, conflicting, first, other_customer]))
            | beam.ParDo(deduplicate(store_url)).with_outputs(DEAD, DUPLICATE, main="fresh")
        )
        assert_that(result.fresh | beam.Map(lambda item: item[0].message_id), equal_to(["m2", "m4"]), label="fresh")
        assert_that(result[DUPLICATE] | beam.Map(lambda item: item[0].message_id), equal_to(["m5"]), label="dup")
        assert_that(
            result[DEAD] | beam.Map(lambda letter: (letter.message_id, letter.reason, letter.customer_id)),
            equal_to([("m3", IDEMPOTENCY_CONFLICT, "cust_1")]),
            label="conflict",
        )


@pytest.mark.parametrize("deduplicate, grouped", [(DeduplicatePerCustomer, per_customer)], ids=["per_customer"])
def test_dedup_falls_back_to_the_store_for_keys_it_has_not_seen(
    store_url: str, make_chain, deduplicate, grouped
) -> None:
    """The batch step asks the store; the streaming one leaves that to the charge step's one
    read per micro-batch (tests/test_stream_dedup.py)."""
    from receipts.records import SignedReceipt

    store = SqliteStore(store_url)
    event = make_event(amount="10.00")
    from receipts.ledger import ChainState

    chained = ChainState("cust_1").append(event, None, "kid", FIXED_TIME)
    store.write_receipts([SignedReceipt(chained, "not-checked-here")])
    store.close()
    with TestPipeline(runner=BATCH) as pipeline:
        result = (
            pipeline
            | beam.Create(grouped([message(1, amount="10.00"), message(2, amount="12.00")]))
            | beam.ParDo(deduplicate(store_url)).with_outputs(DEAD, DUPLICATE, main="fresh")
        )
        assert_that(result.fresh, equal_to([]), label="fresh")
        assert_that(result[DUPLICATE] | beam.Map(lambda item: item[0].message_id), equal_to(["m1"]), label="dup")
        assert_that(result[DEAD] | beam.Map(lambda letter: letter.message_id), equal_to(["m2"]), label="dead")


def test_chain_orders_by_timestamp_then_key_and_links_hashes(store_url: str, signer_url: str, keyring) -> None:
    SqliteStore(store_url).set_entitlement(Entitlement("cust_1", "ent", 2500, "USD"))
    events = [
        make_event(idempotent_key="b", amount="10.00", timestamp="2026-01-25T10:00:00Z", entitlement_id="ent"),
        make_event(idempotent_key="a", amount="10.00", timestamp="2026-01-25T10:00:00Z", entitlement_id="ent"),
        make_event(idempotent_key="c", amount="10.00", timestamp="2026-01-25T09:00:00+00:00", entitlement_id="ent"),
        make_event(idempotent_key="d", amount="3.00", timestamp="2026-01-25T11:00:00Z", currency="EUR"),
    ]
    with TestPipeline(runner=BATCH) as pipeline:
        receipts = (
            pipeline
            | beam.Create([("cust_1", [(Message(e.idempotent_key, b""), e) for e in events])])
            | beam.ParDo(ChargeCustomer(store_url, signer_url, keyring.current_kid, clock=fixed_clock))
            | beam.Map(lambda signed: signed.chained)
        )
        assert_that(
            receipts
            | beam.Map(
                lambda r: (
                    r.sequence,
                    r.body["idempotent_key"],
                    r.body["status"],
                    r.body["reason"],
                    r.body["balance_after"],
                    r.body["quota_remaining"],
                )
            ),
            equal_to(
                [
                    (1, "c", "accepted", None, "10.00", "15.00"),
                    (2, "a", "accepted", None, "20.00", "5.00"),
                    (3, "b", "rejected", "quota_exceeded", "20.00", "5.00"),
                    (4, "d", "accepted", None, "3.00", None),
                ]
            ),
        )
        links = receipts | beam.Map(lambda r: (r.sequence, r.body["previous_receipt_hash"], r.receipt_hash))
        assert_that(links, is_linked_chain, label="links")


def test_chain_continues_from_the_stored_head(store_url: str, signer_url: str, keyring) -> None:
    from receipts.ledger import ChainState
    from receipts.records import SignedReceipt

    store = SqliteStore(store_url)
    earlier = ChainState("cust_1").append(make_event(idempotent_key="old", amount="5.00"), None, "kid", FIXED_TIME)
    store.write_receipts([SignedReceipt(earlier, "sig")])
    store.close()
    event = make_event(idempotent_key="new", amount="1.00")
    with TestPipeline(runner=BATCH) as pipeline:
        receipts = (
            pipeline
            | beam.Create([("cust_1", [(Message("m", b""), event)])])
            | beam.ParDo(ChargeCustomer(store_url, signer_url, keyring.current_kid, clock=fixed_clock))
            | beam.Map(lambda signed: signed.chained)
        )
        assert_that(
            receipts | beam.Map(lambda r: (r.sequence, r.body["previous_receipt_hash"], r.body["balance_after"])),
            equal_to([(2, earlier.receipt_hash, "6.00")]),
        )
    assert earlier.body["previous_receipt_hash"] == ZERO_HASH


def is_linked_chain(links: list[tuple[int, str, str]]) -> None:
    """Each receipt's previous_receipt_hash is the hash of the one before it."""
    ordered = sorted(links)
    assert ordered[0][1] == ZERO_HASH
    for (_, _, before), (_, previous, _) in itertools.pairwise(ordered):
        assert previous == before


class Recorder(beam.DoFn):
    """Collects outputs in a class list: assert_that is unreliable with streaming state."""

    seen: ClassVar[list[str]] = []

    def process(self, item):
        Recorder.seen.append(item[0].message_id)


def test_dedup_state_expires_after_the_ttl_then_falls_back_to_the_store(store_url: str) -> None:
    """Within the TTL a retry is a duplicate; once the watermark passes the TTL the state is
    cleared and the key passes again, for the charge step's store read to decide."""
    Recorder.seen = []

    def element(position: int, at: int) -> TimestampedValue:
        item = message(position, amount="10.00")
        return TimestampedValue(keyed([item])[0], at)

    stream = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements([element(1, 0)])
        .advance_watermark_to(30)
        .add_elements([element(2, 40)])  # within the 60 s TTL: duplicate
        .advance_watermark_to(200)  # expiry fires: state cleared
        .add_elements([element(3, 200)])  # state forgot it: on to the charge step's store read
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as pipeline:
        result = (
            pipeline
            | stream
            | beam.ParDo(DeduplicateEvents(store_url, ttl_seconds=60)).with_outputs(DEAD, DUPLICATE, main="fresh")
        )
        result.fresh | "RecordFresh" >> beam.ParDo(Recorder())
    assert Recorder.seen == ["m1", "m3"]


class SteppedClock:
    """Processing time for the dedup step: each call returns the next of `times` (class-level,
    so the copy Beam pickles reads the same list)."""

    times: ClassVar[list[float]] = []

    def __call__(self) -> float:
        return SteppedClock.times.pop(0)


def test_a_dedup_hit_past_the_in_flight_window_is_a_duplicate_only_if_the_store_holds_it(store_url: str) -> None:
    """The first copy of a key passed dedup but its receipt was never stored (refused for good
    and parked as a dead letter, say): its replay 10 minutes later passes on, for the charge
    step's store read to decide (tests/test_stream_dedup.py), not dropped. A retry within the
    in-flight window is a duplicate without asking the store."""
    from transforms.dedup import IN_FLIGHT_SECONDS

    Recorder.seen = []
    SteppedClock.times = [1000.0, 1000.0 + 60, 1000.0 + 2 * IN_FLIGHT_SECONDS]
    stream = TestStream().advance_watermark_to(0)
    for position in (1, 2, 3):
        stream = stream.add_elements([keyed([message(position, amount="10.00")])[0]]).advance_processing_time(1)
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as pipeline:
        result = (
            pipeline
            | stream
            | beam.ParDo(DeduplicateEvents(store_url, ttl_seconds=None, clock=SteppedClock())).with_outputs(
                DEAD, DUPLICATE, main="fresh"
            )
        )
        result.fresh | "RecordFresh" >> beam.ParDo(Recorder())
    assert Recorder.seen == ["m1", "m3"]  # m2: a duplicate within the window; m3: past it, the store decides
