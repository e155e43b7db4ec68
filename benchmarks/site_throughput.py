"""Verifier site throughput: receipt lookups and POST /v1/verify under gunicorn, driven by
wrk on loopback, against the same gunicorn setup serving a constant response (a Flask
route that returns fixed JSON) measured in the same run.

Needs `wrk` (Debian package wrk). Rate limits are off for the run (they would answer 429);
access logs are off for both servers. Both servers run at once and the measurements
interleave over `--rounds`; each kind keeps its best round (a shared host's bursts of
load otherwise land on one side of the ratio).
Usage: python benchmarks/site_throughput.py [--seconds 5] [--connections 16] [--rounds 3]
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import record
from benchmarks.pipeline_throughput import generate
from pipelines.batch import Settings, run
from receipts.api_keys import issue_api_key
from receipts.stores.keyring import KeyRing
from receipts.stores.sqlite import SqliteStore
from receipts_cli.emulators import free_port

SERVER = textwrap.dedent(
    """
    import json, sys
    from flask import Flask, jsonify
    from verifier_site.app import create_app
    from verifier_site.server import SiteServer, gunicorn_options

    kind, port, store, keys, extra = sys.argv[1:6]
    config = {"STORE_URL": store, "KEYS_FOLDER": keys, "SECRET_KEY": b"bench", "RATE_LIMIT_IP": None,
              "RATE_LIMIT_KEY": None, **json.loads(extra)}

    def constant():
        app = Flask("constant")
        app.add_url_rule("/constant", "constant", lambda: jsonify({"status": "ok", "receipt_id": "r_" + "a" * 26}))
        return app

    factory = (lambda: create_app(config)) if kind == "site" else constant
    # As `receipts serve` runs it (the site's event-loop worker, its threads), two workers.
    options = {**gunicorn_options("127.0.0.1", int(port), workers=2), "accesslog": None, "errorlog": "-",
               "loglevel": "warning"}
    SiteServer(factory, options).run()
    """
)


def start_server(kind: str, store: str, keys: str, config: dict | None = None) -> tuple[subprocess.Popen, int]:
    """The site (kind "site", with `config` on top of the benchmark's) or the constant app,
    under gunicorn as `receipts serve` runs it, on a free port once it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, kind, str(port), store, keys, json.dumps(config or {})])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/{'healthz' if kind == 'site' else 'constant'}", timeout=1)
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the {kind} server did not start")


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rate,
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each kind keeps its best")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("site benchmark: wrk is missing (apt-get install wrk)")

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "events.jsonl").write_bytes(b"\n".join(generate(2_000, 50)) + b"\n")
        kid = KeyRing(home / "keys").current_kid
        store_url = f"sqlite:///{home / 'r.db'}"
        run(Settings(str(home / "events.jsonl"), store_url, str(home / "keys"), kid, str(home / "archive")))
        store = SqliteStore(store_url)
        receipt = next(store.receipts("cust_7"))
        key, _ = issue_api_key(store, "cust_7")
        lookup = home / "lookup.lua"
        lookup.write_text(f'wrk.headers["Authorization"] = "Bearer {key}"\n')
        verify = home / "verify.lua"
        verify.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(json.dumps(receipt))}\n"
        )

        # Both servers run side by side and the measurements interleave (constant, lookup,
        # verify, constant, ...); each kind keeps its best round, so a burst of load from
        # elsewhere on a shared host cannot land on one side of the ratio only.
        site, site_port = start_server("site", store_url, str(home / "keys"))
        constant, constant_port = start_server("constant", store_url, str(home / "keys"))
        runs: dict[str, list[dict]] = {"constant": [], "lookup": [], "verify": []}
        try:
            base = f"http://127.0.0.1:{site_port}"
            for _ in range(args.rounds):
                runs["constant"].append(
                    wrk(f"http://127.0.0.1:{constant_port}/constant", args.seconds, args.connections)
                )
                runs["lookup"].append(
                    wrk(f"{base}/v1/receipts/{receipt['receipt_id']}", args.seconds, args.connections, lookup)
                )
                runs["verify"].append(wrk(f"{base}/v1/verify", args.seconds, args.connections, verify))
        finally:
            for server in (site, constant):
                server.terminate()
                server.wait()
        results = {what: max(rounds, key=lambda r: r["rps"]) for what, rounds in runs.items()}

    print(f"{'what':<46}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for label, what in (
        ("GET /v1/receipts/<id> (API key, SQLite)", "lookup"),
        ("POST /v1/verify (one receipt)", "verify"),
        ("constant JSON, same gunicorn setup", "constant"),
    ):
        r = results[what]
        print(f"{label:<46}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>9}")
    ratio = results["lookup"]["rps"] / results["constant"]["rps"]
    print(f"ratio (lookup / constant): {ratio:.2f}")
    record(
        "site",
        {
            "value": round(results["lookup"]["rps"], 1),
            "baseline": round(results["constant"]["rps"], 1),
            "ratio": round(ratio, 3),
            "unit": "requests/s",
            "p50_ms": results["lookup"]["p50_ms"],
            "p99_ms": results["lookup"]["p99_ms"],
            "verify": results["verify"],
            "rounds": {what: [round(r["rps"], 1) for r in rounds] for what, rounds in runs.items()},
            "command": (
                f"python benchmarks/site_throughput.py --seconds {args.seconds} --connections {args.connections} "
                f"--rounds {args.rounds}"
            ),
        },
    )


if __name__ == "__main__":
    main()
