"""The charging step with a delegated signer: each receipt names and is signed by the key of
its processed_at's window, a batch that crosses midnight is signed by two keys, and every
receipt verifies against the JWKS and the HSM key's endorsements."""

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from receipts.delegation import Delegations
from receipts.keys import Jwks
from receipts.records import Message
from receipts.stores.delegated import public_jwks_of
from receipts.stores.keyring import KeyRing
from receipts.stores.sqlite import SqliteStore
from receipts.verify import KEY_ENDORSEMENT, verify_chain
from tests.conftest import make_event
from transforms.chain import ChargeCustomer
from transforms.sinks import DEAD

pytestmark = pytest.mark.beam
BATCH = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


class Midnight:
    """A clock that reads 23:59:59 three times, then the next day (picklable, as DoFns are)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return "2026-03-01T23:59:59.500000Z" if self.calls <= 3 else "2026-03-02T00:00:00.250000Z"


def test_a_batch_across_midnight_is_signed_by_each_windows_key(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    hsm = ring.ensure_current()
    store_url = f"sqlite:///{tmp_path / 'receipts.db'}"
    signer_url = f"delegated://local{ring.folder}?window=1d"
    elements = [("cust_1", [(Message(f"k{n}", b""), make_event(idempotent_key=f"k{n}")) for n in range(5)])]
    with TestPipeline(runner=BATCH) as pipeline:
        written = (
            pipeline
            | beam.Create(elements)
            | beam.ParDo(ChargeCustomer(store_url, signer_url, hsm, clock=Midnight())).with_outputs(DEAD, main="stored")
        )
        assert_that(written[DEAD], equal_to([]), label="no dead letters")
    store = SqliteStore(store_url)
    stored = list(store.receipts())
    keys = store.delegated_keys()
    assert [row.not_before for row in keys] == ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"]
    assert [r["kid"] for r in stored] == [keys[0].kid] * 3 + [keys[1].kid] * 2
    jwks = Jwks({"keys": ring.jwks()["keys"] + public_jwks_of(keys)})
    endorsements = [doc.jws for doc in store.key_documents("endorsement")]
    results = verify_chain(stored, jwks, Delegations(Jwks(ring.jwks()), [hsm], endorsements))
    assert all(result.ok for result in results), [result.failures for result in results]
    assert all(any(check.check == KEY_ENDORSEMENT for check in result.checks) for result in results)
    store.close()
