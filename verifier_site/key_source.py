"""Where the site's public keys come from. A tiny interface: the local key ring
(`KeyRingSource`) or Cloud KMS key versions (`KmsKeySource`), without touching routes."""

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

from receipts.keys import Jwks
from receipts.stores.gcp.kms import check_version_name, fetch_public_key, kms_client
from receipts.stores.keyring import KeyRing


class KeySource(Protocol):
    def jwks(self) -> dict[str, Any]:
        """The RFC 7517 JWK Set of every key receipts may be signed with, retired ones too."""
        ...

    def public_pem(self, kid: str) -> bytes | None:
        """One public key as PEM (SubjectPublicKeyInfo); None for a kid not in the JWKS."""
        ...


class KeyRingSource:
    """The local key ring's public keys, re-read at most every `cache_seconds` (a rotation
    shows up by then). An empty ring serves an empty JWKS: the site never creates keys."""

    def __init__(self, folder: Path, cache_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ring = KeyRing(folder)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._cache_seconds:
                document = self._ring.jwks() if self._ring.exists() else {"keys": []}
                self._cached = (now, document)
            return self._cached[1]

    def public_pem(self, kid: str) -> bytes | None:
        if kid not in {key["kid"] for key in self.jwks()["keys"]}:
            return None
        return self._ring.public_pem(kid)


class KmsKeySource:
    """The public keys of Cloud KMS key versions (GetPublicKey, CRC32C checked), current first.

    List every version receipts were ever signed with: a rotation adds one, none is dropped.
    A version's public key never changes, so each is fetched once per process. When KMS
    cannot answer for one of them, jwks() raises (so /healthz answers 503 and the instance
    gets no traffic) rather than publish a partial set that would fail good receipts.
    """

    def __init__(self, versions: Sequence[str], client: Any = None, give_up_after: float = 10.0) -> None:
        if not versions:
            raise ValueError("KmsKeySource needs at least one key version")
        self._versions = [check_version_name(name) for name in versions]
        self._client = client
        self._give_up_after = give_up_after
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None
        self._pems: dict[str, bytes] = {}

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                client = self._client if self._client is not None else kms_client()
                keys = [fetch_public_key(client, name, self._give_up_after) for name in self._versions]
                self._pems = {key.kid: key.pem for key in keys}
                self._document = {"keys": [key.jwk for key in keys]}
            return self._document

    def public_pem(self, kid: str) -> bytes | None:
        self.jwks()
        return self._pems.get(kid)


def site_keys() -> KeySource:
    return current_app.config["KEY_SOURCE"]


def trusted_jwks() -> Jwks:
    """The site's JWKS as the verifier reads it; parsed once per JWKS document."""
    document = site_keys().jwks()
    memo = current_app.extensions.get("trusted_jwks")
    if memo is None or memo[0] is not document:
        memo = (document, Jwks(document))
        current_app.extensions["trusted_jwks"] = memo
    return memo[1]
