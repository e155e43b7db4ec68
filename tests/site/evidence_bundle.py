"""The evidence bundle's verify.sh under test: a bundle's files and ways to edit them, other
keys to forge with, and running the script under a POSIX shell with only POSIX utilities
and openssl on the PATH (busybox's own applets under busybox)."""

import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from receipts.canonical import canonical_bytes
from receipts.jws import b64url, b64url_decode
from receipts.records import export_line
from tests.site.conftest import Site
from verifier_site.evidence import chain_lines

# What verify.sh may call: POSIX utilities and openssl, nothing else on the PATH.
TOOLS = ("[", "awk", "cat", "cmp", "cut", "dirname", "echo", "grep", "od", "printf", "sed", "tail", "test", "tr", "wc")
SHELLS = {
    "sh": ("sh",),
    "dash": ("dash",),
    "posh": ("posh",),
    "bash --posix": ("bash", "--posix"),
    "busybox sh": ("busybox", "sh"),
}
DEFAULT_SHELL = "dash" if shutil.which("dash") else "sh"


@dataclass
class Bundle:
    """The files of one unzipped evidence bundle, and ways to edit them."""

    files: dict[str, bytes]
    other: dict[str, bytes]  # the bundle of another receipt of the same customer

    @property
    def receipt(self) -> dict[str, Any]:
        return json.loads(self.files["receipt.json"])

    @property
    def parts(self) -> list[str]:
        return self.files["receipt.jws"].decode().strip().split(".")

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(b64url_decode(self.parts[1]))

    @property
    def chain(self) -> dict[str, Any]:
        return json.loads(self.files["chain.json"])

    def edit_receipt(self, **changes: Any) -> None:
        self.files["receipt.json"] = export_line({**self.receipt, **changes})

    def set_jws(self, *parts: str) -> None:
        self.files["receipt.jws"] = (".".join(parts) + "\n").encode()

    def edit_chain(self, entry: str, **changes: Any) -> None:
        chain = self.chain
        chain[entry] = {**chain[entry], **changes} if changes else None
        self.files["chain.json"] = chain_lines(chain)

    def replace(self, name: str, old: str | bytes, new: str | bytes) -> None:
        old, new = (value.encode() if isinstance(value, str) else value for value in (old, new))
        assert old in self.files[name], (name, old)
        self.files[name] = self.files[name].replace(old, new)


@dataclass(frozen=True)
class Edit:
    name: str
    apply: Callable[[Bundle], None]
    message: str  # what verify.sh must say


@cache
def other_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def header(kid: str) -> str:
    return b64url(canonical_bytes({"alg": "RS256", "kid": kid, "typ": "receipt+jws"}))


def signed_by(key: rsa.RSAPrivateKey, head: str, payload: str) -> str:
    return b64url(key.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()))


def fetch(site: Site, customer: str, index: int) -> dict[str, bytes]:
    receipt_id = site.receipts[customer][index]["receipt_id"]
    response = site.client.get(f"/v1/receipts/{receipt_id}/evidence", headers=site.bearer(customer))
    assert response.status_code == 200, response.data
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {Path(name).name: archive.read(name) for name in archive.namelist()}


def bundle_of(site: Site, customer: str, index: int) -> Bundle:
    other = index + 1 if index + 1 < len(site.receipts[customer]) else index - 1
    return Bundle(fetch(site, customer, index), fetch(site, customer, other))


def tool_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """For each shell at hand, a PATH folder holding only TOOLS (busybox's own applets for
    busybox) and openssl. Use it from a module-scoped fixture."""
    openssl = shutil.which("openssl")
    assert openssl
    paths = {}
    for shell, command in SHELLS.items():
        if shutil.which(command[0]) is None:
            continue
        folder = tmp_path_factory.mktemp(shell.replace(" ", "-"))
        for tool in TOOLS:
            target = shutil.which(command[0]) if shell == "busybox sh" else shutil.which(tool)
            assert target, f"{tool} is not installed"
            (folder / tool).symlink_to(target)
        (folder / "openssl").symlink_to(openssl)
        paths[shell] = folder
    return paths


def run(folder: Path, tool_paths: dict[str, Path], shell: str = DEFAULT_SHELL) -> subprocess.CompletedProcess[str]:
    if shell not in tool_paths:
        pytest.skip(f"{shell} is not installed (Debian: apt-get install {SHELLS[shell][0]})")
    command = [shutil.which(SHELLS[shell][0]) or SHELLS[shell][0], *SHELLS[shell][1:], "verify.sh"]
    return subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
        env={"PATH": str(tool_paths[shell])},
    )


def verify(files: dict[str, bytes], folder: Path, tool_paths: dict[str, Path], shell: str = DEFAULT_SHELL) -> str:
    """Unpack and run verify.sh; its whole output, after checking it passed."""
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    result = run(folder, tool_paths, shell)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    return result.stdout


def refuses(bundle: Bundle, folder: Path, tool_paths: dict[str, Path], message: str) -> str:
    """Unpack and run verify.sh; it must stop, saying `message`, and never print evidence OK."""
    folder.mkdir()
    for name, data in bundle.files.items():
        (folder / name).write_bytes(data)
    result = run(folder, tool_paths)
    assert result.returncode != 0, result.stdout
    assert "evidence OK" not in result.stdout
    assert "FAILED at step " in result.stderr and message in result.stderr, result.stdout + result.stderr
    return result.stdout + result.stderr
