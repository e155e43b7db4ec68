"""Wrapping a delegated signing key's private part with a Cloud KMS symmetric key
(ENCRYPT_DECRYPT, HSM): Encrypt once when the window's key is made, Decrypt once per worker
that signs in that window. The additional authenticated data names the window, so a wrapped
key cannot be moved to another window's row. CRC32C both ways, as Google documents."""

import re
from typing import Any

from receipts.stores.gcp.kms import CALL_TIMEOUT_SECONDS, KmsIntegrityError, crc32c, kms_client
from receipts.stores.retry import with_backoff

CRYPTO_KEY_NAME = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+")


class KmsKeyWrapper:
    """A KeyWrapper (receipts.stores.delegated) backed by one KMS CryptoKey."""

    def __init__(self, crypto_key: str, client: Any = None, give_up_after: float = 600.0) -> None:
        if not CRYPTO_KEY_NAME.fullmatch(crypto_key):
            raise ValueError(
                f"{crypto_key!r} is not a KMS key: use projects/P/locations/L/keyRings/R/cryptoKeys/K (ENCRYPT_DECRYPT)"
            )
        self.name = crypto_key
        self._client = client if client is not None else kms_client()
        self._give_up_after = give_up_after

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        request = {
            "name": self.name,
            "plaintext": plaintext,
            "plaintext_crc32c": crc32c(plaintext),
            "additional_authenticated_data": aad,
            "additional_authenticated_data_crc32c": crc32c(aad),
        }
        response = with_backoff(
            f"KMS Encrypt {self.name}",
            lambda: self._client.encrypt(request=request, retry=None, timeout=CALL_TIMEOUT_SECONDS),
            give_up_after=self._give_up_after,
        )
        if not (response.verified_plaintext_crc32c and response.verified_additional_authenticated_data_crc32c):
            raise KmsIntegrityError("KMS could not verify the plaintext's CRC32C: the request was corrupted in transit")
        if not response.name.startswith(self.name + "/cryptoKeyVersions/"):
            raise KmsIntegrityError(f"KMS encrypted with {response.name!r}, not a version of {self.name!r}")
        if response.ciphertext_crc32c is None or crc32c(response.ciphertext) != response.ciphertext_crc32c:
            raise KmsIntegrityError("the ciphertext failed its CRC32C check: the response was corrupted in transit")
        return response.ciphertext

    def unwrap(self, ciphertext: bytes, aad: bytes) -> bytes:
        request = {
            "name": self.name,
            "ciphertext": ciphertext,
            "ciphertext_crc32c": crc32c(ciphertext),
            "additional_authenticated_data": aad,
            "additional_authenticated_data_crc32c": crc32c(aad),
        }
        response = with_backoff(
            f"KMS Decrypt {self.name}",
            lambda: self._client.decrypt(request=request, retry=None, timeout=CALL_TIMEOUT_SECONDS),
            give_up_after=self._give_up_after,
        )
        if response.plaintext_crc32c is None or crc32c(response.plaintext) != response.plaintext_crc32c:
            raise KmsIntegrityError("the plaintext failed its CRC32C check: the response was corrupted in transit")
        return response.plaintext
