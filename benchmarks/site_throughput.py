"""Verifier site throughput: receipt lookups and POST /v1/verify under gunicorn, driven by
wrk on loopback, against the same gunicorn setup serving a constant response (a Flask
route that returns fixed JSON) measured in the same run.

Needs `wrk` (Debian package wrk). Rate limits are off for the run (they would answer 429);
access logs are off for both servers. Both servers run at once and the measurements
interleave over `--rounds` (the order reversed every other round); the ratio is the median
of the rounds' own ratios, each from measurements taken next to each other, and each kind's
rate and latency are its median round (a shared host's bursts of load otherwise land on
one side of the ratio).
Usage: python benchmarks/site_throughput.py [--seconds 5] [--connections 16] [--rounds 5]
"""

import argparse
import json
import os
import re
import shutil
import statistics
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

GOAL = 0.6
P99_GOAL_MS = 25

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
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }


def server_cpu_seconds(server: subprocess.Popen) -> float | None:
    """User + system CPU seconds of a server's gunicorn master and its workers so far, from
    /proc (None where there is none): divided by a wrk run's requests, the server's own CPU
    per request, which moves far less with the host's load than its rate."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        ticks = 0
        for pid in [str(server.pid), *children]:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def in_process_cpu_ms(config: dict, receipt_id: str, key: str, rounds: int, requests: int = 2000) -> dict[str, float]:
    """CPU ms per request inside this process (the WSGI app alone: no server, no wrk, no
    sockets), lookup and constant route in turn over `rounds`, medians: CPU time moves far
    less with the host's load than wrk's rates, so it shows what a change to the site costs."""
    from flask import Flask, jsonify
    from werkzeug.test import EnvironBuilder

    from verifier_site.app import create_app

    constant = Flask("constant")
    constant.add_url_rule("/constant", "constant", lambda: jsonify({"status": "ok", "receipt_id": "r_" + "a" * 26}))
    apps = {
        "lookup": (
            create_app(config),
            EnvironBuilder(path=f"/v1/receipts/{receipt_id}", headers={"Authorization": f"Bearer {key}"}).get_environ(),
        ),
        "constant": (constant, EnvironBuilder(path="/constant").get_environ()),
    }
    seconds: dict[str, list[float]] = {what: [] for what in apps}
    for _ in range(rounds):
        for what, (app, environ) in apps.items():
            started = time.process_time()
            for _ in range(requests):
                body = app(dict(environ), lambda status, headers, exc_info=None: None)
                b"".join(body)
                body.close()
            seconds[what].append((time.process_time() - started) / requests * 1000)
    return {what: round(statistics.median(values), 3) for what, values in seconds.items()}


def median_run(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The median round by rate, and the median p50 and p99 of all rounds."""
    middle = sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2]
    return {
        **middle,
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians kept")
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
        # verify, then verify, lookup, constant, ...), so a burst of load from elsewhere on a
        # shared host cannot land on one side of the ratio only.
        site, site_port = start_server("site", store_url, str(home / "keys"))
        constant, constant_port = start_server("constant", store_url, str(home / "keys"))
        base = f"http://127.0.0.1:{site_port}"
        targets = {
            "constant": (f"http://127.0.0.1:{constant_port}/constant", None),
            "lookup": (f"{base}/v1/receipts/{receipt['receipt_id']}", lookup),
            "verify": (f"{base}/v1/verify", verify),
        }
        servers = {"constant": constant, "lookup": site, "verify": site}
        runs: dict[str, list[dict]] = {what: [] for what in targets}
        try:
            for number in range(args.rounds):
                for what in list(targets)[:: -1 if number % 2 else 1]:
                    url, script = targets[what]
                    before = server_cpu_seconds(servers[what])
                    measured = wrk(url, args.seconds, args.connections, script)
                    after = server_cpu_seconds(servers[what])
                    if before is not None and after is not None and measured["requests"]:
                        measured["server_cpu_ms"] = (after - before) * 1000 / measured["requests"]
                    runs[what].append(measured)
        finally:
            for server in (site, constant):
                server.terminate()
                server.wait()
        results = {what: median_run(rounds) for what, rounds in runs.items()}
        config = {"STORE_URL": store_url, "KEYS_FOLDER": str(home / "keys"), "SECRET_KEY": b"bench"}
        cpu = in_process_cpu_ms(config | {"RATE_LIMIT_IP": None, "RATE_LIMIT_KEY": None}, receipt["receipt_id"], key, 3)
        ratios = [
            lookup["rps"] / constant["rps"] for lookup, constant in zip(runs["lookup"], runs["constant"], strict=True)
        ]

    print(f"{'what':<46}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for label, what in (
        ("GET /v1/receipts/<id> (API key, SQLite)", "lookup"),
        ("POST /v1/verify (one receipt)", "verify"),
        ("constant JSON, same gunicorn setup", "constant"),
    ):
        r = results[what]
        print(f"{label:<46}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>9}")
    print(f"in-process CPU per request: lookup {cpu['lookup']:.3f} ms, constant {cpu['constant']:.3f} ms")
    server_cpu = {
        what: round(statistics.median(r["server_cpu_ms"] for r in rounds), 3)
        for what, rounds in runs.items()
        if all("server_cpu_ms" in r for r in rounds)
    }
    if server_cpu:
        print(
            "server CPU per request under wrk (gunicorn and its workers, median of the rounds): "
            + ", ".join(f"{what} {ms:.3f} ms" for what, ms in server_cpu.items())
        )
    ratio = statistics.median(ratios)
    print(f"ratio (lookup / constant, median of the rounds' ratios): {ratio:.2f} (goal {GOAL}, p99 < {P99_GOAL_MS} ms)")
    record(
        "site",
        {
            "value": round(results["lookup"]["rps"], 1),
            "baseline": round(results["constant"]["rps"], 1),
            "ratio": round(ratio, 3),
            "unit": "requests/s",
            "p50_ms": results["lookup"]["p50_ms"],
            "p99_ms": results["lookup"]["p99_ms"],
            "verify": {key: results["verify"][key] for key in ("rps", "p50_ms", "p99_ms", "errors")},
            "goal": GOAL,
            "p99_goal_ms": P99_GOAL_MS,
            "in_process_cpu_ms": cpu,
            "server_cpu_ms": server_cpu,
            "rounds": {what: [round(r["rps"], 1) for r in rounds] for what, rounds in runs.items()}
            | {"ratio": [round(r, 3) for r in ratios]},
            "command": (
                f"python benchmarks/site_throughput.py --seconds {args.seconds} --connections {args.connections} "
                f"--rounds {args.rounds}"
            ),
        },
    )


if __name__ == "__main__":
    main()
