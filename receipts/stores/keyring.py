"""The local key ring: RSA signing keys in a folder, their JWKS and RFC 7638 kids.

Layout under `--home`: `keys/keyring.json` (which key is current, which are retired)
and one `keys/<kid>.pem` private key per key, mode 0600. Retired keys stay published in
the JWKS so old receipts keep verifying.
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from receipts.keys import KEY_BITS, kid_of, public_jwk


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    created_at: str
    retired_at: str | None


class KeyRing:
    """Signing keys kept in one folder; creates the first key on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._index_path = self.folder / "keyring.json"

    # -- reading -------------------------------------------------------------------
    def exists(self) -> bool:
        return self._index_path.exists()

    def _index(self) -> dict[str, Any]:
        if not self._index_path.exists():
            self.rotate()
        return json.loads(self._index_path.read_text())

    @property
    def current_kid(self) -> str:
        return self._index()["current"]

    def ensure_current(self) -> str:
        """The current kid, creating the first key when the ring is empty."""
        return self.current_kid

    def entries(self) -> list[KeyInfo]:
        return [KeyInfo(**entry) for entry in self._index()["keys"]]

    def private_pem(self, kid: str) -> bytes:
        path = self.folder / f"{kid}.pem"
        if not path.exists():
            raise KeyError(f"no private key for kid {kid} in {self.folder}")
        return path.read_bytes()

    def public_pem(self, kid: str) -> bytes:
        key = serialization.load_pem_private_key(self.private_pem(kid), password=None)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 JWK Set of every key, current first, retired ones included."""
        infos = sorted(self.entries(), key=lambda info: info.retired_at is not None)
        return {"keys": [public_jwk(self.public_pem(info.kid)) for info in infos]}

    # -- writing -------------------------------------------------------------------
    def rotate(self) -> str:
        """Create a new current key; the previous one is retired but still published."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kid = kid_of(public_pem)
        path = self.folder / f"{kid}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        index = json.loads(self._index_path.read_text()) if self._index_path.exists() else {"keys": []}
        for entry in index["keys"]:
            entry["retired_at"] = entry["retired_at"] or now
        index["keys"].append({"kid": kid, "created_at": now, "retired_at": None})
        index["current"] = kid
        temporary = self._index_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(index, indent=2) + "\n")
        temporary.replace(self._index_path)
        return kid
