"""A customer with an account worth showing (tests/site/test_account*.py): charges and credits
over two months in two currencies, a refused credit, hostile text, and signed statements."""

from typing import Any

from receipts.api_keys import issue_api_key
from receipts.credits import ChargeBook
from receipts.jws import STATEMENT_TYP, sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.statements import Period, Previous, build_statement, exported_statement
from receipts.stores.signers import LocalKeySigner
from tests.conftest import make_event
from tests.site.conftest import HOSTILE, Site

CUSTOMER = "cust_ac"
# (day, idempotent key, amount, currency, type, index of the charge it corrects, description)
EVENTS = [
    ("2026-01-05", "a", "10.00", "USD", "charge", None, "first"),
    ("2026-01-05", "b", "2.50", "USD", "charge", None, HOSTILE),
    ("2026-01-07", "c", "3.00", "USD", "credit", 0, "refund of a"),
    ("2026-01-07", "d", "100", "JPY", "charge", None, None),
    ("2026-01-08", "e", "50.00", "USD", "credit", 1, "too much"),  # refused: credit_exceeds_charge
    ("2026-02-02", "f", "7.25", "USD", "charge", None, None),
    ("2026-02-03", "g", "1.25", "USD", "credit", 5, None),
]
CLOSES = {"2026-01": "2026-02-01T02:00:00Z", "2026-02": "2026-03-01T02:00:00Z"}


def account_chain(signer: LocalKeySigner, customer: str = CUSTOMER) -> list[SignedReceipt]:
    state, book, chain = ChainState(customer), ChargeBook(), []
    for index, (day, key, amount, currency, kind, corrects, description) in enumerate(EVENTS):
        fields: dict[str, Any] = {"idempotent_key": key, "amount": amount, "currency": currency}
        if kind == "credit":
            fields |= {"type": "credit", "corrects": chain[corrects].chained.body["receipt_id"]}
        event = make_event(
            customer_id=customer, timestamp=f"{day}T10:{index:02d}:00Z", usage_description=description, **fields
        )
        chained = state.append(event, None, signer.kid, f"{day}T10:{index:02d}:30.000000Z", book)
        chain.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    return chain


def issue_statement(site: Site, signer: LocalKeySigner, customer: str, period: str) -> dict[str, Any]:
    chain = list(site.store.receipts(customer))
    previous = Previous.of(site.store.previous_statement(customer, period))
    unsigned = build_statement(customer, Period.parse(period), CLOSES[period], chain, previous, signer.kid)
    [jws] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
    return site.store.add_statement(exported_statement(unsigned, jws))


def add_account(site: Site, signer: LocalKeySigner) -> dict[str, dict[str, Any]]:
    """cust_ac's chain, an API key and its January and February statements; cust_2's January
    statement too (another customer's). The statements by period."""
    assert {outcome.value for outcome in site.store.write_receipts(account_chain(signer))} == {"written"}
    site.api_keys[CUSTOMER] = issue_api_key(site.store, CUSTOMER)[0]
    site.receipts[CUSTOMER] = list(site.store.receipts(CUSTOMER))
    statements = {period: issue_statement(site, signer, CUSTOMER, period) for period in ("2026-01", "2026-02")}
    statements["other"] = issue_statement(site, signer, "cust_2", "2026-01")
    return statements
