"""A fake Cloud KMS per test (a real gRPC server on a free port), and the variable that
points `receipts.stores.gcp.kms.kms_client()` (and so `kms://` signers built in a DoFn's setup)
at it."""

from collections.abc import Iterator

import pytest

from receipts.stores.gcp.kms import EMULATOR_HOST_ENV
from tests.kms.fake import FakeKms


@pytest.fixture
def fake_kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKms]:
    kms = FakeKms()
    kms.add_version()
    monkeypatch.setenv(EMULATOR_HOST_ENV, kms.start())
    yield kms
    kms.stop()
