"""The signers (receipts.jws.Signer): a local PEM key (`LocalKeySigner`, receipts.stores.pem_signer),
a Cloud KMS key version (`receipts.stores.gcp.kms.KmsSigner`) and delegated window keys
(`receipts.stores.delegated.DelegatedSigner`); `signer_from_url` picks one by URL, so the
pipeline does not care which."""

from pathlib import Path
from urllib.parse import unquote

from receipts.jws import Signer
from receipts.stores.pem_signer import LocalKeySigner

__all__ = ["LocalKeySigner", "key_file_url", "signer_from_url"]


def signer_from_url(url: str, store: object = None) -> Signer:
    """`kms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N` (Cloud KMS),
    `file:///PATH/key.pem` (a PEM private key, e.g. one of the local key ring's) or
    `delegated://…` (daily keys endorsed by one of those, kept wrapped in `store`:
    receipts.stores.delegated)."""
    if url.startswith("delegated://"):
        from receipts.stores.delegated import DelegatedSigner

        return DelegatedSigner.from_url(url, store)  # type: ignore[arg-type]
    if url.startswith("kms://"):
        from receipts.stores.gcp.kms import KmsSigner  # the KMS client loads only when asked for

        return KmsSigner.from_url(url)
    if url.startswith("file://"):
        path = Path(unquote(url.removeprefix("file://")))
        try:
            return LocalKeySigner(path.read_bytes())
        except OSError as error:
            raise ValueError(f"cannot read the signing key {path}: {error.strerror}") from error
    raise ValueError(
        f"unknown signer {url!r}: use kms://projects/…/cryptoKeyVersions/N, file:///PATH/key.pem or delegated://…"
    )


def key_file_url(keys_folder: str | Path, kid: str) -> str:
    """The file:// URL of one local key ring key (the ring keeps `<kid>.pem` in its folder)."""
    return (Path(keys_folder) / f"{kid}.pem").resolve().as_uri()
