"""Signing the log's checkpoints with a Cloud KMS key version of algorithm EC_SIGN_ED25519
(HSM): a receipts.tlog.notes.Signer named for the log's origin.

Ed25519 in KMS is pure Ed25519 (RFC 8032): AsymmetricSign is sent the note text itself as
`data` (never a digest) and answers the 64-byte raw signature. Both directions carry
CRC32C checksums, and every signature is verified against the key's public key before it
is used: a checkpoint is published once and must verify. Ed25519 is deterministic, so the
same checkpoint signed again after a kill is the same note, byte for byte.
"""

import logging
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from receipts.stores.gcp.kms import (
    CALL_TIMEOUT_SECONDS,
    URL_SCHEME,
    KmsIntegrityError,
    check_version_name,
    checked_public_key,
    crc32c,
    kms_client,
)
from receipts.stores.retry import with_backoff
from receipts.tlog.note_keys import ED25519, PublicKey

log = logging.getLogger("receipts.kms")
ED25519_ALGORITHM = "EC_SIGN_ED25519"


class KmsNoteSigner:
    """Signs notes (checkpoints) as `origin` with one KMS Ed25519 key version."""

    def __init__(
        self,
        key_version_name: str,
        origin: str,
        client: Any = None,
        give_up_after: float = 600.0,
        first_retry_delay: float = 0.2,
        integrity_attempts: int = 3,
    ) -> None:
        self.version = check_version_name(key_version_name)
        self._client = client if client is not None else kms_client()
        self._give_up_after, self._first_retry_delay = give_up_after, first_retry_delay
        self._integrity_attempts = integrity_attempts
        pem, algorithm = checked_public_key(self._client, self.version, give_up_after, first_retry_delay)
        if algorithm != ED25519_ALGORITHM:
            raise ValueError(
                f"{self.version} is a {algorithm} key; checkpoints are Ed25519 notes: create the key with "
                f"{ED25519_ALGORITHM}"
            )
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, Ed25519PublicKey):
            raise KmsIntegrityError(f"the public key of {self.version} is not an Ed25519 key")
        self.public_key = PublicKey(origin, ED25519, key.public_bytes_raw())

    @classmethod
    def from_url(cls, url: str, origin: str, client: Any = None) -> "KmsNoteSigner":
        """kms://projects/…/cryptoKeyVersions/N"""
        parts = urlsplit(url)
        if not url.startswith(URL_SCHEME) or parts.query:
            raise ValueError(f"{url!r} is not a kms://projects/…/cryptoKeyVersions/N URL (no parameters)")
        return cls(parts.netloc + parts.path, origin, client=client)

    @property
    def name(self) -> str:
        return self.public_key.name

    @property
    def key_id(self) -> bytes:
        return self.public_key.key_id

    def sign(self, text: bytes) -> bytes:
        request = {"name": self.version, "data": text, "data_crc32c": crc32c(text)}
        for attempt in range(1, self._integrity_attempts + 1):
            response = with_backoff(
                f"KMS AsymmetricSign {self.version}",
                lambda: self._client.asymmetric_sign(request=request, retry=None, timeout=CALL_TIMEOUT_SECONDS),
                give_up_after=self._give_up_after,
                first_delay=self._first_retry_delay,
            )
            try:
                return self._checked(response, text)
            except KmsIntegrityError as error:
                if attempt == self._integrity_attempts:
                    raise
                log.warning("KMS AsymmetricSign %s: %s; asking again (attempt %d)", self.version, error, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(self, response: Any, text: bytes) -> bytes:
        if not response.verified_data_crc32c:
            raise KmsIntegrityError("KMS could not verify the data's CRC32C: the request was corrupted in transit")
        if response.name != self.version:
            raise KmsIntegrityError(f"KMS signed with {response.name!r}, not {self.version!r}")
        signature = response.signature
        if response.signature_crc32c is None or crc32c(signature) != response.signature_crc32c:
            raise KmsIntegrityError("the signature failed its CRC32C check: the response was corrupted in transit")
        if not self.public_key.verify_ed25519(text, signature):
            raise KmsIntegrityError(f"KMS returned a signature that does not verify with {self.version}")
        return signature
