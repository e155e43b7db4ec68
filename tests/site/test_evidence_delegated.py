"""The evidence bundle of a receipt signed by a delegated key: key-endorsement.jws and
hsm-key.pem are in it, and verify.sh checks the chain receipt key -> endorsement -> HSM key
with openssl alone: the window holds processed_at, a bundled revocation is later; a forged
endorsement, another HSM key or a receipt outside the window stops it with a named reason."""

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from receipts.api_keys import issue_api_key
from receipts.canonical import canonical_bytes
from receipts.delegation import REVOCATION_TYP, revocation_body
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import signer_from_url
from receipts.stores.sqlite import SqliteStore
from tests.conftest import make_event
from tests.site.conftest import Site
from tests.site.evidence_bundle import Bundle, fetch, refuses, tool_folders, verify
from verifier_site import create_app

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (Debian: openssl)")
DAY = "2026-03-01T10:00:00.000000Z"


@pytest.fixture(scope="module")
def tool_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tool_folders(tmp_path_factory)


@pytest.fixture
def delegated_site(tmp_path: Path) -> Site:
    """cust_1: two receipts signed by the day's delegated key; cust_2: one signed by it a day late."""
    ring = KeyRing(tmp_path / "keys")
    ring.ensure_current()
    store = SqliteStore(f"sqlite:///{tmp_path / 'site.db'}")
    signer = signer_from_url(f"delegated://local{ring.folder}?window=1d", store)
    key = signer.signer_at(DAY)
    for customer, processed_at, count in (("cust_1", DAY, 2), ("cust_2", "2026-03-02T09:00:00.000000Z", 1)):
        state = ChainState(customer)
        for n in range(count):
            chained = state.append(
                make_event(customer_id=customer, idempotent_key=f"k{n}"), None, key.kid, processed_at
            )
            store.write_receipts([SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0])])
    keys = {customer: issue_api_key(store, customer)[0] for customer in ("cust_1", "cust_2")}
    app = create_app({"STORE_URL": store.url, "KEYS_FOLDER": str(ring.folder), "TESTING": True, "SECRET_KEY": b"x"})
    receipts = {customer: list(store.receipts(customer)) for customer in ("cust_1", "cust_2")}
    site = Site(app, app.test_client(), store, ring.folder, receipts, keys)
    site.extra["signer"] = signer
    return site


def test_the_bundle_checks_the_endorsement_with_openssl(delegated_site: Site, tmp_path: Path, tool_paths) -> None:
    files = fetch(delegated_site, "cust_1", 1)
    assert {"key-endorsement.jws", "hsm-key.pem"} <= set(files) and "key-revocation.jws" not in files
    output = verify(files, tmp_path / "bundle", tool_paths)
    assert "hsm-key.pem OK" in output and "key-endorsement.jws OK" in output
    assert "[2026-03-01T00:00:00Z, 2026-03-02T00:00:00Z), which holds 2026-03-01T10:00:00.000000Z" in output
    assert output.splitlines()[-1].startswith("evidence OK")


def test_a_receipt_outside_its_keys_window_fails(delegated_site: Site, tmp_path: Path, tool_paths) -> None:
    bundle = Bundle(fetch(delegated_site, "cust_2", 0), {})
    refuses(bundle, tmp_path / "bundle", tool_paths, "outside_key_window: processed_at 2026-03-02T09:00:00.000000Z")


def test_a_forged_endorsement_or_another_hsm_key_fails(delegated_site: Site, tmp_path: Path, tool_paths) -> None:
    files = fetch(delegated_site, "cust_1", 0)
    jws = files["key-endorsement.jws"].decode().strip()
    header, payload, signature = jws.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    forged = Bundle({**files, "key-endorsement.jws": f"{header}.{payload}.{flipped}\n".encode()}, {})
    refuses(forged, tmp_path / "forged", tool_paths, "key-endorsement.jws's RS256 signature does not verify")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    swapped = Bundle({**files, "hsm-key.pem": pem}, {})
    refuses(swapped, tmp_path / "swapped", tool_paths, "hsm-key.pem's RFC 7638 thumbprint is not")


def test_a_bundled_revocation_bounds_the_key(delegated_site: Site, tmp_path: Path, tool_paths) -> None:
    signer = delegated_site.extra["signer"]
    kid = signer.signer_at(DAY).kid
    body = revocation_body(kid, "2026-03-01T11:00:00Z", "rotated", signer.kid)
    delegated_site.store.add_key_revocation(sign_payloads(signer.endorser, [canonical_bytes(body)], REVOCATION_TYP)[0])
    delegated_site.app.config["KEY_SOURCE"]._cached = None  # as after the cache's 60 s
    files = fetch(delegated_site, "cust_1", 0)
    assert "key-revocation.jws" in files
    assert "key-revocation.jws OK: key" in verify(files, tmp_path / "before", tool_paths)
    body = revocation_body(kid, "2026-03-01T09:00:00Z", "leaked", signer.kid)
    earlier = sign_payloads(signer.endorser, [canonical_bytes(body)], REVOCATION_TYP)[0]
    refuses(
        Bundle({**files, "key-revocation.jws": (earlier + "\n").encode()}, {}),
        tmp_path / "after",
        tool_paths,
        "key_revoked",
    )
