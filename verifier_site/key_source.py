"""Where the site's public keys come from. A tiny interface: the local key ring
(`KeyRingSource`) or Cloud KMS key versions (`KmsKeySource`), without touching routes."""

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from joserfc.jwk import RSAKey

from receipts.delegation import Delegations, key_endorsements_document
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


class WithDelegatedKeys:
    """The base source's keys (the HSM or key ring keys: the roots) and the delegated keys
    (receipts.delegation) the store keeps, each published from its endorsement, retired ones
    too; the endorsements and revocations re-read at most every `cache_seconds`."""

    def __init__(
        self,
        base: KeySource,
        documents: Callable[[], list[Any]],
        cache_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base, self._documents, self._cache_seconds, self._clock = base, documents, cache_seconds, clock
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any], dict[str, Any]] | None = None

    def _read(self) -> tuple[dict[str, Any], dict[str, Any]]:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._cache_seconds:
                base = self.base.jwks()
                documents = self._documents()
                endorsements = [doc.jws for doc in documents if doc.kind == "endorsement"]
                revocations = [doc.jws for doc in documents if doc.kind == "revocation"]
                roots = [key["kid"] for key in base["keys"] if isinstance(key, dict) and "kid" in key]
                endorsed = Delegations(Jwks(base), roots, endorsements).endorsed
                jwks = {"keys": [*base["keys"], *(endorsement.jwk for endorsement in endorsed.values())]}
                self._cached = (now, jwks, key_endorsements_document(roots, endorsements, revocations))
            return self._cached[1], self._cached[2]

    def jwks(self) -> dict[str, Any]:
        return self._read()[0]

    def public_pem(self, kid: str) -> bytes | None:
        pem = self.base.public_pem(kid)
        if pem is not None:
            return pem
        jwk = next((key for key in self.jwks()["keys"] if key.get("kid") == kid), None)
        return RSAKey.import_key(jwk).as_pem(private=False) if jwk else None

    def endorsements(self) -> dict[str, Any]:
        """The key-endorsements document: roots, endorsements, revocations."""
        return self._read()[1]


def store_key_documents() -> list[Any]:
    """The store's endorsements and revocations (a store that keeps no delegated keys has none)."""
    from verifier_site.storage import get_store

    read = getattr(get_store(), "key_documents", None)
    return read() if read is not None else []


def trusted_delegations() -> Delegations | None:
    """The delegations a receipt's key is checked against, or None where no key was ever
    delegated (then receipts are checked as before: by the JWKS alone)."""
    source = site_keys()
    if not isinstance(source, WithDelegatedKeys):
        return None
    document = source.endorsements()
    if not document["endorsements"]:
        return None
    memo = current_app.extensions.get("trusted_delegations")
    if memo is None or memo[0] is not document:
        memo = (document, Delegations.from_document(document, Jwks(source.base.jwks())))
        current_app.extensions["trusted_delegations"] = memo
    return memo[1]


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
