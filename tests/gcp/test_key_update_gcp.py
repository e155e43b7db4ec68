"""A key rotated by a job update, on the emulators: the job before the update signs with the
old key, the job after it with the new one, and every receipt is signed by the key its body
names, so all of them verify against the published JWKS (issue 15, "money first" 2)."""

import base64
import json
from pathlib import Path

from pipelines.local_runner import stop
from pipelines.streaming import StreamSettings, start
from receipts.keys import Jwks
from receipts.producer.publisher import publish_lines
from receipts.stores.keyring import KeyRing
from receipts.verify import verify_chain
from tests.gcp.test_streaming import wait_for
from tests.gcp.test_two_writers_gcp import lines


def settings(cloud, ring: KeyRing) -> StreamSettings:
    return StreamSettings(
        subscription=cloud.subscription(),
        store=cloud.url,
        keys=str(ring.folder),
        kid=ring.current_kid,
        archive=cloud.location.archive_url,
        dead_letter_topic=None,
        archive_window_seconds=2,
    )


def header_kid(jws: str) -> str:
    encoded = jws.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))["kid"]


def test_receipts_across_a_key_rotating_update_are_signed_by_the_key_they_name(cloud, tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    old = ring.ensure_current()
    store = cloud.store()
    publish_lines(cloud.project, "billing-events", lines("before", 6))
    job = start(settings(cloud, ring))
    try:
        wait_for(lambda: sum(1 for _ in store.receipts()) == 6, what="the receipts before the update")
    finally:
        stop(job)
    new = ring.rotate()
    publish_lines(cloud.project, "billing-events", lines("after", 6))
    job = start(settings(cloud, ring))  # the updated job: its chain continues from the store
    try:
        wait_for(lambda: sum(1 for _ in store.receipts()) == 12, what="the receipts after the update")
    finally:
        stop(job)
    receipts = list(store.receipts())
    assert all(header_kid(r["signature"]) == r["kid"] for r in receipts)
    assert {r["kid"] for r in receipts if r["idempotent_key"].startswith("before")} == {old}
    assert {r["kid"] for r in receipts if r["idempotent_key"].startswith("after")} == {new}
    assert all(check.ok for check in verify_chain(receipts, Jwks(ring.jwks())))
    assert [r["sequence"] for r in receipts if r["customer_id"] == "cust_0"] == list(range(1, 7))
