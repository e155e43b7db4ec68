"""Reconciliation throughput: receipts verified per second by the reconcile job against a
plain loop of RSA verifications over the same receipts, in the same run.

The receipts (20,000 over 500 customers by default) are chained and signed with the domain
code and written to a SQLite store and an archive folder, as the batch job leaves them.
The job reads both copies and the state store and runs every check; the plain loop only
checks each JWS signature (RSA-2048), the least any verifier must do. A third row, the
same checks as the job (`verify_chain` per customer) in a plain loop with no Beam, shows
where the rest of the time goes. The ratio is job rate / RSA loop rate. The three are run
in interleaved rounds (`--rounds`, default 3) and each rate is the median of its rounds, so
a burst of load from another process moves the baseline and the job alike, and one bad
round moves neither. Each row's CPU time (this process, every thread) is measured too: on a
host shared with other jobs the wall clock mostly measures waiting for a core, and the
ratio of CPU times ("cpu_ratio") says what the job costs against the RSA loop regardless.
Usage: python benchmarks/reconcile_throughput.py [--receipts N] [--customers N] [--rounds N]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from benchmarks.common import record
from pipelines.reconcile import ReconcileSettings, run
from receipts.events import parse_event
from receipts.jws import b64url_decode, sign_payloads, split_compact
from receipts.keys import Jwks
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.folder_archive import merge_into, window_name
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain

PROCESSED_AT = "2026-01-25T12:00:00.000000Z"


def make_ledger(folder: Path, count: int, customers: int, signer: LocalKeySigner) -> list[dict]:
    """Chain, sign and store `count` receipts; return them in the export format."""
    chains: dict[str, ChainState] = {}
    chained = []
    for n in range(count):
        customer = f"cust_{n % customers}"
        event = parse_event(
            json.dumps(
                {
                    "idempotent_key": f"evt-{n}",
                    "customer_id": customer,
                    "amount": f"{1 + n % 997}.{n % 100:02d}",
                    "currency": "USD",
                    "timestamp": f"2026-01-25T{n % 24:02d}:{n % 60:02d}:{n % 59:02d}Z",
                    "usage_description": "benchmark usage",
                }
            ).encode()
        )
        chain = chains.setdefault(customer, ChainState(customer))
        chained.append(chain.append(event, None, signer.kid, PROCESSED_AT))
    signatures = sign_payloads(signer, [receipt.canonical for receipt in chained])
    receipts = [SignedReceipt(receipt, signature) for receipt, signature in zip(chained, signatures, strict=True)]
    store = SqliteStore(f"sqlite:///{folder / 'receipts.db'}")
    by_customer = defaultdict(list)
    for receipt in receipts:
        by_customer[receipt.chained.customer_id].append(receipt)
    for chain in by_customer.values():
        store.write_receipts(chain)
    by_file = defaultdict(list)
    for receipt in receipts:
        by_file[window_name(receipt.chained.body["event_timestamp"])].append(receipt.export_line())
    for name, lines in by_file.items():
        merge_into(folder / "archive", name, lines)
    store.close()
    return [receipt.export() for receipt in receipts]


def rsa_loop(receipts: list[dict], jwks: Jwks) -> int:
    """Only the signature: split the JWS, decode, RSA-2048 PKCS#1 v1.5 verify."""
    verified = 0
    for receipt in receipts:
        parts = split_compact(receipt["signature"])
        key = jwks.keys[receipt["kid"]]
        key.verify(b64url_decode(parts.signature_b64), parts.signing_input, padding.PKCS1v15(), hashes.SHA256())
        verified += 1
    return verified


def checks_loop(receipts: list[dict], jwks: Jwks) -> int:
    """The job's chain and receipt checks (verify_chain per customer) with no Beam and no stores."""
    by_customer = defaultdict(list)
    for receipt in receipts:
        by_customer[receipt["customer_id"]].append(receipt)
    return sum(sum(result.ok for result in verify_chain(chain, jwks)) for chain in by_customer.values())


def timed(work, cpu: list[float]) -> float:
    """Wall seconds of `work()`; its CPU seconds (every thread of this process) go on `cpu`."""
    started, started_cpu = time.perf_counter(), time.process_time()
    assert work()
    cpu.append(time.process_time() - started_cpu)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each rate is their median")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ring = KeyRing(folder / "keys")
        signer = LocalKeySigner(ring.private_pem(ring.current_kid))
        receipts = make_ledger(folder, args.receipts, args.customers, signer)
        jwks = Jwks(ring.jwks())

        settings = ReconcileSettings(
            store=f"sqlite:///{folder / 'receipts.db'}",
            archive=str(folder / "archive"),
            keys=str(folder / "keys"),
            report=str(folder / "report.json"),
            as_of="2026-01-26T00:00:00Z",
        ).checked()
        rounds: dict[str, list[float]] = {"rsa": [], "checks": [], "job": []}
        cpu: dict[str, list[float]] = {"rsa": [], "checks": [], "job": []}
        for _ in range(args.rounds):  # interleaved: load on the machine hits every row alike
            rounds["rsa"].append(timed(lambda: rsa_loop(receipts, jwks) == len(receipts), cpu["rsa"]))
            rounds["checks"].append(timed(lambda: checks_loop(receipts, jwks) == len(receipts), cpu["checks"]))
            rounds["job"].append(timed(lambda: run(settings) is not None, cpu["job"]))
            report = json.loads((folder / "report.json").read_text())
            assert report["ok"] and report["receipts"] == len(receipts), report["discrepancies"][:5]
        rsa_seconds, checks_seconds, job_seconds = (
            statistics.median(rounds[name]) for name in ("rsa", "checks", "job")
        )

    count = len(receipts)
    job_rate, rsa_rate, checks_rate = count / job_seconds, count / rsa_seconds, count / checks_seconds
    ratio = statistics.median(rsa / job for rsa, job in zip(rounds["rsa"], rounds["job"], strict=True))
    cpu_ratio = statistics.median(rsa / job for rsa, job in zip(cpu["rsa"], cpu["job"], strict=True))
    cpu_checks = statistics.median(rsa / checks for rsa, checks in zip(cpu["rsa"], cpu["checks"], strict=True))
    print(f"{'what':<58}{'seconds':>10}{'receipts/s':>12}")
    print(f"{'plain loop: RSA-2048 signature verification only':<58}{rsa_seconds:>10.2f}{rsa_rate:>12.0f}")
    print(
        f"{'plain loop: verify_chain per customer (no Beam, no stores)':<58}{checks_seconds:>10.2f}{checks_rate:>12.0f}"
    )
    print(f"{'reconcile job (DirectRunner; ledger, archive, state)':<58}{job_seconds:>10.2f}{job_rate:>12.0f}")
    print(
        f"ratio (job / RSA loop, median of the rounds' ratios): {ratio:.3f}; "
        f"job / verify_chain loop: {job_rate / checks_rate:.2f}"
    )
    print(f"median of {args.rounds} interleaved rounds; job rounds: {', '.join(f'{t:.2f}' for t in rounds['job'])} s")
    print(
        f"CPU time (this process): RSA loop / job {cpu_ratio:.3f}, RSA loop / verify_chain loop {cpu_checks:.3f}; "
        f"job CPU rounds: {', '.join(f'{t:.2f}' for t in cpu['job'])} s"
    )
    record(
        "reconcile",
        {
            "value": round(job_rate, 1),
            "baseline": round(rsa_rate, 1),
            "ratio": round(ratio, 3),
            "unit": "receipts/s",
            "checks_loop": round(checks_rate, 1),
            "cpu_ratio": round(cpu_ratio, 3),
            "checks_loop_cpu_ratio": round(cpu_checks, 3),
            "rounds": args.rounds,
            "command": (
                f"python benchmarks/reconcile_throughput.py --receipts {args.receipts} --customers {args.customers}"
                f" --rounds {args.rounds}"
            ),
        },
    )


if __name__ == "__main__":
    main()
