"""The log's KMS signer against the fake KMS with a real Ed25519 key: pure Ed25519 over
the note text (data, never a digest), a checkpoint Go's note format verifies with the
vkey, and every integrity fault caught as for the receipt signer."""

import grpc
import pytest

from receipts.stores.gcp.kms import KmsIntegrityError
from receipts.stores.gcp.log_kms import KmsNoteSigner
from receipts.stores.log_signers import log_signer_from_url, vkey_of
from receipts.tlog.checkpoints import Checkpoint, open_checkpoint, sign_checkpoint
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.note_keys import NoteVerifier
from tests.kms.fake import CORRUPTIONS, LOG_VERSION, VERSION, Algorithm, FakeKms

ORIGIN = "billing.example/log"


@pytest.fixture
def log_kms(fake_kms: FakeKms) -> FakeKms:
    fake_kms.add_version(LOG_VERSION, Algorithm.EC_SIGN_ED25519)
    return fake_kms


def signer(kms: FakeKms, **options) -> KmsNoteSigner:
    return KmsNoteSigner(LOG_VERSION, ORIGIN, client=kms.client(), first_retry_delay=0.01, **options)


def test_a_kms_signed_checkpoint_opens_with_the_vkey(log_kms: FakeKms) -> None:
    kms_signer = signer(log_kms)
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), [kms_signer])
    checkpoint, opened = open_checkpoint(note, [NoteVerifier.from_vkey(vkey_of(kms_signer))], ORIGIN)
    assert checkpoint.size == 0 and opened.signatures[0].name == ORIGIN
    public = log_kms.versions[LOG_VERSION].key.public_key().public_bytes_raw()
    assert kms_signer.public_key.public_key == public
    again = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), [kms_signer])
    assert again == note  # deterministic: a re-sign is the same note


def test_signer_from_url_builds_a_kms_note_signer_from_the_environment(log_kms: FakeKms) -> None:
    kms_signer = log_signer_from_url(f"kms://{LOG_VERSION}", ORIGIN)
    assert isinstance(kms_signer, KmsNoteSigner) and kms_signer.name == ORIGIN
    assert len(kms_signer.sign(b"text\n")) == 64


def test_an_rsa_key_is_refused_for_the_log(log_kms: FakeKms) -> None:
    with pytest.raises(ValueError, match="EC_SIGN_ED25519"):
        KmsNoteSigner(VERSION, ORIGIN, client=log_kms.client())


def test_transient_errors_are_retried(log_kms: FakeKms) -> None:
    kms_signer = signer(log_kms)
    log_kms.failures = [grpc.StatusCode.UNAVAILABLE]
    calls = log_kms.sign_calls
    assert kms_signer.public_key.verify_ed25519(b"a\n", kms_signer.sign(b"a\n"))
    assert log_kms.sign_calls - calls == 2


@pytest.mark.parametrize("fault", [name for name in CORRUPTIONS if name != "pem_crc32c"])
def test_a_corrupted_sign_response_is_asked_again_then_refused(log_kms: FakeKms, fault: str) -> None:
    kms_signer = signer(log_kms)
    log_kms.corrupt[fault] = 1
    assert kms_signer.public_key.verify_ed25519(b"a\n", kms_signer.sign(b"a\n"))
    log_kms.corrupt[fault] = 3
    with pytest.raises(KmsIntegrityError):
        kms_signer.sign(b"a\n")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"kms://{LOG_VERSION}?concurrency=4", "no parameters"),
        ("file:///nonexistent/log.key", "cannot read the log key"),
        ("ed25519:key", "unknown log signer"),
    ],
)
def test_log_signer_urls_that_cannot_work_say_why(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        log_signer_from_url(url, ORIGIN)
