"""Streaming latency on the emulators: publish-to-ledger time per event at a steady rate.

Starts its own emulators (Cloud SDK needed) and the streaming job, warms it up with one
event per customer (their first events load each chain from the store; reported apart),
then publishes `--rate` events per second for `--seconds`, and reads each ledger document's `ledger_written_at`
(the emulator's clock, on this machine) against the moment its event was published. The
baseline is the seed's target: p99 under 100 ms; ratio = 100 ms / measured p99.
Usage: python benchmarks/streaming_latency.py [--rate 20] [--seconds 30]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emulators_in, percentile, record, wait_for_receipts
from pipelines.local_runner import stop
from pipelines.streaming import StreamSettings, start
from receipts.canonical import receipt_id
from receipts.producer.publisher import SUBSCRIPTION, TOPIC, publish_lines
from receipts.stores.gcp.ledger import RECEIPTS
from receipts.stores.gcp.location import GcpLocation
from receipts.stores.gcp.store import SpannerFirestoreStore
from receipts.stores.keyring import KeyRing
from receipts_cli.provision import init

TARGET_P99_MS = 100.0
CUSTOMERS = 10


def publish_at(project: str, prefix: str, numbers: range, rate: float) -> dict[str, float]:
    """Publish one event per number at `rate` per second; {receipt_id: when published}."""
    published: dict[str, float] = {}
    began = time.time()
    for index, n in enumerate(numbers):
        time.sleep(max(0.0, began + index / rate - time.time()))
        customer = f"cust_{n % CUSTOMERS}"
        line = json.dumps(
            {
                "idempotent_key": f"{prefix}-{n}",
                "customer_id": customer,
                "amount": "1.00",
                "currency": "USD",
                "timestamp": "2026-01-25T10:00:00Z",
            }
        ).encode()
        published[receipt_id(customer, f"{prefix}-{n}")] = time.time()
        publish_lines(project, TOPIC, [line])
    return published


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="events published per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        with emulators_in(home / "emulators"):
            url = "gcp://bench-latency"
            location = GcpLocation.parse(url)
            init(location, report=lambda _: None)
            ring = KeyRing(home / "keys")
            settings = StreamSettings(
                f"projects/{location.project}/subscriptions/{SUBSCRIPTION}",
                url,
                str(home / "keys"),
                ring.current_kid,
                location.archive_url,
                None,
                archive_window_seconds=10,
            )
            job = start(settings)
            store = SpannerFirestoreStore(url)
            time.sleep(3)  # let the job's first pull start
            # Warm-up, measured apart: one event per customer, each the customer's first
            # (its chain is loaded from the store) and the job's first gRPC calls.
            cold = publish_at(location.project, "warm", range(CUSTOMERS), CUSTOMERS)
            wait_for_receipts(store, len(cold))
            count = int(args.rate * args.seconds)
            published = publish_at(location.project, "lat", range(count), args.rate)
            wait_for_receipts(store, len(cold) + count)
            stop(job)
            cold_latencies, latencies = [], []
            for snapshot in store._firestore.collection(RECEIPTS).stream():
                document = snapshot.to_dict()
                written = document["ledger_written_at"].timestamp()
                for sent, measured in ((cold, cold_latencies), (published, latencies)):
                    if document["receipt_id"] in sent:
                        measured.append((written - sent[document["receipt_id"]]) * 1000)

    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"{len(latencies)} of {count} events in the ledger; publish-to-ledger latency at {args.rate:g} events/s:")
    print(
        f"  p50 {p50:.0f} ms   p90 {percentile(latencies, 0.9):.0f} ms   p99 {p99:.0f} ms   max {max(latencies):.0f} ms"
    )
    print(
        f"warm-up (each customer's first event, measured apart): {len(cold_latencies)} events, "
        f"max {max(cold_latencies):.0f} ms"
    )
    print(f"ratio (seed target {TARGET_P99_MS:.0f} ms / p99): {TARGET_P99_MS / p99:.2f}")
    record(
        "streaming_latency",
        {
            "value": round(p99, 1),
            "baseline": TARGET_P99_MS,
            "ratio": round(TARGET_P99_MS / p99, 3),
            "unit": "ms (p99 publish-to-ledger)",
            "p50_ms": round(p50, 1),
            "warm_up_max_ms": round(max(cold_latencies), 1),
            "command": f"python benchmarks/streaming_latency.py --rate {args.rate:g} --seconds {args.seconds:g}",
        },
    )


if __name__ == "__main__":
    main()
