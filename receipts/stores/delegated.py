"""The delegated signer: receipts signed by short-lived RSA-2048 keys (one per validity window,
daily by default) that the HSM key endorses (receipts.delegation), so Cloud KMS is called a
few times per window instead of once per receipt.

A receipt's body names its `kid` before it is signed, and Beam may run a bundle twice on two
workers: so the key is the window's, not the worker's. The window of `processed_at` is
epoch-aligned; its key is read from the store, or made once: generated, its private part
wrapped (Cloud KMS Encrypt, or locally AES-GCM under the home's key-encryption key), its
public part endorsed by the HSM key, and kept with a first-writer-wins insert. A worker that
loses the race unwraps the winner's key, so every worker signs a window's receipts with the
same key, and RS256 being deterministic, a body always gets the same bytes.

KMS calls per window: one AsymmetricSign (the endorsement) and one Encrypt by the worker that
makes the key, one Decrypt by each other worker that signs in it, one GetPublicKey per
worker start. `DelegatedSigner.kid`/`sign` are the endorsing key's (for documents that are not
receipts, such as statements); receipts are signed by `signer_at(processed_at)`.

URLs: `delegated://kms/projects/…/cryptoKeyVersions/N?wrap=projects/…/cryptoKeys/K&window=1d`
or `delegated://local/PATH/keys?window=1d` (the key ring in PATH/keys endorses; its
`delegated-kek.key` stands in for the KMS wrapping key).
"""

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from receipts.canonical import canonical_bytes
from receipts.delegation import (
    ENDORSEMENT_TYP,
    Window,
    endorsement_body,
    instant_of,
    read_endorsement,
    window_at,
    window_seconds,
)
from receipts.jws import Signer, b64url_decode, sign_payloads, split_compact
from receipts.keys import KEY_BITS, Jwks
from receipts.rows import DelegatedKeyRow
from receipts.stores.keyring import KeyRing
from receipts.stores.pem_signer import LocalKeySigner

log = logging.getLogger("receipts.delegated")

URL_SCHEME = "delegated://"
DEFAULT_WINDOW = "1d"
KEK_FILE = "delegated-kek.key"
CACHED_WINDOWS = 4  # signers kept per process: the current window, the last, and a spare
REVOCATION_CHECK_SECONDS = 60.0  # how often a worker asks the store whether its keys were revoked
AHEAD_SHARE = 0.05  # in the last 5% of a window (72 min of a day), the next window's key is made ready


class KeyRevoked(RuntimeError):
    """The window's key was revoked before this receipt's processed_at: a receipt signed with it
    would fail as key_revoked, so none is signed (the bundle fails and is retried)."""


class KeyWrapper(Protocol):
    def wrap(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, ciphertext: bytes, aad: bytes) -> bytes: ...


class DelegatedKeys(Protocol):
    """What a store keeps of the windows' keys (receipts.stores.sqlite_keys)."""

    def delegated_key(self, not_before: str) -> DelegatedKeyRow | None: ...

    def add_delegated_key(self, key: DelegatedKeyRow) -> DelegatedKeyRow: ...


class LocalKeyWrapper:
    """AES-256-GCM under a key-encryption key in a file (mode 0600, made on first use): the
    home's stand-in for the KMS wrapping key. Blob = 12-byte nonce || ciphertext and tag."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _kek(self) -> bytes:
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = self.path.read_bytes()
            if len(key) != 32:
                raise ValueError(f"{self.path} is not a 32-byte key-encryption key") from None
            return key
        key = AESGCM.generate_key(bit_length=256)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        return key

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self._kek()).encrypt(nonce, plaintext, aad)

    def unwrap(self, ciphertext: bytes, aad: bytes) -> bytes:
        return AESGCM(self._kek()).decrypt(ciphertext[:12], ciphertext[12:], aad)


def wrapping_aad(not_before: str, kid: str) -> bytes:
    """What a wrapped key is bound to: its window and its kid (a blob moved to another row fails)."""
    return f"receipts delegated key v1 {not_before} {kid}".encode("ascii")


class DelegatedSigner:
    """Signs receipts with the key of their processed_at's window; see the module docstring."""

    def __init__(
        self, endorser: Signer, wrapper: KeyWrapper, keys: DelegatedKeys | None, seconds: int, url: str = ""
    ) -> None:
        if keys is not None and not hasattr(keys, "add_delegated_key"):
            raise ValueError(
                f"{type(keys).__name__} keeps no delegated keys: use the SQLite (sqlite:///…) or Google Cloud "
                "(gcp://…) store"
            )
        self.endorser, self.wrapper, self.keys, self.seconds, self.url = endorser, wrapper, keys, seconds, url
        self.kid = endorser.kid
        jwk = getattr(endorser, "jwk", None)
        if jwk is None:
            raise ValueError("the endorsing signer must publish its public JWK")
        self._roots = Jwks({"keys": [jwk]})
        self._signers: dict[str, LocalKeySigner] = {}
        self._lock = threading.Lock()
        self._clock = time.monotonic
        self._revoked: dict[str, str] = {}  # kid -> revoked_at, as last read
        self._revocations_read = float("-inf")

    @classmethod
    def from_url(cls, url: str, store: DelegatedKeys | None = None) -> "DelegatedSigner":
        if not url.startswith(URL_SCHEME):
            raise ValueError(f"{url!r} is not a delegated:// URL")
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        unknown = set(query) - {"window", "wrap"}
        if unknown:
            raise ValueError(f"unknown delegated:// parameter(s): {', '.join(sorted(unknown))} (known: window, wrap)")
        seconds = window_seconds(query.get("window", [DEFAULT_WINDOW])[-1])
        if parts.netloc == "kms":
            from receipts.stores.gcp.kms import KmsSigner  # the KMS client loads only when asked for
            from receipts.stores.gcp.kms_wrap import KmsKeyWrapper

            if "wrap" not in query:
                raise ValueError("delegated://kms/… needs ?wrap=projects/…/cryptoKeys/K (the key wrapping the keys)")
            endorser = KmsSigner(parts.path.lstrip("/"))
            return cls(endorser, KmsKeyWrapper(query["wrap"][-1]), store, seconds, url)
        if parts.netloc == "local":
            folder = Path(unquote(parts.path))
            ring = KeyRing(folder)
            if not ring.exists():
                raise ValueError(f"no key ring in {folder}: the local endorsing key lives there")
            endorser = LocalKeySigner(ring.private_pem(ring.current_kid))
            return cls(endorser, LocalKeyWrapper(folder / KEK_FILE), store, seconds, url)
        raise ValueError("use delegated://kms/projects/…/cryptoKeyVersions/N?wrap=… or delegated://local/PATH/keys")

    def sign(self, signing_inputs: Sequence[bytes]) -> list[bytes]:
        """The endorsing key's signatures (statements and other documents that are not receipts)."""
        return self.endorser.sign(signing_inputs)

    def close(self) -> None:
        close = getattr(self.endorser, "close", None)
        if close is not None:
            close()

    def window(self, processed_at: str) -> Window:
        return window_at(processed_at, self.seconds)

    def signer_at(self, processed_at: str) -> LocalKeySigner:
        """The window's signer: kept, read from the store (one unwrap), or made (one endorsement).
        KeyRevoked when the store says it was revoked at or before `processed_at` (the store is
        asked again every REVOCATION_CHECK_SECONDS)."""
        window = self.window(processed_at)
        with self._lock:
            signer = self._signers.get(window.not_before)
            if signer is None:
                signer = self._load_or_make(window)
                self._signers[window.not_before] = signer
                for old in sorted(self._signers)[:-CACHED_WINDOWS]:
                    del self._signers[old]
            revoked_at = self._revoked_at(signer.kid)
            self._prepare_next(window, processed_at)
        if revoked_at is not None and instant_of(revoked_at) <= instant_of(processed_at):
            raise KeyRevoked(
                f"the delegated key {signer.kid} of the window from {window.not_before} was revoked at {revoked_at}: "
                "no receipt is signed with it. Freeze intake (receipts intake freeze) until the next window starts"
            )
        return signer

    def _prepare_next(self, window: Window, processed_at: str) -> None:
        """Near a window's end, read or make the next window's key, so that the first receipts of
        the next window wait on no KMS call; a failure here only means it is done on demand."""
        end = instant_of(window.not_after)
        if end.timestamp() - instant_of(processed_at).timestamp() > self.seconds * AHEAD_SHARE:
            return
        following = window_at(window.not_after, self.seconds)
        if following.not_before in self._signers:
            return
        try:
            self._signers[following.not_before] = self._load_or_make(following)
        except Exception as error:  # KMS or the store briefly unavailable: the next window retries
            log.warning("could not prepare the delegated key of the window from %s: %s", following.not_before, error)

    def _revoked_at(self, kid: str) -> str | None:
        read = getattr(self.keys, "key_documents", None)
        if read is not None and self._clock() - self._revocations_read >= REVOCATION_CHECK_SECONDS:
            self._revoked = {}
            for document in read("revocation"):
                body = json.loads(b64url_decode(split_compact(document.jws).payload_b64))
                self._revoked[document.kid] = body["revoked_at"]
            self._revocations_read = self._clock()
        return self._revoked.get(kid)

    def _load_or_make(self, window: Window) -> LocalKeySigner:
        if self.keys is None:
            raise ValueError("a delegated signer signs receipts only with a store to keep its keys in")
        row = self.keys.delegated_key(window.not_before)
        made: LocalKeySigner | None = None
        if row is None:
            self._warn_if_lost(window)
            made, candidate = self._make(window)
            row = self.keys.add_delegated_key(candidate)  # first writer wins: this is the window's key
        signer = made if made is not None and made.kid == row.kid else self._unwrapped(row)
        self._check(row, window, signer)
        return signer

    def _warn_if_lost(self, window: Window) -> None:
        """A window whose endorsement the store holds but whose key row it does not: the store
        lost the row (a restore gives back the endorsements, never the wrapped private keys).
        A second key is then endorsed for the rest of the window: valid by the contract, whose
        endorsements are per kid (receipts signed before keep their own key's endorsement), and
        every worker still signs with the one key the row now holds (first writer wins)."""
        read = getattr(self.keys, "key_documents", None)
        if read is None:
            return
        for document in read("endorsement"):
            body = json.loads(b64url_decode(split_compact(document.jws).payload_b64))
            if body.get("not_before") == window.not_before:
                log.warning(
                    "the delegated key %s of the window from %s is endorsed but not kept (restored from the archive, "
                    "whose wrapped keys are not): a new key is endorsed for the rest of the window",
                    document.kid,
                    window.not_before,
                )
                return

    def _make(self, window: Window) -> tuple[LocalKeySigner, DelegatedKeyRow]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        signer = LocalKeySigner(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        wrapped = self.wrapper.wrap(der, wrapping_aad(window.not_before, signer.kid))
        body = endorsement_body(signer.jwk, window, self.endorser.kid)
        [endorsement] = sign_payloads(self.endorser, [canonical_bytes(body)], ENDORSEMENT_TYP)
        return signer, DelegatedKeyRow(window.not_before, signer.kid, wrapped, endorsement)

    def _unwrapped(self, row: DelegatedKeyRow) -> LocalKeySigner:
        der = self.wrapper.unwrap(bytes(row.wrapped_private), wrapping_aad(row.not_before, row.kid))
        key = serialization.load_der_private_key(der, password=None)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return LocalKeySigner(pem)

    def _check(self, row: DelegatedKeyRow, window: Window, signer: LocalKeySigner) -> None:
        """The stored key is the one its endorsement names, for this window, by our endorser:
        a receipt is never signed with a key its verifier would refuse."""
        endorsement = read_endorsement(row.endorsement, self._roots, frozenset({self.kid}))
        problems = []
        if signer.kid != row.kid or endorsement.kid != row.kid:
            problems.append(
                f"the unwrapped key is {signer.kid}, the row names {row.kid}, the endorsement {endorsement.kid}"
            )
        if endorsement.not_before.strftime("%Y-%m-%dT%H:%M:%SZ") != window.not_before:
            problems.append(
                f"the endorsement is for a window starting {endorsement.not_before}, not {window.not_before}"
            )
        if problems:
            raise ValueError(f"the delegated key for {window.not_before} is inconsistent: {'; '.join(problems)}")


def public_jwks_of(rows: Sequence[DelegatedKeyRow]) -> list[dict[str, Any]]:
    """The public JWKs of delegated keys as their endorsements name them, unverified: for tools
    that trust the store; verifiers take them from receipts.delegation.Delegations."""
    return [json.loads(b64url_decode(split_compact(row.endorsement).payload_b64))["jwk"] for row in rows]
