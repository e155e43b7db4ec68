"""Credits in the streaming job's micro-batches (GroupIntoBatches per customer): two credits of
one charge in one batch see each other's amounts, a charge and its credit can share a batch,
and a credit chained on a stale head (another writer credited the charge meanwhile) is
settled against the store's truth."""

from pathlib import Path

import pytest
from apache_beam.testing.test_stream import TestStream

from receipts.credits import CREDIT_EXCEEDS_CHARGE
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import Message, SignedReceipt
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.conftest import make_event
from tests.test_micro_batches import run_stream, stored
from transforms.chain import ChargeCustomer

pytestmark = pytest.mark.beam
CUSTOMER = "cust_race"


def item(key: str, amount: str, minute: int, **fields):
    event = make_event(
        customer_id=CUSTOMER, idempotent_key=key, amount=amount, timestamp=f"2026-01-25T10:{minute:02d}:00Z", **fields
    )
    return (Message(f"m-{key}", b"", minute), event)


def credit(key: str, amount: str, minute: int, charge_key: str):
    corrects = make_event(customer_id=CUSTOMER, idempotent_key=charge_key).receipt_id
    return item(key, amount, minute, type="credit", corrects=corrects)


def test_two_credits_of_one_charge_in_one_batch_see_each_other(tmp_path: Path, signer_url, keyring, jwks) -> None:
    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    stream = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements([item("c-1", "5.00", 0)])
        .advance_processing_time(5)  # the charge is its own batch, written before the credits arrive
        .add_elements(
            [
                credit("cr-a", "3.00", 1, "c-1"),
                credit("cr-b", "3.00", 2, "c-1"),  # 3.00 + 3.00 > 5.00: refused
                item("c-2", "4.00", 3),
                credit("cr-c", "4.00", 4, "c-2"),  # the charge chained earlier in this very batch
                credit("cr-d", "2.00", 5, "c-1"),  # 3.00 + 2.00 = 5.00: the rest of c-1
            ]
        )
        .advance_processing_time(5)
        .advance_watermark_to_infinity()
    )
    counts = run_stream(store_url, signer_url, keyring.current_kid, stream, size=8, buffer=1)
    assert counts["receipts_written"] == 6 and counts["store_write_transactions"] == 2
    receipts = {r["idempotent_key"]: r for r in stored(store_url, CUSTOMER)}
    assert [(k, r["status"], r["reason"], r["balance_after"]) for k, r in receipts.items()] == [
        ("c-1", "accepted", None, "5.00"),
        ("cr-a", "accepted", None, "2.00"),
        ("cr-b", "rejected", CREDIT_EXCEEDS_CHARGE, "2.00"),
        ("c-2", "accepted", None, "6.00"),
        ("cr-c", "accepted", None, "2.00"),
        ("cr-d", "accepted", None, "0.00"),
    ]
    assert all(result.ok for result in verify_chain(list(receipts.values()), jwks))
    store = SqliteStore(store_url)
    try:
        charges = [store.charge(CUSTOMER, receipts[k]["receipt_id"]) for k in ("c-1", "c-2")]
        assert [c.credited_minor for c in charges] == [500, 400]
    finally:
        store.close()


class StaleState:
    """A Beam state cell holding what the job last wrote, older than the store's head."""

    def __init__(self, state: ChainState) -> None:
        self.state = state

    def read(self) -> ChainState:
        return self.state

    def write(self, state: ChainState) -> None:
        self.state = state


def test_a_credit_on_a_stale_head_is_settled_against_the_stores_credits(tmp_path: Path, signer_url, keyring) -> None:
    from receipts.credits import ChargeBook
    from receipts.stores.signers import signer_from_url

    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    store, signer = SqliteStore(store_url), signer_from_url(signer_url)
    state, book = ChainState(CUSTOMER), ChargeBook()
    charged = state.append(item("c-1", "5.00", 0)[1], None, signer.kid, "2026-01-25T12:00:00Z", book)
    stale = ChainState(CUSTOMER, state.sequence, state.head_hash, dict(state.balances))
    other = state.append(credit("cr-other", "4.00", 1, "c-1")[1], None, signer.kid, "2026-01-25T12:00:01Z", book)
    for chained in (charged, other):  # the job's cell saw the charge; another writer credited 4.00 since
        store.write_receipts([SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])])

    step = ChargeCustomer(store_url, signer_url, keyring.current_kid)
    step.setup()
    try:
        cell = StaleState(stale)
        out = list(step.process((CUSTOMER, [credit("cr-mine", "2.00", 2, "c-1")]), chain=cell))
    finally:
        step.teardown()
    [receipt] = [value.value for value in out]
    assert (receipt.chained.sequence, receipt.chained.body["reason"]) == (3, CREDIT_EXCEEDS_CHARGE)
    assert cell.state.sequence == 3 and cell.state.balances == {"USD": 100}
    assert store.charge(CUSTOMER, charged.receipt_id).credited_minor == 400
    store.close()
