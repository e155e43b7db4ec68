"""Inclusion proofs served per second: GET /v1/receipts/<id>/proof (the owner's API key, a
c2sp.org/tlog-proof file) over a home whose log holds 20,000 receipts, driven by wrk on
loopback, against the same gunicorn setup serving a constant response (as
benchmarks/site_throughput.py measures it) and the site's own /healthz, in the same run.

Each proof is made from the store's stored hashes and checked against the signed
checkpoint's root before it leaves (verifier_site/log_proofs.py); the wrk script walks
through every receipt of one customer, so the proofs are of leaves all over the tree.
Before measuring, a sample of the served proofs is verified (receipts.tlog) against the
served checkpoint with the log's key. Needs `wrk` (Debian package wrk); rate limits are
off, access logs too. Measurements interleave over `--rounds`; each kind keeps its best.
Usage: python benchmarks/site_proofs.py [--receipts 20000] [--seconds 5] [--connections 16] [--rounds 3]
"""

import argparse
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import record
from benchmarks.pipeline_throughput import generate
from benchmarks.site_throughput import start_server, wrk
from pipelines.batch import Settings, run
from receipts.api_keys import issue_api_key
from receipts.stores.keyring import KeyRing
from receipts.stores.log_signers import create_key_file, log_signer_from_url, vkey_of
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.note_keys import NoteVerifier
from receipts.tlog.tlog_proof import parse_tlog_proof, verify_tlog_proof

ORIGIN = "receipts.bench/proofs"
CUSTOMERS = 50
CUSTOMER = "cust_7"


def build_home(home: Path, receipts: int) -> tuple[str, str]:
    """A home whose batch run stored and logged `receipts` receipts: (store URL, log vkey)."""
    create_key_file(home / "log.key", ORIGIN)
    signer = (home / "log.key").as_uri()
    events = int(receipts / 0.9) + 1  # generate() repeats 10% of the events: producer retries
    (home / "events.jsonl").write_bytes(b"\n".join(generate(events, CUSTOMERS)) + b"\n")
    kid = KeyRing(home / "keys").current_kid
    store_url = f"sqlite:///{home / 'r.db'}"
    settings = Settings(
        str(home / "events.jsonl"), store_url, str(home / "keys"), kid, str(home / "archive"), log_origin=ORIGIN,
        log_signer=signer,
    )  # fmt: skip
    run(settings)
    return store_url, vkey_of(log_signer_from_url(signer, ORIGIN))


def check_served(base: str, key: str, receipts: list[dict], vkey: str) -> int:
    """Verify a sample of served proofs against the served checkpoint; the tree's size."""
    verifier = NoteVerifier.from_vkey(vkey)
    with urllib.request.urlopen(f"{base}/log/checkpoint") as answer:
        checkpoint, _ = open_checkpoint(answer.read(), [verifier], ORIGIN)
    for receipt in receipts[:: max(1, len(receipts) // 20)]:
        request = urllib.request.Request(f"{base}/v1/receipts/{receipt['receipt_id']}/proof")
        request.add_header("Authorization", f"Bearer {key}")
        with urllib.request.urlopen(request) as answer:
            proof = parse_tlog_proof(answer.read())
        witnessed = verify_tlog_proof(proof, bytes.fromhex(receipt["receipt_hash"]), ORIGIN, [verifier])
        assert witnessed.checkpoint == checkpoint, "the proof is against another checkpoint than the served one"
    return checkpoint.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=20_000, help="receipts in the log")
    parser.add_argument("--seconds", type=int, default=5, help="per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each kind keeps its best")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("proof benchmark skipped: wrk is missing (apt-get install wrk)")

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        store_url, vkey = build_home(home, args.receipts)
        store = SqliteStore(store_url)
        owned = list(store.receipts(CUSTOMER))
        key, _ = issue_api_key(store, CUSTOMER)
        proofs = home / "proofs.lua"
        ids = ", ".join(f'"{receipt["receipt_id"]}"' for receipt in owned)
        proofs.write_text(
            f'wrk.headers["Authorization"] = "Bearer {key}"\n'
            f"local ids = {{{ids}}}\nlocal n = 0\n"
            'request = function()\n  n = n + 1\n  return wrk.format("GET", "/v1/receipts/" .. ids[n % #ids + 1] .. '
            '"/proof")\nend\n'
        )
        config = {"LOG_VKEY": vkey, "LOG_URL": str(home / "archive" / "log")}
        site, site_port = start_server("site", store_url, str(home / "keys"), config)
        constant, constant_port = start_server("constant", store_url, str(home / "keys"))
        runs: dict[str, list[dict]] = {"constant": [], "healthz": [], "proof": []}
        try:
            base = f"http://127.0.0.1:{site_port}"
            size = check_served(base, key, owned, vkey)
            for _ in range(args.rounds):
                runs["constant"].append(
                    wrk(f"http://127.0.0.1:{constant_port}/constant", args.seconds, args.connections)
                )
                runs["healthz"].append(wrk(f"{base}/healthz", args.seconds, args.connections))
                runs["proof"].append(wrk(f"{base}/v1/receipts/{owned[0]['receipt_id']}/proof", args.seconds,
                                         args.connections, proofs))  # fmt: skip
        finally:
            for server in (site, constant):
                server.terminate()
                server.wait()
        results = {what: max(rounds, key=lambda r: r["rps"]) for what, rounds in runs.items()}

    print(f"log of {size:,} receipts; proofs of {len(owned)} leaves of {CUSTOMER}, 20 of them verified as served")
    print(f"{'what':<50}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for label, what in (
        ("GET /v1/receipts/<id>/proof (API key, SQLite)", "proof"),
        ("GET /healthz (the site's constant route)", "healthz"),
        ("constant JSON, same gunicorn setup", "constant"),
    ):
        r = results[what]
        print(f"{label:<50}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>9}")
    ratio = results["proof"]["rps"] / results["constant"]["rps"]
    to_healthz = results["proof"]["rps"] / results["healthz"]["rps"]
    print(f"ratio (proof / constant): {ratio:.2f}; proof / healthz: {to_healthz:.2f}")
    record(
        "site_proofs",
        {
            "value": round(results["proof"]["rps"], 1),
            "baseline": round(results["constant"]["rps"], 1),
            "ratio": round(ratio, 3),
            "unit": "requests/s",
            "tree_size": size,
            "p50_ms": results["proof"]["p50_ms"],
            "p99_ms": results["proof"]["p99_ms"],
            "errors": results["proof"]["errors"],
            "healthz": results["healthz"],
            "ratio_to_healthz": round(to_healthz, 3),
            "rounds": {what: [round(r["rps"], 1) for r in rounds] for what, rounds in runs.items()},
            "command": (
                f"python benchmarks/site_proofs.py --receipts {args.receipts} --seconds {args.seconds} "
                f"--connections {args.connections} --rounds {args.rounds}"
            ),
        },
    )


if __name__ == "__main__":
    main()
