"""The log's checkpoint signers (receipts.tlog.notes.Signer, Ed25519, key name = the log's
origin): a local note key file (`file:///…/log.key`, the PRIVATE+KEY+… string Go's
sumdb/note writes) or a Cloud KMS key version of algorithm EC_SIGN_ED25519 (`kms://…`,
receipts.stores.gcp.log_kms). `log_signer_from_url` picks one by URL."""

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote

from receipts.tlog.note_keys import ED25519, NoteKeyError, NoteSigner, PublicKey, generate_key, parse_private_key
from receipts.tlog.notes import Signer


def log_signer_from_url(url: str, origin: str) -> Signer:
    """The signer of the log named `origin`: `file:///PATH/log.key` or
    `kms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`."""
    if url.startswith("kms://"):
        from receipts.stores.gcp.log_kms import KmsNoteSigner  # the KMS client loads only when asked for

        return KmsNoteSigner.from_url(url, origin)
    if url.startswith("file://"):
        path = Path(unquote(url.removeprefix("file://")))
        try:
            key = parse_private_key(path.read_text())
        except OSError as error:
            raise ValueError(f"cannot read the log key {path}: {error.strerror}") from error
        except (NoteKeyError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not a note private key (PRIVATE+KEY+…): {error}") from error
        if key.name != origin:
            raise ValueError(
                f"the log key {path} is for the log {key.name!r}, not {origin!r}: a checkpoint's key is named "
                "for its log's origin"
            )
        return NoteSigner(key)
    raise ValueError(f"unknown log signer {url!r}: use file:///PATH/log.key or kms://projects/…/cryptoKeyVersions/N")


def vkey_of(signer: Signer) -> str:
    """The verifier key (`<origin>+<key id>+<base64>`) that checks the signer's checkpoints."""
    if isinstance(signer, NoteSigner):
        return signer.verifier.key.vkey
    public_key = getattr(signer, "public_key", None)
    if isinstance(public_key, PublicKey) and public_key.key_type == ED25519:
        return public_key.vkey
    raise TypeError(f"{type(signer).__name__} does not say its public key")


def create_key_file(path: Path, origin: str) -> bool:
    """Write a new note key for `origin` at `path` (mode 0600, its folder 0700) unless one is
    there; True if it was created. Whole or not at all: concurrent callers agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return False
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as handle:  # mkstemp makes it 0600
            handle.write(generate_key(origin).private_key_string + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        Path(temporary).unlink(missing_ok=True)
    return True
