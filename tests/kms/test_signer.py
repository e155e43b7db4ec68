"""KmsSigner against a real gRPC server with a real RSA key: the real google-cloud-kms
client signs, the JWS verifies with our verifier, joserfc and openssl, and every integrity
fault Google documents for AsymmetricSign and GetPublicKey is caught."""

import shutil
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from joserfc import jws
from joserfc.jwk import RSAKey

from receipts.jws import b64url_decode, sign_payloads, split_compact
from receipts.keys import Jwks, kid_of, public_jwk
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.gcp.kms import KmsIntegrityError, KmsSigner, fetch_public_key
from receipts.stores.signers import signer_from_url
from receipts.verify import verify_chain
from tests.conftest import PROCESSED_AT, make_event
from tests.kms.fake import CORRUPTIONS, VERSION, Algorithm, FakeKms


def signer(kms: FakeKms, **options) -> KmsSigner:
    return KmsSigner(VERSION, client=kms.client(), first_retry_delay=0.01, **options)


def chain_of(kms_signer: KmsSigner, count: int) -> list[dict]:
    """Exported receipts of one customer, signed through KMS in one batch."""
    state = ChainState("cust_kms")
    chained = [
        state.append(make_event(idempotent_key=f"k{i}", customer_id="cust_kms"), None, kms_signer.kid, PROCESSED_AT)
        for i in range(count)
    ]
    signatures = sign_payloads(kms_signer, [receipt.canonical for receipt in chained])
    return [SignedReceipt(receipt, signature).export() for receipt, signature in zip(chained, signatures, strict=True)]


def test_kid_is_the_rfc7638_thumbprint_of_the_kms_public_key(fake_kms: FakeKms) -> None:
    assert signer(fake_kms).kid == kid_of(fake_kms.public_pem())


def test_kms_signed_receipts_verify_with_our_verifier_and_joserfc(fake_kms: FakeKms) -> None:
    kms_signer = signer(fake_kms)
    receipts = chain_of(kms_signer, 5)
    jwks = {"keys": [public_jwk(fake_kms.public_pem())]}
    assert all(result.ok for result in verify_chain(receipts, Jwks(jwks)))
    key = RSAKey.import_key(fake_kms.public_pem())
    for receipt in receipts:
        token = jws.deserialize_compact(receipt["signature"], key, algorithms=["RS256"])
        assert token.headers() == {"alg": "RS256", "kid": kms_signer.kid, "typ": "receipt+jws"}


def test_openssl_verifies_a_kms_signature(fake_kms: FakeKms, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command line tool is not installed (PATH has no 'openssl')")
    [receipt] = chain_of(signer(fake_kms), 1)
    parts = split_compact(receipt["signature"])
    (tmp_path / "pub.pem").write_bytes(fake_kms.public_pem())
    (tmp_path / "input.txt").write_bytes(parts.signing_input)
    (tmp_path / "sig.bin").write_bytes(b64url_decode(parts.signature_b64))
    done = subprocess.run(
        [openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "input.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "Verified OK"), done.stderr


def test_a_batch_is_signed_concurrently_and_in_order(fake_kms: FakeKms) -> None:
    fake_kms.delay = 0.05
    kms_signer = signer(fake_kms, concurrency=8)
    started = time.monotonic()
    receipts = chain_of(kms_signer, 16)
    elapsed = time.monotonic() - started
    kms_signer.close()
    assert fake_kms.max_in_flight > 1
    assert elapsed < 16 * 0.05 / 2  # serial would take 0.8 s
    assert [r["sequence"] for r in receipts] == list(range(1, 17))
    jwks = Jwks({"keys": [public_jwk(fake_kms.public_pem())]})
    assert all(result.ok for result in verify_chain(receipts, jwks))


def test_transient_errors_are_retried(fake_kms: FakeKms) -> None:
    kms_signer = signer(fake_kms)
    fake_kms.failures = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
    calls = fake_kms.sign_calls
    [receipt] = chain_of(kms_signer, 1)
    assert fake_kms.sign_calls - calls == 3
    assert all(r.ok for r in verify_chain([receipt], Jwks({"keys": [public_jwk(fake_kms.public_pem())]})))


def test_transient_errors_on_get_public_key_are_retried(fake_kms: FakeKms) -> None:
    fake_kms.failures = [grpc.StatusCode.UNAVAILABLE]
    assert signer(fake_kms).kid == kid_of(fake_kms.public_pem())
    assert fake_kms.public_key_calls == 2


def test_a_permanent_error_is_raised_at_once(fake_kms: FakeKms) -> None:
    from google.api_core import exceptions

    kms_signer = signer(fake_kms)
    fake_kms.failures = [grpc.StatusCode.PERMISSION_DENIED]
    with pytest.raises(exceptions.PermissionDenied):
        kms_signer.sign([b"a.b"])
    assert fake_kms.sign_calls == 1


def test_retries_give_up_after_their_time(fake_kms: FakeKms) -> None:
    from google.api_core import exceptions

    kms_signer = KmsSigner(VERSION, client=fake_kms.client(), give_up_after=0.05, first_retry_delay=0.02)
    fake_kms.failures = [grpc.StatusCode.UNAVAILABLE] * 50
    with pytest.raises(exceptions.ServiceUnavailable):
        kms_signer.sign([b"a.b"])


@pytest.mark.parametrize("fault", [name for name in CORRUPTIONS if name != "pem_crc32c"])
def test_a_corrupted_sign_response_is_refused(fake_kms: FakeKms, fault: str) -> None:
    kms_signer = signer(fake_kms, integrity_attempts=3)
    fake_kms.corrupt[fault] = 3
    with pytest.raises(KmsIntegrityError):
        kms_signer.sign([b"header.payload"])
    assert fake_kms.sign_calls == 3  # asked again a limited number of times, then refused


@pytest.mark.parametrize("fault", [name for name in CORRUPTIONS if name != "pem_crc32c"])
def test_a_single_corrupted_response_is_asked_again(fake_kms: FakeKms, fault: str) -> None:
    kms_signer = signer(fake_kms)
    fake_kms.corrupt[fault] = 1
    [receipt] = chain_of(kms_signer, 1)
    assert fake_kms.sign_calls == 2
    assert all(r.ok for r in verify_chain([receipt], Jwks({"keys": [public_jwk(fake_kms.public_pem())]})))


def test_a_corrupted_public_key_is_refused(fake_kms: FakeKms) -> None:
    fake_kms.corrupt["pem_crc32c"] = 1
    with pytest.raises(KmsIntegrityError, match="CRC32C"):
        fetch_public_key(fake_kms.client(), VERSION)


def test_a_key_that_does_not_make_rs256_signatures_is_refused(fake_kms: FakeKms) -> None:
    name = fake_kms.add_version(VERSION.replace("/1", "/2"), Algorithm.RSA_SIGN_PSS_2048_SHA256)
    with pytest.raises(ValueError, match="RSA_SIGN_PKCS1_2048_SHA256"):
        KmsSigner(name, client=fake_kms.client())


def test_signer_from_url_builds_a_kms_signer_from_the_environment(fake_kms: FakeKms) -> None:
    kms_signer = signer_from_url(f"kms://{VERSION}?concurrency=4")
    assert isinstance(kms_signer, KmsSigner) and kms_signer.kid == kid_of(fake_kms.public_pem())
    assert len(kms_signer.sign([b"a.b", b"c.d"])) == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("kms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "not a KMS key version"),
        (f"kms://{VERSION}?threads=4", "unknown kms:// URL parameter"),
        ("file:///nonexistent/key.pem", "cannot read the signing key"),
        ("pem:key.pem", "unknown signer"),
    ],
)
def test_signer_urls_that_cannot_work_say_why(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        signer_from_url(url)


def test_file_url_of_a_key_ring_key(keyring) -> None:
    from receipts.stores.signers import key_file_url

    local = signer_from_url(key_file_url(keyring.folder, keyring.current_kid))
    assert local.kid == keyring.current_kid
