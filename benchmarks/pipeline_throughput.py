"""Pipeline throughput: the batch Beam job vs a plain loop doing the same work.

Both run in this process on the same generated events: 20,000 events, 500 customers,
10% producer retries. The plain loop validates, deduplicates, chains, canonicalizes,
hashes and signs, with no Beam and no store; the ratio is Beam-job rate / loop rate. The
job runs twice: as `receipts run` without a log, and with the transparency log on (every
stored receipt a leaf, its tiles and a signed checkpoint once the writes are done), both
against the same loop (goal with the log: 0.5). The loop also times each receipt from raw
bytes to signature (the seed's "receipt generation p99 under 50 ms"). The loop and the
jobs run in turn over `--rounds` and each keeps its median, so the machine's other load
weighs on both sides of a ratio (goal without the log: 0.8, issue 19).
Usage: python benchmarks/pipeline_throughput.py [--events N] [--customers N] [--rounds N]
"""

import argparse
import json
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


def interleaved(rounds: int, runs: dict[str, Callable[[int], float]]) -> dict[str, list[float]]:
    """Seconds of each run per round, the runs taken in turn (A, B, C, A, B, C, …): a burst
    of the machine's other load lands on every side of a ratio, not on one."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for number in range(rounds):
        for name, run_once in runs.items():
            seconds[name].append(run_once(number))
    return seconds


def timed_job(home: Path, label: str, logged: bool = False) -> float:
    """Seconds of one batch job over home/events.jsonl into a new store; `logged`: with the log."""
    log = {}
    if logged:
        create_key_file(home / f"{label}.log.key", LOG_ORIGIN)
        log = {"log_origin": LOG_ORIGIN, "log_signer": (home / f"{label}.log.key").as_uri()}
    kid = KeyRing(home / "keys").current_kid
    settings = Settings(
        str(home / "events.jsonl"), f"sqlite:///{home / f'{label}.db'}", str(home / "keys"), kid, str(home / label),
        **log,
    )  # fmt: skip
    started = time.perf_counter()
    run(settings)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each run; medians kept")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        lines = generate(args.events, args.customers)
        (home / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        generation_ms: list[float] = []
        signed = interleaved(
            args.rounds,
            {
                "loop": lambda n: loop_seconds(lines, home, generation_ms if n == 0 else None),
                "job": lambda n: timed_job(home, f"signed{n}"),
                "logged": lambda n: timed_job(home, f"logged{n}", logged=True),
            },
        )
        stub_signatures()  # for good: the stubbed rounds come last
        stubbed = interleaved(
            args.rounds,
            {"loop": lambda n: loop_seconds(lines, home), "job": lambda n: timed_job(home, f"stubbed{n}")},
        )

    median = {f"{name}": statistics.median(values) for name, values in signed.items()}
    median |= {f"stubbed_{name}": statistics.median(values) for name, values in stubbed.items()}
    rate = lambda seconds: args.events / seconds  # noqa: E731
    beam_rate, loop_rate = rate(median["job"]), rate(median["loop"])
    print(f"{'what (median of ' + str(args.rounds) + ' interleaved rounds)':<52}{'seconds':>10}{'events/s':>12}")
    for what, key in (
        ("plain loop (validate, dedup, chain, sign)", "loop"),
        ("Beam batch job (DirectRunner, SQLite, archive)", "job"),
        ("Beam batch job with the transparency log", "logged"),
        ("plain loop, signatures stubbed", "stubbed_loop"),
        ("Beam batch job, signatures stubbed", "stubbed_job"),
    ):
        print(f"{what:<52}{median[key]:>10.2f}{rate(median[key]):>12.0f}")
    print(f"ratio (Beam / plain loop): {beam_rate / loop_rate:.2f} (goal {GOAL})")
    logged_ratio = rate(median["logged"]) / loop_rate
    print(f"ratio with the log on (Beam + log / plain loop): {logged_ratio:.2f} (goal {LOG_GOAL})")
    stubbed_ratio = rate(median["stubbed_job"]) / rate(median["stubbed_loop"])
    print(f"ratio with signatures stubbed: {stubbed_ratio:.2f}")
    print(f"RSA signing's share of the Beam job: {1 - median['stubbed_job'] / median['job']:.0%}")
    p50, p99 = percentile(generation_ms, 0.5), percentile(generation_ms, 0.99)
    print(f"receipt generation, raw bytes to signature, one event at a time: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    per_round = lambda values: [round(rate(seconds), 1) for seconds in values]  # noqa: E731
    record(
        "pipeline",
        {
            "value": round(beam_rate, 1),
            "baseline": round(loop_rate, 1),
            "ratio": round(beam_rate / loop_rate, 3),
            "goal": GOAL,
            "unit": "events/s",
            "command": (
                f"python benchmarks/pipeline_throughput.py --events {args.events} --customers {args.customers} "
                f"--rounds {args.rounds}"
            ),
            "generation_p50_ms": round(p50, 3),
            "generation_p99_ms": round(p99, 3),
            "log_on": {
                "value": round(rate(median["logged"]), 1),
                "baseline": round(loop_rate, 1),
                "ratio": round(logged_ratio, 3),
                "goal": LOG_GOAL,
            },
            "stubbed_signatures": {
                "value": round(rate(median["stubbed_job"]), 1),
                "baseline": round(rate(median["stubbed_loop"]), 1),
                "ratio": round(stubbed_ratio, 3),
            },
            "rounds": {name: per_round(values) for name, values in signed.items()}
            | {f"stubbed_{name}": per_round(values) for name, values in stubbed.items()},
        },
    )


if __name__ == "__main__":
    main()
