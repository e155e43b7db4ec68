"""Signing with a Cloud KMS key version (HSM): RS256 over the JWS signing input.

KMS signs a SHA-256 digest we compute (`AsymmetricSign`), so the receipt never leaves
the process. Both directions carry CRC32C checksums as Google documents for
AsymmetricSign and GetPublicKey, and every signature is also verified here against the
key's public key before it is returned: a receipt is written once, to a create-only
ledger, and must never carry a signature that does not verify.

Signing is one KMS round trip per receipt; `sign()` runs a batch's round trips on a
bounded thread pool so that they overlap. "Try again" errors (unavailable, deadline,
throttled) are retried with backoff (`receipts.stores.retry`); a checksum mismatch is retried a
few times, then raised: it means something corrupts traffic, and no receipt is made.
"""

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google_crc32c

from receipts.keys import Jwks, public_jwk, signature_problem
from receipts.stores.retry import with_backoff

log = logging.getLogger("receipts.kms")

URL_SCHEME = "kms://"
# Our own switch, named like the Cloud SDK emulators' variables: host:port of a plaintext
# gRPC server that speaks the KMS API (the tests' fake). Never set in production.
EMULATOR_HOST_ENV = "RECEIPTS_KMS_EMULATOR_HOST"
VERSION_NAME = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+/cryptoKeyVersions/\d+")
# RSASSA-PKCS1-v1_5 with SHA-256 is RS256 whatever the modulus; DESIGN.md asks for 2048 bits.
RS256_ALGORITHMS = frozenset({"RSA_SIGN_PKCS1_2048_SHA256", "RSA_SIGN_PKCS1_3072_SHA256", "RSA_SIGN_PKCS1_4096_SHA256"})
DEFAULT_CONCURRENCY = 16
CALL_TIMEOUT_SECONDS = 30.0


class KmsIntegrityError(RuntimeError):
    """A request or response failed its CRC32C check, or a signature did not verify."""


def crc32c(data: bytes) -> int:
    return google_crc32c.value(data)


def kms_client() -> Any:
    """A KeyManagementServiceClient: Google's endpoint with the ambient credentials, or the
    plaintext server named by RECEIPTS_KMS_EMULATOR_HOST."""
    from google.cloud import kms_v1

    host = os.environ.get(EMULATOR_HOST_ENV)
    if not host:
        return kms_v1.KeyManagementServiceClient()
    import grpc
    from google.cloud.kms_v1.services.key_management_service.transports import KeyManagementServiceGrpcTransport

    return kms_v1.KeyManagementServiceClient(
        transport=KeyManagementServiceGrpcTransport(channel=grpc.insecure_channel(host))
    )


def check_version_name(name: str) -> str:
    if not VERSION_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a KMS key version: use projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N"
        )
    return name


@dataclass(frozen=True)
class KmsPublicKey:
    name: str
    pem: bytes
    algorithm: str

    @property
    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.pem)

    @property
    def kid(self) -> str:
        return self.jwk["kid"]


def checked_public_key(
    client: Any, name: str, give_up_after: float = 60.0, first_delay: float = 0.2
) -> tuple[bytes, str]:
    """GetPublicKey for one key version: (PEM, algorithm name), with its name and the PEM's
    CRC32C checked."""
    check_version_name(name)
    response = with_backoff(
        f"KMS GetPublicKey {name}",
        lambda: client.get_public_key(request={"name": name}, retry=None, timeout=CALL_TIMEOUT_SECONDS),
        give_up_after=give_up_after,
        first_delay=first_delay,
    )
    if response.name != name:
        raise KmsIntegrityError(f"KMS answered GetPublicKey for {response.name!r}, not {name!r}")
    pem = response.pem.encode("ascii")
    if response.pem_crc32c is None or crc32c(pem) != response.pem_crc32c:
        raise KmsIntegrityError(f"the public key of {name} failed its CRC32C check (corrupted in transit)")
    return pem, response.algorithm.name


def fetch_public_key(client: Any, name: str, give_up_after: float = 60.0, first_delay: float = 0.2) -> KmsPublicKey:
    """GetPublicKey for one key version, checked (checked_public_key), and the algorithm one
    that makes RS256 signatures."""
    pem, algorithm = checked_public_key(client, name, give_up_after, first_delay)
    if algorithm not in RS256_ALGORITHMS:
        raise ValueError(
            f"{name} is a {algorithm} key; receipts are RS256: create the key with RSA_SIGN_PKCS1_2048_SHA256"
        )
    return KmsPublicKey(name, pem, algorithm)


class KmsSigner:
    """A `Signer` backed by one KMS key version (AsymmetricSign over SHA-256 digests)."""

    def __init__(
        self,
        key_version_name: str,
        client: Any = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        give_up_after: float = 600.0,
        first_retry_delay: float = 0.2,
        integrity_attempts: int = 3,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.name = check_version_name(key_version_name)
        self._client = client if client is not None else kms_client()
        self._concurrency = concurrency
        self._give_up_after = give_up_after
        self._first_retry_delay = first_retry_delay
        self._integrity_attempts = integrity_attempts
        self.public_key = fetch_public_key(self._client, self.name, give_up_after, first_retry_delay)
        self.kid = self.public_key.kid
        self.jwk = self.public_key.jwk
        self._jwks = Jwks({"keys": [self.public_key.jwk]})  # every signature is checked before use
        if self.kid not in self._jwks.keys:
            raise ValueError(f"{self.name} is not a key receipts can be verified with: {self._jwks.problems}")
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, client: Any = None) -> "KmsSigner":
        """kms://projects/…/cryptoKeyVersions/N[?concurrency=16]"""
        if not url.startswith(URL_SCHEME):
            raise ValueError(f"{url!r} is not a kms:// URL")
        parts = urlsplit(url)
        name = parts.netloc + parts.path
        query = parse_qs(parts.query)
        unknown = set(query) - {"concurrency"}
        if unknown:
            raise ValueError(f"unknown kms:// URL parameter(s): {', '.join(sorted(unknown))} (known: concurrency)")
        concurrency = int(query.get("concurrency", [DEFAULT_CONCURRENCY])[-1])
        return cls(name, client=client, concurrency=concurrency)

    def sign(self, signing_inputs: Sequence[bytes]) -> list[bytes]:
        """One RS256 signature per input, in order; the KMS calls of a batch overlap."""
        if len(signing_inputs) <= 1:
            return [self._sign_one(data) for data in signing_inputs]
        return list(self._executor().map(self._sign_one, signing_inputs))

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="kms-sign")
            return self._pool

    def _sign_one(self, data: bytes) -> bytes:
        digest = hashlib.sha256(data).digest()
        request = {"name": self.name, "digest": {"sha256": digest}, "digest_crc32c": crc32c(digest)}
        for attempt in range(1, self._integrity_attempts + 1):
            response = with_backoff(
                f"KMS AsymmetricSign {self.name}",
                self._call(request),
                give_up_after=self._give_up_after,
                first_delay=self._first_retry_delay,
            )
            try:
                return self._checked(response, data)
            except KmsIntegrityError as error:
                if attempt == self._integrity_attempts:
                    raise
                log.warning("KMS AsymmetricSign %s: %s; asking again (attempt %d)", self.name, error, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, request: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self._client.asymmetric_sign(request=request, retry=None, timeout=CALL_TIMEOUT_SECONDS)

    def _checked(self, response: Any, data: bytes) -> bytes:
        if not response.verified_digest_crc32c:
            raise KmsIntegrityError("KMS could not verify the digest's CRC32C: the request was corrupted in transit")
        if response.name != self.name:
            raise KmsIntegrityError(f"KMS signed with {response.name!r}, not {self.name!r}")
        signature = response.signature
        if response.signature_crc32c is None or crc32c(signature) != response.signature_crc32c:
            raise KmsIntegrityError("the signature failed its CRC32C check: the response was corrupted in transit")
        problem = signature_problem(self._jwks, self.kid, data, signature)
        if problem:
            raise KmsIntegrityError(f"KMS returned a signature that does not verify with {self.name}: {problem}")
        return signature
