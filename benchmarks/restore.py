"""Restore throughput: receipts restored per second by the restore job (pipelines/restore.py)
against a plain Python loop doing the same verification and writes, in the same run, and the
seed's recovery time objective (30 minutes) on paper.

The receipts (20,000 over 500 customers by default) are chained, signed and archived as the
batch job leaves them (benchmarks/reconcile_throughput.make_ledger); then the SQLite file is
deleted and rebuilt from the folder archive, once by the job and once by the loop (read
every archive line, `restorable_chain` per customer, `SqliteStore.restore_chain`). The ratio
is job rate / loop rate. The RTO row: one day at 10,000 events/s (864 M receipts) restored
by N Dataflow workers of 4 vCPUs, each vCPU at the job's measured rate (one core here).
Usage: python benchmarks/restore.py [--receipts N] [--customers N]
"""

import argparse
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import record
from benchmarks.reconcile_throughput import make_ledger
from pipelines.restore import Settings, run
from receipts.keys import Jwks
from receipts.reconciliation import ArchivedCopy
from receipts.restoration import restorable_chain
from receipts.stores.archives import open_archive
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.stores.sqlite import SqliteStore

DAY_RECEIPTS = 10_000 * 86_400  # one day at the seed's 10,000 events/s
RTO_SECONDS = 30 * 60
VCPUS_PER_WORKER = 4  # n1-standard-4: Dataflow's Python SDK runs one process per vCPU
WORKERS = (10, 50, 100, 200)


def plain_loop(archive: str, store_url: str, jwks: Jwks) -> int:
    """The job's work with no Beam: read the archive, verify per customer, restore."""
    reader = open_archive(archive)
    per_customer: dict[str, list[ArchivedCopy]] = defaultdict(list)
    for name in reader.objects():
        for number, line in enumerate(reader.read(name).split(b"\n"), start=1):
            if line:
                record_ = json.loads(line)
                per_customer[record_["customer_id"]].append(ArchivedCopy(record_, f"{name} line {number}"))
    store = SqliteStore(store_url)
    restored = 0
    for customer_id, copies in per_customer.items():
        chain = restorable_chain(customer_id, copies, jwks).receipts
        restored += store.restore_chain(customer_id, chain).ledger_written
    store.close()
    return restored


def fresh(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ring = KeyRing(folder / "keys")
        signer = LocalKeySigner(ring.private_pem(ring.current_kid))
        receipts = make_ledger(folder, args.receipts, args.customers, signer)
        jwks, archive, database = Jwks(ring.jwks()), str(folder / "archive"), folder / "receipts.db"

        started = time.perf_counter()
        assert plain_loop(archive, fresh(database), jwks) == len(receipts)
        loop_seconds = time.perf_counter() - started

        settings = Settings(fresh(database), archive, keys=str(folder / "keys"), report=str(folder / "report.json"))
        started = time.perf_counter()
        run(settings.checked())
        job_seconds = time.perf_counter() - started
        report = json.loads((folder / "report.json").read_text())
        assert report["ok"] and report["written"]["ledger_written"] == len(receipts), report

    count = len(receipts)
    job_rate, loop_rate = count / job_seconds, count / loop_seconds
    print(f"{'what':<62}{'seconds':>10}{'receipts/s':>12}")
    print(f"{'plain loop: read, restorable_chain, restore_chain (no Beam)':<62}{loop_seconds:>10.2f}{loop_rate:>12.0f}")
    print(f"{'restore job (DirectRunner, SQLite, folder archive)':<62}{job_seconds:>10.2f}{job_rate:>12.0f}")
    print(f"ratio (job / plain loop): {job_rate / loop_rate:.3f}")
    print(f"RTO on paper: one day at 10,000 events/s = {DAY_RECEIPTS:,} receipts, {job_rate:.0f} receipts/s per vCPU")
    rto = {}
    for workers in WORKERS:
        minutes = DAY_RECEIPTS / (job_rate * workers * VCPUS_PER_WORKER) / 60
        rto[str(workers)] = round(minutes, 1)
        print(f"  {workers:>4} workers x {VCPUS_PER_WORKER} vCPUs: {minutes:8.1f} min")
    needed = math.ceil(DAY_RECEIPTS / (job_rate * VCPUS_PER_WORKER * RTO_SECONDS))
    print(f"  workers for the 30-minute RTO: {needed} (compute only; the store's write capacity must match)")
    record(
        "restore",
        {
            "value": round(job_rate, 1),
            "baseline": round(loop_rate, 1),
            "ratio": round(job_rate / loop_rate, 3),
            "unit": "receipts/s",
            "rto_minutes_by_workers": rto,
            "workers_for_30_minute_rto": needed,
            "command": f"python benchmarks/restore.py --receipts {args.receipts} --customers {args.customers}",
        },
    )


if __name__ == "__main__":
    main()
