"""Shared fixtures: a key ring in a temporary folder, and chains of real signed receipts
built with the domain code (no Beam), for tests that need receipts to verify."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from receipts.events import Event, parse_event
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.ledger import ChainState, Entitlement
from receipts.records import SignedReceipt
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner

PROCESSED_AT = "2026-01-25T12:00:00.000000Z"


def event_bytes(**fields: Any) -> bytes:
    """A valid event message; keyword arguments override or (with None) remove fields."""
    document: dict[str, Any] = {
        "idempotent_key": "evt-1",
        "customer_id": "cust_1",
        "amount": "150.00",
        "currency": "USD",
        "timestamp": "2026-01-25T10:30:45Z",
    }
    for name, value in fields.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return json.dumps(document, ensure_ascii=False).encode()


def make_event(**fields: Any) -> Event:
    event = parse_event(event_bytes(**fields))
    assert isinstance(event, Event), event
    return event


@pytest.fixture(scope="session")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    ring = KeyRing(tmp_path_factory.mktemp("home") / "keys")
    ring.ensure_current()
    return ring


@pytest.fixture(scope="session")
def signer(keyring: KeyRing) -> LocalKeySigner:
    return LocalKeySigner(keyring.private_pem(keyring.current_kid))


@pytest.fixture(scope="session")
def jwks(keyring: KeyRing) -> Jwks:
    return Jwks(keyring.jwks())


@pytest.fixture(scope="session")
def make_chain(signer: LocalKeySigner) -> Callable[..., list[dict[str, Any]]]:
    """make_chain(n, customer=..., entitlement=..., amounts=[...]) -> exported receipts."""

    def build(
        count: int = 3,
        customer: str = "cust_1",
        amounts: list[str] | None = None,
        currency: str = "USD",
        entitlement: Entitlement | None = None,
    ) -> list[dict[str, Any]]:
        state = ChainState(customer)
        receipts = []
        for index in range(count):
            amount = (amounts or ["1.50"])[index % len(amounts or ["1.50"])]
            event = make_event(
                idempotent_key=f"evt-{index}",
                customer_id=customer,
                amount=amount,
                currency=currency,
                timestamp=f"2026-01-25T10:{index % 60:02d}:00Z",
                entitlement_id=entitlement.entitlement_id if entitlement else None,
            )
            chained = state.append(event, entitlement, signer.kid, PROCESSED_AT)
            [signature] = sign_payloads(signer, [chained.canonical])
            receipts.append(SignedReceipt(chained, signature).export())
        return receipts

    return build


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="session")
def signer_url(keyring: KeyRing) -> str:
    """The session key ring's current key as a signer URL (file://…pem), as the jobs take it."""
    return f"file://{keyring.folder / (keyring.current_kid + '.pem')}"
