"""How the verification tests build forgeries the way an attacker would (editing the export,
re-encoding the payload, re-signing with some key) and read the results."""

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from receipts.canonical import canonical_bytes, sha256_hex
from receipts.events import Event, validate_event
from receipts.jws import Signer, b64url, sign_payloads
from receipts.ledger import event_of
from receipts.stores.signers import LocalKeySigner
from receipts.verify import (
    BALANCE,
    CANONICAL,
    CHAIN_LINK,
    CONTRACT,
    FORMAT,
    HASH,
    IDEMPOTENCY,
    SEQUENCE,
    SIGNATURE,
    Verification,
)

ALL_CHECKS = {FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT, SEQUENCE, CHAIN_LINK, BALANCE, IDEMPOTENCY}
RECEIPT_CHECKS = [FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT]

Receipt = dict[str, Any]


# -- helpers: build forgeries ------------------------------------------------------------


def body_of(receipt: Receipt) -> dict[str, Any]:
    """The signed body fields of an exported receipt (everything but hash and signature)."""
    return {name: value for name, value in receipt.items() if name not in ("receipt_hash", "signature")}


def exported(body: dict[str, Any], token: str, payload: bytes | None = None) -> Receipt:
    """An export line's object for `body`, with receipt_hash over `payload` (default canonical)."""
    payload = canonical_bytes(body) if payload is None else payload
    return {**body, "receipt_hash": sha256_hex(payload), "signature": token}


def resign(signer: Signer, body: dict[str, Any]) -> Receipt:
    """What someone holding `signer`'s key can do: sign any body the proper way."""
    [token] = sign_payloads(signer, [canonical_bytes(body)])
    return exported(body, token)


def rederive(body: dict[str, Any]) -> dict[str, Any]:
    """Recompute receipt_id and event_sha256 after the event fields of a body were edited."""
    event = validate_event(event_of(body))
    assert isinstance(event, Event), event
    return {**body, "receipt_id": event.receipt_id, "event_sha256": event.event_sha256}


def raw_jws(header: dict[str, Any] | bytes, payload: bytes, sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS with any header and payload, signed by `sign` over the signing input."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    signing_input = f"{b64url(header_bytes)}.{b64url(payload)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64url(sign(signing_input))}"


def rsa_sign(signer: Signer) -> Callable[[bytes], bytes]:
    return lambda data: signer.sign([data])[0]


def new_signer(bits: int = 2048) -> LocalKeySigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return LocalKeySigner(pem)


def public_pem_of(signer: LocalKeySigner) -> bytes:
    return signer._key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def token_parts(receipt: Receipt) -> list[str]:
    return receipt["signature"].split(".")


# -- helpers: read results ---------------------------------------------------------------


def names(checks: Iterable[Any]) -> list[str]:
    return [check.check for check in checks]


def assert_fails(result: Verification, check: str, *words: str) -> str:
    """`result` is not ok, `check` is among its failures and its reason holds every word."""
    assert result.ok is False
    failing = {failure.check: failure.reason for failure in result.failures}
    assert check in failing, f"expected {check!r} to fail, failures were {failing}"
    reason = failing[check]
    assert reason.strip(), f"{check} failed without a reason"
    for word in words:
        assert word.lower() in reason.lower(), f"{word!r} not in the {check} reason {reason!r}"
    return reason


def assert_only_failure(result: Verification, check: str, *words: str) -> str:
    reason = assert_fails(result, check, *words)
    assert names(result.failures) == [check], [(f.check, f.reason) for f in result.failures]
    return reason


def assert_all_ok(results: Sequence[Verification]) -> None:
    for result in results:
        assert result.ok, (result.named(), [(f.check, f.reason) for f in result.failures])
