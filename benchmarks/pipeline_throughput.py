"""Pipeline throughput: the batch Beam job vs a plain loop doing the same work.

Both run in this process on the same generated events: 20,000 events, 500 customers,
10% producer retries. The plain loop validates, deduplicates, chains, canonicalizes,
hashes and signs, with no Beam and no store; the ratio is Beam-job rate / loop rate. The
job runs twice: as `receipts run` without a log, and with the transparency log on (every
stored receipt a leaf, its tiles and a signed checkpoint once the writes are done), both
against the same loop (goal with the log: 0.5). The loop also times each receipt from raw
bytes to signature (the seed's "receipt generation p99 under 50 ms").
Usage: python benchmarks/pipeline_throughput.py [--events N] [--customers N]
"""

import argparse
import json
import random
import sys
import tempfile
import time
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


def measure(
    lines: list[bytes], home: Path, label: str, generation_ms: list[float] | None = None
) -> tuple[float, float]:
    """(plain loop seconds, Beam job seconds) for the same events."""
    ring = KeyRing(home / "keys")
    signer = LocalKeySigner(ring.private_pem(ring.current_kid))
    started = time.perf_counter()
    plain_loop(lines, signer, generation_ms)
    loop_seconds = time.perf_counter() - started
    return loop_seconds, timed_job(home, label)


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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        lines = generate(args.events, args.customers)
        (home / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        generation_ms: list[float] = []
        loop_seconds, beam_seconds = measure(lines, home, "signed", generation_ms)
        logged_seconds = timed_job(home, "logged", logged=True)
        stub_signatures()
        stub_loop_seconds, stub_beam_seconds = measure(lines, home, "stubbed")

    rate = lambda seconds: args.events / seconds  # noqa: E731
    beam_rate, loop_rate = rate(beam_seconds), rate(loop_seconds)
    print(f"{'what':<52}{'seconds':>10}{'events/s':>12}")
    for what, seconds in (
        ("plain loop (validate, dedup, chain, sign)", loop_seconds),
        ("Beam batch job (DirectRunner, SQLite, archive)", beam_seconds),
        ("Beam batch job with the transparency log", logged_seconds),
        ("plain loop, signatures stubbed", stub_loop_seconds),
        ("Beam batch job, signatures stubbed", stub_beam_seconds),
    ):
        print(f"{what:<52}{seconds:>10.2f}{rate(seconds):>12.0f}")
    print(f"ratio (Beam / plain loop): {beam_rate / loop_rate:.2f}")
    logged_ratio = rate(logged_seconds) / loop_rate
    print(f"ratio with the log on (Beam + log / plain loop): {logged_ratio:.2f} (goal {LOG_GOAL})")
    print(f"ratio with signatures stubbed: {rate(stub_beam_seconds) / rate(stub_loop_seconds):.2f}")
    signing_share = 1 - stub_beam_seconds / beam_seconds
    print(f"RSA signing's share of the Beam job: {signing_share:.0%}")
    p50, p99 = percentile(generation_ms, 0.5), percentile(generation_ms, 0.99)
    print(f"receipt generation, raw bytes to signature, one event at a time: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    record(
        "pipeline",
        {
            "value": round(beam_rate, 1),
            "baseline": round(loop_rate, 1),
            "ratio": round(beam_rate / loop_rate, 3),
            "unit": "events/s",
            "command": f"python benchmarks/pipeline_throughput.py --events {args.events} --customers {args.customers}",
            "generation_p50_ms": round(p50, 3),
            "generation_p99_ms": round(p99, 3),
            "log_on": {
                "value": round(rate(logged_seconds), 1),
                "baseline": round(loop_rate, 1),
                "ratio": round(logged_ratio, 3),
                "goal": LOG_GOAL,
            },
            "stubbed_signatures": {
                "value": round(rate(stub_beam_seconds), 1),
                "baseline": round(rate(stub_loop_seconds), 1),
                "ratio": round(rate(stub_beam_seconds) / rate(stub_loop_seconds), 3),
            },
        },
    )


if __name__ == "__main__":
    main()
