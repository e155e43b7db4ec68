"""Load test of POST /v1/events: the site as `receipts serve` runs it (gunicorn with the
site's event-loop worker, its default threads and bounds) on loopback, publishing to the
Pub/Sub emulator, driven by wrk for a bounded time per scenario.

Needs the Cloud SDK's Pub/Sub emulator (started here, on a free port, and stopped at the
end) and wrk (Debian: apt-get install wrk). Scenarios, each for --duration seconds:
  baseline  the same server answering a constant 202 at a trivial route (same hooks)
  mix       the endpoint, 16 customers round robin: throughput and latency
  others    16 customers on 4 connections, alone: their latency without a flood
  flood     one customer on --flood-connections (64) while the same 16 customers share the
            same 4 connections, at once: the flooder gets 429 at its bound on requests in
            progress, the others' latency is compared with theirs alone
Writes the `ingest` entry of benchmarks/results.json (mix requests/s vs the baseline; the
others' p50/p99 during the flood vs alone).
Usage: python benchmarks/ingest_load.py [--duration 10] [--connections 32] [--flood-connections 64] [--workers 2]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emulators_in, record
from receipts.api_keys import issue_api_key
from receipts.stores.keyring import KeyRing
from receipts.stores.sqlite import SqliteStore
from receipts_cli.emulators import DEFAULT_PROJECT, free_port
from receipts_cli.home import Home
from receipts_cli.site import ingest_config
from verifier_site.server import THREADS, requests_per_customer

TOPIC = f"projects/{DEFAULT_PROJECT}/topics/bench-events"

WRK_SCRIPT = """
local customers, keys, path, scenario = %(customers)s, %(keys)s, "%(path)s", "%(scenario)s"
local threads, next_id = {}, 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  statuses, counter = {}, 0
end
function request()
  counter = counter + 1
  local i = counter %% #customers + 1
  local body = string.format('{"idempotent_key":"%%s-%%d-%%d","customer_id":"%%s","amount":"1.00",' ..
    '"currency":"USD","timestamp":"2026-01-25T10:30:45Z","usage_description":"load test"}',
    scenario, id, counter, customers[i])
  return wrk.format("POST", path, {["Authorization"] = "Bearer " .. keys[i],
    ["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      parts[status] = (parts[status] or 0) + count
    end
  end
  local listed = {}
  for status, count in pairs(parts) do table.insert(listed, string.format('"%%d":%%d', status, count)) end
  io.write(string.format('\\nRESULT {"requests":%%d,"seconds":%%f,"p50_ms":%%f,"p99_ms":%%f,' ..
    '"socket_errors":%%d,"statuses":{%%s}}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(listed, ",")))
end
"""


def lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(value) for value in values) + "}"


def group_cpu_seconds(group: int) -> float:
    """CPU seconds (user + system) used so far by every live process of a process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == group:  # fields[0] is the state; [2] the process group
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def serve(config_path: str, port: int, workers: int) -> None:
    """The server process: the site plus a constant route, run as `receipts serve` runs it."""
    from flask import Flask

    from verifier_site.app import create_app
    from verifier_site.server import SiteServer, gunicorn_options

    config = json.loads(Path(config_path).read_text())

    def factory() -> Flask:
        app = create_app(config)
        app.add_url_rule("/bench/constant", "constant", lambda: ({"status": "constant"}, 202), methods=["POST"])
        return app

    options = {**gunicorn_options("127.0.0.1", port, workers), "accesslog": None, "loglevel": "warning"}
    SiteServer(factory, options).run()


def create_topic() -> None:
    from google.cloud import pubsub_v1

    pubsub_v1.PublisherClient().create_topic(name=TOPIC)
    subscription = f"projects/{DEFAULT_PROJECT}/subscriptions/bench-events-sub"
    pubsub_v1.SubscriberClient().create_subscription(request={"name": subscription, "topic": TOPIC})


def wait_healthy(base: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer /healthz")


def wrk(base: str, folder: Path, name: str, path: str, keys: dict[str, str], connections: int, seconds: int):
    """Start one wrk run; the caller reads its result with `finish`."""
    script = folder / f"{name}.lua"
    customers = list(keys)
    script.write_text(
        WRK_SCRIPT
        % {
            "customers": lua_list(customers),
            "keys": lua_list([keys[c] for c in customers]),
            "path": path,
            "scenario": name,
        }
    )
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", str(script)]
    return subprocess.Popen([*command, base], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(run: subprocess.Popen, groups: dict[str, int] | None = None, before: dict[str, float] | None = None) -> dict:
    """wrk's result; with `groups` and their CPU seconds `before`, the CPU each used per request."""
    output, _ = run.communicate(timeout=120)
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"wrk did not report:\n{output}")
    result = json.loads(lines[-1].removeprefix("RESULT "))
    result["statuses"] = {int(status): count for status, count in result["statuses"].items()}
    result["rate"] = result["requests"] / result["seconds"]
    total = max(1, result["requests"])
    result["share_429"] = result["statuses"].get(429, 0) / total
    for name, group in (groups or {}).items():
        result[f"{name}_cpu_ms"] = 1000 * (group_cpu_seconds(group) - before[name]) / total
    return result


def cpu_now(groups: dict[str, int]) -> dict[str, float]:
    return {name: group_cpu_seconds(group) for name, group in groups.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="Seconds per scenario.")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections per scenario.")
    parser.add_argument("--flood-connections", type=int, default=64, help="The flooding customer's connections.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.workers)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on PATH: install it (Debian: apt-get install wrk)")

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        print("Starting the Pub/Sub emulator…", flush=True)
        server = None
        with emulators_in(home / "emulators", names=("pubsub",)) as emulators:
            try:
                create_topic()
                store = SqliteStore(f"sqlite:///{home / 'receipts.db'}")
                customers = [f"cust_{n:02d}" for n in range(16)]
                keys = {customer: issue_api_key(store, customer)[0] for customer in [*customers, "cust_flood"]}
                store.close()
                KeyRing(home / "keys").ensure_current()
                # The defaults of `receipts serve`: bounds, threads, worker (only the read
                # API's per-IP bucket is off: every wrk connection comes from 127.0.0.1).
                config = {
                    "STORE_URL": store.url,
                    "KEYS_FOLDER": str(home / "keys"),
                    "SECRET_KEY": "bench",
                    "RATE_LIMIT_IP": None,
                    **ingest_config(Home(home), TOPIC, max_requests_per_customer=requests_per_customer(THREADS)),
                }
                (home / "site.json").write_text(json.dumps(config))
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                command = [sys.executable, __file__, "--serve", str(home / "site.json"), "--port", str(port)]
                server = subprocess.Popen([*command, "--workers", str(args.workers)], start_new_session=True)
                wait_healthy(base, server)
                groups = {"server": server.pid, "pubsub": emulators.running()["pubsub"].pid}
                normal = {customer: keys[customer] for customer in customers}
                duration, connections = args.duration, args.connections
                warm = finish(wrk(base, home, "warmup", "/v1/events", normal, 4, 2))
                print(f"warm-up: {warm['requests']} requests", flush=True)
                print(f"Each scenario runs {duration} s with {connections} connections…", flush=True)
                before = cpu_now(groups)
                baseline = finish(
                    wrk(base, home, "baseline", "/bench/constant", normal, connections, duration), groups, before
                )
                before = cpu_now(groups)
                mix = finish(wrk(base, home, "mix", "/v1/events", normal, connections, duration), groups, before)
                alone = finish(wrk(base, home, "alone", "/v1/events", normal, 4, duration))
                flooder = {"cust_flood": keys["cust_flood"]}
                flood_run = wrk(base, home, "flood", "/v1/events", flooder, args.flood_connections, duration)
                others_run = wrk(base, home, "others", "/v1/events", normal, 4, duration)
                flood, others = finish(flood_run), finish(others_run)
            finally:
                if server is not None:
                    server.terminate()
                    server.wait(30)

    rows = [
        ("constant route (baseline)", baseline),
        (f"POST /v1/events, 16 customers, {connections} conn.", mix),
        ("16 customers on 4 connections, alone", alone),
        (f"flood: one customer, {args.flood_connections} connections", flood),
        ("flood: the 16 others on 4, meanwhile", others),
    ]
    print(f"\n{'scenario':<40}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'202':>8}{'429':>8}{'429 %':>8}{'other':>7}")
    for label, result in rows:
        statuses = result["statuses"]
        other = result["requests"] - statuses.get(202, 0) - statuses.get(429, 0)
        print(
            f"{label:<40}{result['rate']:>9.0f}{result['p50_ms']:>9.1f}{result['p99_ms']:>9.1f}"
            f"{statuses.get(202, 0):>8}{statuses.get(429, 0):>8}{100 * result['share_429']:>7.1f}%{other:>7}"
        )
    ratio = mix["rate"] / baseline["rate"]
    print(f"ratio (POST /v1/events / constant route): {ratio:.2f}")
    print(
        f"the others during the flood vs alone: p50 {others['p50_ms']:.1f} vs {alone['p50_ms']:.1f} ms "
        f"(ratio {others['p50_ms'] / alone['p50_ms']:.2f}), p99 {others['p99_ms']:.1f} vs {alone['p99_ms']:.1f} ms "
        f"(ratio {others['p99_ms'] / alone['p99_ms']:.2f}); their 429s {100 * others['share_429']:.1f}%, "
        f"the flooder's {100 * flood['share_429']:.1f}%"
    )
    for label, result in rows[:2]:
        print(
            f"CPU per request, {label}: server {result['server_cpu_ms']:.2f} ms, "
            f"Pub/Sub emulator {result['pubsub_cpu_ms']:.2f} ms"
        )
    record(
        "ingest",
        {
            "value": round(mix["rate"], 1),
            "baseline": round(baseline["rate"], 1),
            "ratio": round(ratio, 3),
            "unit": "requests/s",
            "command": f"python benchmarks/ingest_load.py --duration {duration} --connections {connections} "
            f"--flood-connections {args.flood_connections} --workers {args.workers}",
            "p50_ms": round(mix["p50_ms"], 1),
            "p99_ms": round(mix["p99_ms"], 1),
            "server_cpu_ms_per_request": round(mix["server_cpu_ms"], 2),
            "emulator_cpu_ms_per_request": round(mix["pubsub_cpu_ms"], 2),
            "mix_429_share": round(mix["share_429"], 4),
            "flood_429_share": round(flood["share_429"], 4),
            "others_during_flood_429_share": round(others["share_429"], 4),
            "others_alone_p50_ms": round(alone["p50_ms"], 1),
            "others_alone_p99_ms": round(alone["p99_ms"], 1),
            "others_during_flood_p50_ms": round(others["p50_ms"], 1),
            "others_during_flood_p99_ms": round(others["p99_ms"], 1),
            "others_p99_ratio_flood_vs_alone": round(others["p99_ms"] / alone["p99_ms"], 2),
        },
    )


if __name__ == "__main__":
    main()
