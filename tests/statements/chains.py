"""Chains whose event and processing times the statement tests choose, signed for real."""

from typing import Any

from receipts.canonical import canonical_bytes, sha256_hex
from receipts.jws import STATEMENT_TYP, sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.statements import Period, Previous, build_statement, exported_statement
from tests.conftest import make_event

Receipt = dict[str, Any]


def signed_chain(signer, customer: str, steps: list[tuple[str, str, str]], currency: str = "USD") -> list[Receipt]:
    """steps: (event timestamp, processed_at, amount) per receipt, in chain order."""
    state = ChainState(customer)
    receipts = []
    for index, (event_time, processed_at, amount) in enumerate(steps):
        event = make_event(
            idempotent_key=f"evt-{index}", customer_id=customer, amount=amount, currency=currency, timestamp=event_time
        )
        chained = state.append(event, None, signer.kid, processed_at)
        [signature] = sign_payloads(signer, [chained.canonical])
        receipts.append(SignedReceipt(chained, signature).export())
    return receipts


def close(signer, customer: str, period: str, closed_at: str, chain: list[Receipt], previous: Receipt | None = None):
    unsigned = build_statement(customer, Period.parse(period), closed_at, chain, Previous.of(previous), signer.kid)
    [signature] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
    return exported_statement(unsigned, signature)


def resign(signer, statement: Receipt, **changes: Any) -> Receipt:
    """The statement with `changes` to its body, signed again with `signer` (a forger who
    holds a key, ours or not), hash recomputed: only the recomputation can catch it."""
    body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
    body.update(changes)
    payload = canonical_bytes(body)
    [signature] = sign_payloads(signer, [payload], STATEMENT_TYP)
    return {**body, "statement_hash": sha256_hex(payload), "signature": signature}
