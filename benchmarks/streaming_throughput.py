"""Streaming throughput on the emulators: Pub/Sub -> streaming job -> Spanner + Firestore + GCS,
against the batch job writing the same events into the same kind of store in the same run.

Starts its own emulators (Cloud SDK needed), one project per job so neither sees the
other's data. Times from the job's start until every receipt is in the ledger.
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
from receipts_cli.provision import init


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

            batch_url, stream_url = "gcp://bench-batch-job", "gcp://bench-stream-job"
            for url in (batch_url, stream_url):
                init(GcpLocation.parse(url), report=lambda _: None)

            started = time.perf_counter()
            run_batch(
                Settings(
                    str(home / "events.jsonl"),
                    batch_url,
                    str(home / "keys"),
                    kid,
                    GcpLocation.parse(batch_url).archive_url,
                )
            )
            batch_seconds = time.perf_counter() - started
            assert sum(1 for _ in SpannerFirestoreStore(batch_url).receipts()) == unique

            location = GcpLocation.parse(stream_url)
            publish_lines(location.project, TOPIC, lines)
            settings = StreamSettings(
                f"projects/{location.project}/subscriptions/{SUBSCRIPTION}",
                stream_url,
                str(home / "keys"),
                kid,
                location.archive_url,
                None,
                archive_window_seconds=5,
            )
            store = SpannerFirestoreStore(stream_url)
            started = time.perf_counter()
            job = start(settings)
            try:
                wait_for_receipts(store, unique)
            finally:
                stop(job)
            stream_seconds = time.perf_counter() - started

    stream_rate, batch_rate = args.events / stream_seconds, args.events / batch_seconds
    print(f"{'what':<52}{'seconds':>10}{'events/s':>12}")
    print(f"{'batch job into Spanner + Firestore + GCS (emulators)':<52}{batch_seconds:>10.2f}{batch_rate:>12.0f}")
    print(f"{'streaming job from Pub/Sub into the same (emulators)':<52}{stream_seconds:>10.2f}{stream_rate:>12.0f}")
    print(f"ratio (streaming / batch): {stream_rate / batch_rate:.2f}")
    record(
        "streaming",
        {
            "value": round(stream_rate, 1),
            "baseline": round(batch_rate, 1),
            "ratio": round(stream_rate / batch_rate, 3),
            "unit": "events/s",
            "command": f"python benchmarks/streaming_throughput.py --events {args.events} --customers {args.customers}",
        },
    )


if __name__ == "__main__":
    main()
