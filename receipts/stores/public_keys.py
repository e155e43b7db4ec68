"""Where a verifier gets the public keys: a JWKS file, standard input (`-`), an http(s) URL
(such as the site's /.well-known/jwks.json), a Cloud Storage object (gs://BUCKET/NAME: the
scheduled reconciliation's workers have no route to the site), or a home's key ring
(current and retired keys, public parts only). Never creates a key. `receipts verify`,
`receipts reconcile` and the reconciliation job all load keys here."""

import json
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from receipts.delegation import Delegations
from receipts.keys import Jwks
from receipts.stores.keyring import KeyRing

MAX_JWKS_BYTES = 1 << 20


class JwksUnavailable(ValueError):
    """The JWKS could not be read or is not a JWK Set; the message says what to do."""


class NotAJwks(JwksUnavailable):
    """The JWKS was read, but it is not a JWK Set (or is too large to be one)."""


def _read(location: str, what: str, timeout: float) -> bytes:
    """The bytes at a file path, `-` (standard input), an http(s) URL or a gs:// object."""
    try:
        if location == "-":
            data = sys.stdin.buffer.read(MAX_JWKS_BYTES + 1)
        elif location.startswith(("http://", "https://")):
            request = urllib.request.Request(location, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                data = response.read(MAX_JWKS_BYTES + 1)
        elif location.startswith("gs://"):
            from receipts.stores.gcp.bucket_archive import read_object  # the Cloud Storage client, only here

            data = read_object(location, MAX_JWKS_BYTES + 1)
        else:
            data = Path(location).read_bytes()
    except OSError as error:  # URLError and HTTPError are OSErrors
        raise JwksUnavailable(f"cannot read the {what} at {location}: {error}") from error
    if len(data) > MAX_JWKS_BYTES:
        raise NotAJwks(f"the {what} at {location} is larger than {MAX_JWKS_BYTES} bytes")
    return data


def load_jwks(location: str | None, keys_folder: str | None = None, timeout: float = 30.0) -> tuple[Jwks, str]:
    """The JWKS at `location` (file path, `-` for standard input, http(s) URL or gs:// object),
    else the key ring in `keys_folder`; with a description of where it came from, for reports."""
    if location:
        data = _read(location, "JWKS", timeout)
        try:
            return Jwks.from_json(data), location
        except ValueError as error:
            raise NotAJwks(f"{location} is not a JWKS: {error}") from error
    if keys_folder:
        ring = KeyRing(Path(keys_folder))
        if not ring.exists():
            raise JwksUnavailable(f"no key ring in {keys_folder}: pass a JWKS file or URL")
        return Jwks(ring.jwks()), f"key ring {keys_folder}"
    raise JwksUnavailable("no public keys: pass a JWKS file or URL, or a key ring folder")


def load_delegations(location: str, jwks: Jwks, roots: Sequence[str] = (), timeout: float = 30.0) -> Delegations:
    """The key-endorsements document at `location` (as load_jwks reads), trusted as far as its
    endorsements verify with its roots (or with `roots`, the HSM kids an auditor pins)."""
    data = _read(location, "key-endorsements document", timeout)
    try:
        document = json.loads(data)
        if roots:
            document = {**document, "roots": list(roots)}
        return Delegations.from_document(document, jwks)
    except ValueError as error:
        raise NotAJwks(f"{location} is not a key-endorsements document: {error}") from error


def store_delegations(store: object, jwks: Jwks) -> tuple[Jwks, Delegations] | None:
    """`jwks` plus the delegated keys a store keeps, and their delegations, with the keys of
    `jwks` that no endorsement names as the roots (the HSM or key ring keys); None for a store
    that never delegated a key (then receipts are checked by the JWKS alone)."""
    read = getattr(store, "key_documents", None)
    documents = read() if read is not None else []
    endorsements = [doc.jws for doc in documents if doc.kind == "endorsement"]
    if not endorsements:
        return None
    revocations = [doc.jws for doc in documents if doc.kind == "revocation"]
    delegated = {doc.kid for doc in documents if doc.kind == "endorsement"}
    delegations = Delegations(jwks, set(jwks.keys) - delegated, endorsements, revocations)
    return jwks.with_keys([item.jwk for item in delegations.endorsed.values()]), delegations
