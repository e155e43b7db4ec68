"""Where a verifier gets the public keys: a JWKS file, standard input (`-`), an http(s) URL
(such as the site's /.well-known/jwks.json), a Cloud Storage object (gs://BUCKET/NAME: the
scheduled reconciliation's workers have no route to the site), or a home's key ring
(current and retired keys, public parts only). Never creates a key. `receipts verify`,
`receipts reconcile` and the reconciliation job all load keys here."""

import sys
import urllib.request
from pathlib import Path

from receipts.keys import Jwks
from receipts.stores.keyring import KeyRing

MAX_JWKS_BYTES = 1 << 20


class JwksUnavailable(ValueError):
    """The JWKS could not be read or is not a JWK Set; the message says what to do."""


class NotAJwks(JwksUnavailable):
    """The JWKS was read, but it is not a JWK Set (or is too large to be one)."""


def load_jwks(location: str | None, keys_folder: str | None = None, timeout: float = 30.0) -> tuple[Jwks, str]:
    """The JWKS at `location` (file path, `-` for standard input, http(s) URL or gs:// object),
    else the key ring in `keys_folder`; with a description of where it came from, for reports."""
    if location:
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
            raise JwksUnavailable(f"cannot read the JWKS at {location}: {error}") from error
        if len(data) > MAX_JWKS_BYTES:
            raise NotAJwks(f"the JWKS at {location} is larger than {MAX_JWKS_BYTES} bytes")
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
