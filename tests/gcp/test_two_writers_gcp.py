"""Two writers on one customer's chain on the emulators: the streaming job runs while a batch
backfill writes to the same customers. Every event of both is charged once, in one
gap-free chain per customer that verifies, and nothing is dead-lettered: the streaming
job's refused receipts are chained again on the store's head (issue 15, "money first" 1)."""

import json
from pathlib import Path

from pipelines.batch import Settings
from pipelines.batch import run as run_batch
from pipelines.local_runner import stop
from pipelines.streaming import start
from receipts.keys import Jwks
from receipts.producer.publisher import publish_lines
from receipts.verify import verify_chain
from receipts_cli.console import pipeline_counts
from tests.gcp.test_streaming import settings_for, wait_for


def lines(prefix: str, count: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "idempotent_key": f"{prefix}-{n}",
                "customer_id": f"cust_{n % 2}",
                "amount": "1.00",
                "currency": "USD",
                "timestamp": "2026-01-25T10:00:00Z",
            }
        ).encode()
        for n in range(count)
    ]


def test_a_backfill_beside_a_running_stream_charges_every_event_in_one_chain(cloud, tmp_path: Path) -> None:
    store = cloud.store()
    streamed, backfilled, later = lines("stream", 10), lines("backfill", 10), lines("later", 10)
    publish_lines(cloud.project, "billing-events", streamed)
    result = start(settings_for(cloud))
    try:
        wait_for(lambda: sum(1 for _ in store.receipts()) == 10, what="the streamed receipts")
        backfill = tmp_path / "backfill.jsonl"
        backfill.write_bytes(b"\n".join(backfilled) + b"\n")
        run_batch(
            Settings(
                str(backfill), cloud.url, str(cloud.keys.folder), cloud.keys.current_kid, cloud.location.archive_url
            )
        )
        publish_lines(cloud.project, "billing-events", later)  # the stream's chain state is now behind the store
        wait_for(lambda: sum(1 for _ in store.receipts()) == 30, what="every receipt of both writers")
    finally:
        stop(result)
    receipts = list(store.receipts())
    assert sorted(r["idempotent_key"] for r in receipts) == sorted(
        json.loads(line)["idempotent_key"] for line in streamed + backfilled + later
    )
    for customer in ("cust_0", "cust_1"):
        assert [r["sequence"] for r in receipts if r["customer_id"] == customer] == list(range(1, 16))
    assert all(check.ok for check in verify_chain(receipts, Jwks(cloud.keys.jwks())))
    assert list(store.dead_letters()) == []
    assert pipeline_counts(result)["receipts_rechained"] >= 2  # each customer's first later event was refused once
    assert store.balances()[0].balance == "15.00"
