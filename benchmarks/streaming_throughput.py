"""Streaming throughput on the emulators: Pub/Sub -> streaming job -> Spanner + Firestore + GCS,
against the batch job writing the same events into the same kind of store in the same run,
and what each costs Spanner: transactions and mutations per receipt (counted by the store:
a mutation per column of each row written, as Spanner counts them, index entries aside),
and dedup's idempotency reads per receipt (both jobs: one per customer batch of keys; the
streaming job's state decides repeats within the in-flight window without one). The
streaming/batch ratios of those counts are recorded beside the rates: counts are exact,
rates on a loaded machine lower bounds.

The streaming job runs twice: with `--charge_batch_size 1` (each event its own
transaction, the job before per-customer micro-batches) and with the default micro-batches.
Starts its own emulators (Cloud SDK needed), one project per job so none sees another's
data. Times from the job's start until every receipt is in the ledger.
Usage: python benchmarks/streaming_throughput.py [--events N] [--customers N]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emulators_in, record, wait_for_receipts
from benchmarks.pipeline_throughput import generate
from pipelines.batch import Settings
from pipelines.batch import run as run_batch
from pipelines.local_runner import stop
from pipelines.streaming import StreamSettings, start
from receipts.producer.publisher import SUBSCRIPTION, TOPIC, publish_lines
from receipts.stores.gcp.location import GcpLocation
from receipts.stores.gcp.store import SpannerFirestoreStore
from receipts.stores.keyring import KeyRing
from receipts_cli.console import pipeline_counts
from receipts_cli.provision import init


def per_receipt(counts, receipts: int) -> dict[str, float]:
    written = max(1, receipts)
    return {
        "transactions": round(counts["store_write_transactions"] / written, 3),
        "mutations": round(counts["store_write_mutations"] / written, 2),
        "idempotency_reads": round(counts["store_idempotency_reads"] / written, 3),  # dedup's store reads
    }


COUNTED = ("store_write_transactions", "store_write_mutations", "store_idempotency_reads", "duplicates")


def ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


def stream(home: Path, url: str, kid: str, lines: list[bytes], unique: int, batch_size: int) -> tuple[float, object]:
    """Publish `lines`, run the streaming job until every receipt is stored: (seconds, counts)."""
    location = GcpLocation.parse(url)
    init(location, report=lambda _: None)
    publish_lines(location.project, TOPIC, lines)
    settings = StreamSettings(
        f"projects/{location.project}/subscriptions/{SUBSCRIPTION}",
        url,
        str(home / "keys"),
        kid,
        location.archive_url,
        None,
        archive_window_seconds=5,
        charge_batch_size=batch_size,
    )
    store = SpannerFirestoreStore(url)
    started = time.perf_counter()
    job = start(settings)
    try:
        wait_for_receipts(store, unique)
    finally:
        stop(job)
    return time.perf_counter() - started, pipeline_counts(job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        with emulators_in(home / "emulators"):
            lines = generate(args.events, args.customers)
            unique = len({json.loads(line)["idempotent_key"] for line in lines})
            (home / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
            ring = KeyRing(home / "keys")
            kid = ring.current_kid

            batch_url = "gcp://bench-batch-job"
            init(GcpLocation.parse(batch_url), report=lambda _: None)
            started = time.perf_counter()
            batch_job = run_batch(
                Settings(
                    str(home / "events.jsonl"),
                    batch_url,
                    str(home / "keys"),
                    kid,
                    GcpLocation.parse(batch_url).archive_url,
                )
            )
            batch_seconds = time.perf_counter() - started
            batch_counts = pipeline_counts(batch_job)
            assert sum(1 for _ in SpannerFirestoreStore(batch_url).receipts()) == unique
            single_seconds, single_counts = stream(home, "gcp://bench-stream-single", kid, lines, unique, 1)
            stream_seconds, stream_counts = stream(home, "gcp://bench-stream-job", kid, lines, unique, 500)

    rows = [
        ("batch job (emulators)", batch_seconds, batch_counts),
        ("streaming, one event per transaction (before)", single_seconds, single_counts),
        ("streaming, per-customer micro-batches (after)", stream_seconds, stream_counts),
    ]
    print(
        f"{'what':<50}{'seconds':>9}{'events/s':>10}{'txn/receipt':>13}{'mutations/receipt':>19}{'reads/receipt':>15}"
    )
    for name, seconds, counts in rows:
        cost = per_receipt(counts, unique)
        rate = args.events / seconds
        print(
            f"{name:<50}{seconds:>9.2f}{rate:>10.0f}{cost['transactions']:>13.3f}{cost['mutations']:>19.2f}"
            f"{cost['idempotency_reads']:>15.3f}"
        )
    stream_rate, batch_rate = args.events / stream_seconds, args.events / batch_seconds
    print(f"ratio (streaming / batch): {stream_rate / batch_rate:.2f}")
    streaming_cost, batch_cost = per_receipt(stream_counts, unique), per_receipt(batch_counts, unique)
    to_batch = {key: ratio(streaming_cost[key], batch_cost[key]) for key in streaming_cost}
    print("per receipt, streaming / batch: " + ", ".join(f"{key} {value}" for key, value in to_batch.items()))
    record(
        "streaming",
        {
            "value": round(stream_rate, 1),
            "baseline": round(batch_rate, 1),
            "ratio": round(stream_rate / batch_rate, 3),
            "unit": "events/s",
            "spanner_per_receipt": {
                key: per_receipt(counts, unique)
                for key, counts in (
                    ("batch", batch_counts),
                    ("streaming_before", single_counts),
                    ("streaming_after", stream_counts),
                )
            },
            "streaming_before_events_per_second": round(args.events / single_seconds, 1),
            "streaming_to_batch_per_receipt": to_batch,  # streaming_after / batch, counted
            "store_counts": {
                key: {name: counts[name] for name in COUNTED}
                for key, counts in (("batch", batch_counts), ("streaming_after", stream_counts))
            },
            "events": args.events,
            "customers": args.customers,
            "receipts": unique,
            "command": f"python benchmarks/streaming_throughput.py --events {args.events} --customers {args.customers}",
        },
    )


if __name__ == "__main__":
    main()
