"""Pipeline throughput: the batch Beam job vs a plain loop doing the same work, on 1 and on N cores.

Both run on the same generated events: 20,000 events, 500 customers, 10% producer retries.
The plain loop validates, deduplicates, chains, canonicalizes, hashes and signs, with no
Beam and no store; a ratio is job rate / loop rate. Like with like: the job in 1 worker
(the FnApiRunner in this process) against the loop in this process, and the job in N
worker processes (`receipts run`'s default, N = the cores this process may use) against
the loop in N processes, each charging one shard of the customers (a customer's chain is
one sequence, so customers are what spreads; the shards are cut before the clock starts,
which favours the loop). The BundleBasedDirectRunner's job (`receipts run` before
`--workers`) is timed too, against the loop on one core. The N-worker job also runs with
the transparency log on (every stored receipt a leaf, its tiles and a signed checkpoint
once the writes are done; goal 0.5). The loop also times each receipt from raw bytes to
signature (the seed's "receipt generation p99 under 50 ms"). The loops and the jobs run in
turn over `--rounds`; a rate is the median over the rounds and a ratio the median of the rounds' own
ratios (a round's job against the same round's loop), so the machine's other load weighs on both
sides of a ratio (goal without the log: 0.8, issue 19); on a busy host every number is a
lower bound. Signatures stubbed: in-process runs only (the stub cannot reach worker
processes).
Usage: python benchmarks/pipeline_throughput.py [--events N] [--customers N] [--rounds N] [--workers N]
"""

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile, record
from pipelines.batch import Settings, run
from pipelines.workers import default_workers
from receipts.events import Event, parse_event
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.stores.keyring import KeyRing
from receipts.stores.log_signers import create_key_file
from receipts.stores.signers import LocalKeySigner

LOG_ORIGIN = "receipts.bench/pipeline"
GOAL = 0.8  # issue 19
LOG_GOAL = 0.5


def generate(count: int, customers: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    unique = int(count * 0.9)
    lines = [
        json.dumps(
            {
                "idempotent_key": f"evt-{n}",
                "customer_id": f"cust_{n % customers}",
                "amount": "{}.{:02d}".format(*divmod(rng.randrange(1, 100000), 100)),  # cents, no float
                "currency": "USD",
                "timestamp": f"2026-01-25T{n % 24:02d}:{n % 60:02d}:{n % 59:02d}Z",
                "usage_description": "benchmark usage",
            }
        ).encode()
        for n in range(unique)
    ]
    lines += rng.choices(lines, k=count - unique)
    rng.shuffle(lines)
    return lines


def plain_loop(lines: list[bytes], signer: LocalKeySigner, generation_ms: list[float] | None = None) -> int:
    """Charge every line; `generation_ms` gets each receipt's time from raw bytes to signature."""
    seen: dict[tuple[str, str], str] = {}
    chains: dict[str, ChainState] = {}
    signed = 0
    for raw in lines:
        started = time.perf_counter()
        event = parse_event(raw)
        if not isinstance(event, Event):
            continue
        key = (event.customer_id, event.idempotent_key)
        if key in seen:
            continue
        seen[key] = event.event_sha256
        chain = chains.setdefault(event.customer_id, ChainState(event.customer_id))
        receipt = chain.append(event, None, signer.kid, "2026-01-25T12:00:00.000000Z")
        sign_payloads(signer, [receipt.canonical])
        signed += 1
        if generation_ms is not None:
            generation_ms.append((time.perf_counter() - started) * 1000)
    return signed


def stub_signatures() -> None:
    """Make every RS256 signature a constant: what is left is the cost of everything else.
    The DirectRunner runs in this process, so the job's signer is stubbed too."""
    LocalKeySigner.sign = lambda self, inputs: [b"\x00" * 256 for _ in inputs]


def loop_seconds(lines: list[bytes], home: Path, generation_ms: list[float] | None = None) -> float:
    """Seconds of one plain loop over the events, signing with the home's current key."""
    ring = KeyRing(home / "keys")
    signer = LocalKeySigner(ring.private_pem(ring.current_kid))
    started = time.perf_counter()
    plain_loop(lines, signer, generation_ms)
    return time.perf_counter() - started


_shards: list[list[bytes]] = []  # set before the pool forks: each process charges one


def customer_shards(lines: list[bytes], count: int) -> list[list[bytes]]:
    """The lines cut into `count` shards by customer (unparseable lines in shard 0)."""
    shards: list[list[bytes]] = [[] for _ in range(count)]
    for raw in lines:
        try:
            customer = json.loads(raw)["customer_id"]
        except (ValueError, KeyError, TypeError):
            customer = ""
        shards[sum(customer.encode()) % count if customer else 0].append(raw)
    return shards


def _charge_shard(arguments: tuple[int, str]) -> int:
    number, keys = arguments
    ring = KeyRing(Path(keys))
    return plain_loop(_shards[number], LocalKeySigner(ring.private_pem(ring.current_kid)))


def loop_seconds_on(cores: int, shards: list[list[bytes]], home: Path, expected: int) -> float:
    """Seconds of the plain loop in `cores` forked processes, one shard of customers each
    (the processes' start and the key loading counted, as a job's workers' start is)."""
    global _shards
    _shards = shards
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        signed = sum(pool.map(_charge_shard, [(number, str(home / "keys")) for number in range(cores)]))
    seconds = time.perf_counter() - started
    if signed != expected:
        raise RuntimeError(f"the shards signed {signed} receipts, not {expected}")
    return seconds


def plain_loop_count(shards: list[list[bytes]]) -> int:
    """Receipts the loop signs: one per (customer, key) (every generated line is valid)."""
    keys = {
        (document["customer_id"], document["idempotent_key"]) for shard in shards for document in map(json.loads, shard)
    }
    return len(keys)


def interleaved(rounds: int, runs: dict[str, Callable[[int], float]]) -> dict[str, list[float]]:
    """Seconds of each run per round, the runs taken in turn (A, B, C, A, B, C, …): a burst
    of the machine's other load lands on every side of a ratio, not on one."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for number in range(rounds):
        for name, run_once in runs.items():
            seconds[name].append(run_once(number))
    return seconds


def timed_job(home: Path, label: str, logged: bool = False, workers: int | None = None) -> float:
    """Seconds of one batch job over home/events.jsonl into a new store; `logged`: with the log;
    `workers`: on the FnApiRunner in that many processes (None: the BundleBasedDirectRunner)."""
    log = {}
    if logged:
        create_key_file(home / f"{label}.log.key", LOG_ORIGIN)
        log = {"log_origin": LOG_ORIGIN, "log_signer": (home / f"{label}.log.key").as_uri()}
    kid = KeyRing(home / "keys").current_kid
    settings = Settings(
        str(home / "events.jsonl"), f"sqlite:///{home / f'{label}.db'}", str(home / "keys"), kid, str(home / label),
        **log, workers=workers,
    )  # fmt: skip
    started = time.perf_counter()
    run(settings)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each run; medians kept")
    parser.add_argument("--workers", type=int, default=default_workers(), help="N (default: the cores here)")
    args = parser.parse_args()
    cores = args.workers
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        lines = generate(args.events, args.customers)
        (home / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        shards = customer_shards(lines, cores)
        expected = plain_loop_count(shards)
        generation_ms: list[float] = []
        signed = interleaved(
            args.rounds,
            {
                "loop": lambda n: loop_seconds(lines, home, generation_ms if n == 0 else None),
                "loop_n": lambda n: loop_seconds_on(cores, shards, home, expected),
                "job": lambda n: timed_job(home, f"direct{n}"),
                "job_1": lambda n: timed_job(home, f"one{n}", workers=1),
                "job_n": lambda n: timed_job(home, f"many{n}", workers=cores),
                "logged": lambda n: timed_job(home, f"logged{n}", logged=True, workers=cores),
                "logged_1": lambda n: timed_job(home, f"logged_one{n}", logged=True, workers=1),
            },
        )
        stub_signatures()  # for good: the stubbed rounds come last; in this process only
        stubbed = interleaved(
            args.rounds,
            {
                "loop": lambda n: loop_seconds(lines, home),
                "job": lambda n: timed_job(home, f"stubbed{n}"),
                "job_1": lambda n: timed_job(home, f"stubbed_one{n}", workers=1),
            },
        )
    load_after = os.getloadavg()

    median = {f"{name}": statistics.median(values) for name, values in signed.items()}
    median |= {f"stubbed_{name}": statistics.median(values) for name, values in stubbed.items()}
    rate = lambda seconds: args.events / seconds  # noqa: E731
    seconds = {name: values for name, values in signed.items()}
    seconds |= {f"stubbed_{name}": values for name, values in stubbed.items()}

    def ratio(job: str, loop: str) -> float:
        """The median of the rounds' own ratios: a round's job against the loop of the same
        round, so a burst of load in one round cannot pair a quiet side with a busy one."""
        return statistics.median(loop_s / job_s for job_s, loop_s in zip(seconds[job], seconds[loop], strict=True))

    print(f"{'what (median of ' + str(args.rounds) + ' interleaved rounds)':<60}{'seconds':>10}{'events/s':>12}")
    for what, key in (
        ("plain loop, 1 core (validate, dedup, chain, sign)", "loop"),
        (f"plain loop, {cores} processes (a shard of customers each)", "loop_n"),
        ("Beam job, BundleBasedDirectRunner (SQLite, archive)", "job"),
        ("Beam job, FnApiRunner, 1 worker (in process)", "job_1"),
        (f"Beam job, FnApiRunner, {cores} worker processes", "job_n"),
        (f"Beam job, {cores} workers, with the transparency log", "logged"),
        ("Beam job, 1 worker, with the transparency log", "logged_1"),
        ("plain loop, signatures stubbed", "stubbed_loop"),
        ("Beam job, DirectRunner, signatures stubbed", "stubbed_job"),
        ("Beam job, FnApiRunner 1 worker, signatures stubbed", "stubbed_job_1"),
    ):
        print(f"{what:<60}{median[key]:>10.2f}{rate(median[key]):>12.0f}")
    print(f"ratio, {cores} workers / loop on {cores} processes: {ratio('job_n', 'loop_n'):.2f} (goal {GOAL})")
    print(f"ratio, 1 worker / loop on 1 core: {ratio('job_1', 'loop'):.2f}")
    print(f"ratio, DirectRunner / loop on 1 core (before --workers): {ratio('job', 'loop'):.2f}")
    print(f"ratio with the log on ({cores} workers + log / loop on {cores}): {ratio('logged', 'loop_n'):.2f}")
    print(f"ratio with the log on (1 worker + log / loop on 1 core): {ratio('logged_1', 'loop'):.2f} (goal {LOG_GOAL})")
    print(f"the log's own cost: a 1-worker job's time with it / without it: {ratio('job_1', 'logged_1'):.2f}")
    print(f"speed-up, {cores} workers over 1: {ratio('job_n', 'job_1'):.2f}x (loop: {ratio('loop_n', 'loop'):.2f}x)")
    print(f"RSA signing's share of the 1-worker job: {1 - median['stubbed_job_1'] / median['job_1']:.0%}")
    p50, p99 = percentile(generation_ms, 0.5), percentile(generation_ms, 0.99)
    print(f"receipt generation, raw bytes to signature, one event at a time: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}: on a busy host these are lower bounds")
    per_round = lambda values: [round(rate(seconds), 1) for seconds in values]  # noqa: E731
    pair = lambda job, loop: {  # noqa: E731
        "value": round(rate(median[job]), 1),
        "baseline": round(rate(median[loop]), 1),
        "ratio": round(ratio(job, loop), 3),
    }
    record(
        "pipeline",
        {
            **pair("job_n", "loop_n"),
            "goal": GOAL,
            "unit": "events/s",
            "what": (
                f"receipts run's default: the FnApiRunner in {cores} worker processes, against the plain loop in "
                f"{cores} processes (a shard of customers each)"
            ),
            "cores": cores,
            "command": (
                f"python benchmarks/pipeline_throughput.py --events {args.events} --customers {args.customers} "
                f"--rounds {args.rounds} --workers {cores}"
            ),
            "generation_p50_ms": round(p50, 3),
            "generation_p99_ms": round(p99, 3),
            "log_on": {**pair("logged", "loop_n"), "goal": LOG_GOAL}
            | {"one_worker": pair("logged_1", "loop"), "log_cost": round(ratio("job_1", "logged_1"), 3)},
            "stubbed_signatures": pair("stubbed_job_1", "stubbed_loop")
            | {"direct_runner": pair("stubbed_job", "stubbed_loop")},
            "workers": {
                "1": pair("job_1", "loop") | {"runner": "FnApiRunner in_memory", "baseline_cores": 1},
                str(cores): pair("job_n", "loop_n")
                | {"runner": "FnApiRunner, worker processes", "baseline_cores": cores},
                "speedup": round(ratio("job_n", "job_1"), 2),
                "loop_speedup": round(ratio("loop_n", "loop"), 2),
            },
            "direct_runner": pair("job", "loop")
            | {"note": "BundleBasedDirectRunner, one process: receipts run before --workers"},
            "load_average": {"before": round(load_before[0], 1), "after": round(load_after[0], 1)},
            "note": (
                "on a busy host these are lower bounds (see load_average); value and baseline are median rates, "
                "ratio the median of the rounds' own ratios"
            ),
            "rounds": {name: per_round(values) for name, values in signed.items()}
            | {f"stubbed_{name}": per_round(values) for name, values in stubbed.items()},
        },
    )


if __name__ == "__main__":
    main()
