"""`LocalKeySigner`: RS256 with an RSA private key held in this process (a PEM file's bytes:
a local key ring key, or a delegated window key once unwrapped)."""

from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from receipts.keys import public_jwk


class LocalKeySigner:
    """Signs with an RSA private key held in a PEM file's bytes."""

    def __init__(self, private_pem: bytes) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the signing key must be an RSA private key")
        self._key = key
        self.jwk = public_jwk(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        self.kid = self.jwk["kid"]

    def sign(self, signing_inputs: Sequence[bytes]) -> list[bytes]:
        return [self._key.sign(data, padding.PKCS1v15(), hashes.SHA256()) for data in signing_inputs]
