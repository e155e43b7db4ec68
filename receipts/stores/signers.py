"""The signers (receipts.jws.Signer): a local PEM key (`LocalKeySigner`) and, beside it, a
Cloud KMS key version (`receipts.stores.gcp.kms.KmsSigner`); `signer_from_url` picks one
by URL, so the pipeline does not care which."""

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from receipts.jws import Signer
from receipts.keys import kid_of


class LocalKeySigner:
    """Signs with an RSA private key held in a PEM file's bytes."""

    def __init__(self, private_pem: bytes) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the signing key must be an RSA private key")
        self._key = key
        self.kid = kid_of(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    def sign(self, signing_inputs: Sequence[bytes]) -> list[bytes]:
        return [self._key.sign(data, padding.PKCS1v15(), hashes.SHA256()) for data in signing_inputs]


def signer_from_url(url: str) -> Signer:
    """`kms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N` (Cloud KMS)
    or `file:///PATH/key.pem` (a PEM private key, e.g. one of the local key ring's)."""
    if url.startswith("kms://"):
        from receipts.stores.gcp.kms import KmsSigner  # the KMS client loads only when asked for

        return KmsSigner.from_url(url)
    if url.startswith("file://"):
        path = Path(unquote(url.removeprefix("file://")))
        try:
            return LocalKeySigner(path.read_bytes())
        except OSError as error:
            raise ValueError(f"cannot read the signing key {path}: {error.strerror}") from error
    raise ValueError(f"unknown signer {url!r}: use kms://projects/…/cryptoKeyVersions/N or file:///PATH/key.pem")


def key_file_url(keys_folder: str | Path, kid: str) -> str:
    """The file:// URL of one local key ring key (the ring keeps `<kid>.pem` in its folder)."""
    return (Path(keys_folder) / f"{kid}.pem").resolve().as_uri()
