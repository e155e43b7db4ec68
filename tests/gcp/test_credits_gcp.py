"""Credit notes on SpannerFirestoreStore (the real emulators): a charge as a credit sees it,
its ChargeCredits row written in the credit's commit (and not by a refused or replayed one),
a charge the ledger lost found through the outbox, the reconciliation's and the restore's
view of the credited totals."""

from receipts.credits import ChargeBook
from receipts.jws import sign_payloads
from receipts.ledger import ChainState, Entitlement
from receipts.records import SignedReceipt
from receipts.rows import WriteOutcome
from receipts.stores.gcp.ledger import RECEIPTS
from receipts.stores.signers import LocalKeySigner
from tests.conftest import PROCESSED_AT, make_event

CUSTOMER = "cust_credit"


def signed(keyring, chained) -> SignedReceipt:
    signer = LocalKeySigner(keyring.private_pem(keyring.current_kid))
    return SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])


def test_a_credit_is_committed_with_its_charges_credited_total(cloud, keyring) -> None:
    store = cloud.store()
    cap = Entitlement(CUSTOMER, "ent", 1000, "USD")
    store.set_entitlement(cap)
    state, book = ChainState(CUSTOMER), ChargeBook()
    charge_event = make_event(customer_id=CUSTOMER, idempotent_key="c-1", amount="6.00", entitlement_id="ent")
    charge = signed(keyring, state.append(charge_event, cap, keyring.current_kid, PROCESSED_AT, book))
    assert store.write_receipts([charge]) == [WriteOutcome.WRITTEN]
    seen = store.charge(CUSTOMER, charge.receipt_id)
    assert (seen.kind, seen.amount_minor, seen.currency, seen.entitlement_id, seen.credited_minor) == (
        "charge", 600, "USD", "ent", 0,
    )  # fmt: skip
    assert store.charge("someone_else", charge.receipt_id) is None

    book = ChargeBook(lambda rid: store.charge(CUSTOMER, rid))
    credit = make_event(customer_id=CUSTOMER, idempotent_key="cr-1", amount="2.50", type="credit",
                        corrects=charge.receipt_id)  # fmt: skip
    accepted = signed(keyring, state.append(credit, cap, keyring.current_kid, PROCESSED_AT, book))
    over = make_event(customer_id=CUSTOMER, idempotent_key="cr-2", amount="4.00", type="credit",
                      corrects=charge.receipt_id)  # fmt: skip
    refused = signed(keyring, state.append(over, cap, keyring.current_kid, PROCESSED_AT, book))
    assert refused.chained.body["reason"] == "credit_exceeds_charge"
    assert store.write_receipts([accepted, refused]) == [WriteOutcome.WRITTEN] * 2
    assert store.charge(CUSTOMER, charge.receipt_id).credited_minor == 250
    chain = store.load_chain(CUSTOMER)
    assert chain.balances == {"USD": 350} and chain.usage == {"ent": 350}
    assert store.write_receipts([accepted]) == [WriteOutcome.ALREADY_PRESENT]  # a replay credits nothing twice
    assert store.charge(CUSTOMER, charge.receipt_id).credited_minor == 250
    rows = store.customer_state(CUSTOMER).credits
    assert {rid: (row.amount, row.as_of_sequence) for rid, row in rows.items()} == {charge.receipt_id: ("250", 2)}

    # The ledger lost the charge (a kill between the Spanner commit and Firestore): still found.
    store._firestore.collection(RECEIPTS).document(charge.receipt_id).delete()
    for later in (accepted, refused):
        store._firestore.collection(RECEIPTS).document(later.receipt_id).delete()
    assert store.charge(CUSTOMER, charge.receipt_id).credited_minor == 250


def test_restore_rewrites_the_credited_totals_from_the_verified_chain(cloud, keyring) -> None:
    store = cloud.store()
    state, book = ChainState("cust_restore"), ChargeBook()
    made = []
    for event in (
        make_event(customer_id="cust_restore", idempotent_key="c-1", amount="5.00"),
        make_event(customer_id="cust_restore", idempotent_key="cr-1", amount="1.00", type="credit",
                   corrects=make_event(customer_id="cust_restore", idempotent_key="c-1").receipt_id),
    ):  # fmt: skip
        made.append(signed(keyring, state.append(event, None, keyring.current_kid, PROCESSED_AT, book)))
    store.write_receipts(made)
    with store._database.batch() as batch:  # a damaged row
        batch.insert_or_update(
            "ChargeCredits",
            ["CustomerId", "ReceiptId", "CreditedMinor", "AsOfSequence"],
            [["cust_restore", made[0].receipt_id, 999, 2]],
        )
    outcome = store.restore_chain("cust_restore", [r.export() for r in made])
    assert outcome.refused is None and outcome.state_written >= 1
    assert store.charge("cust_restore", made[0].receipt_id).credited_minor == 100
