"""Transparency log integration rate: leaves per second through receipts.tlog.integrate (new
stored hashes, every changed tile and entry bundle, the root), in batches as the sequencer
appends them, against a plain loop that only hashes the same leaves and nodes (RFC 6962:
a leaf hash per entry, a node hash per completed subtree) in the same run. Goal: ratio 0.5.

Usage: python benchmarks/log_integration.py [--leaves N] [--batch N] [--rounds N]
"""

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import record
from receipts.tlog.integrate import integrate
from receipts.tlog.stored import MemoryHashes
from receipts.tlog.tiles import TILE_WIDTH

GOAL = 0.5


def entries(count: int) -> list[bytes]:
    return [hashlib.sha256(n.to_bytes(8, "big")).digest() for n in range(count)]


def plain_loop(leaves: list[bytes]) -> bytes:
    """The hashing alone: a leaf hash each, a node hash per subtree as it completes."""
    stack: list[tuple[int, bytes]] = []  # (height, hash) of the perfect subtrees on the right edge
    for entry in leaves:
        node, height = hashlib.sha256(b"\x00" + entry).digest(), 0
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            node, height = hashlib.sha256(b"\x01" + left + node).digest(), height + 1
        stack.append((height, node))
    root = stack.pop()[1]
    while stack:
        root = hashlib.sha256(b"\x01" + stack.pop()[1] + root).digest()
    return root


def sequenced(leaves: list[bytes], batch: int) -> tuple[bytes, int]:
    """integrate() per batch over stored hashes kept in memory: (root, files produced)."""
    hashes = MemoryHashes()
    size, files, root = 0, 0, b""
    for start in range(0, len(leaves), batch):
        chunk = leaves[start : start + batch]
        partial = leaves[size - size % TILE_WIDTH : size]
        done = integrate(size, hashes, chunk, partial)
        hashes.hashes.update(done.stored_hashes)
        files += len(done.files())
        size, root = done.size, done.root
    return root, files


def timed(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    root = run(*args)
    return time.perf_counter() - started, root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leaves", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000, help="leaves per append (the sequencer's batch)")
    parser.add_argument("--rounds", type=int, default=5, help="loop and job rounds, interleaved; medians kept")
    args = parser.parse_args()
    leaves = entries(args.leaves)

    # Interleaved (loop, job, loop, job, …) and medians: a burst of the machine's other load
    # lands on both sides of the ratio, not on one.
    loop_seconds, job_seconds, files = [], [], 0
    for _ in range(args.rounds):
        seconds, expected = timed(plain_loop, leaves)
        loop_seconds.append(seconds)
        seconds, (root, files) = timed(sequenced, leaves, args.batch)
        job_seconds.append(seconds)
        assert root == expected, "the log's root is not RFC 6962's"

    job_rate = args.leaves / statistics.median(job_seconds)
    loop_rate = args.leaves / statistics.median(loop_seconds)
    ratio = job_rate / loop_rate
    print(f"{'what (median of ' + str(args.rounds) + ' interleaved rounds)':<62}{'seconds':>9}{'leaves/s':>12}")
    print(f"{'integrate(), batches of ' + str(args.batch) + f' ({files} tile and bundle files)':<62}"
          f"{statistics.median(job_seconds):>9.2f}{job_rate:>12,.0f}")  # fmt: skip
    print(
        f"{'plain loop: the same leaf and node hashes':<62}{statistics.median(loop_seconds):>9.2f}{loop_rate:>12,.0f}"
    )
    print(f"ratio: {ratio:.2f} (goal {GOAL}); at 10,000 receipts/s the sequencer is busy {10_000 / job_rate:.1%}")
    record(
        "log_integration",
        {
            "value": round(job_rate),
            "baseline": round(loop_rate),
            "ratio": round(ratio, 3),
            "goal": GOAL,
            "unit": "leaves/s",
            "rounds": {
                "loop": [round(args.leaves / seconds) for seconds in loop_seconds],
                "job": [round(args.leaves / seconds) for seconds in job_seconds],
            },
            "command": f"python benchmarks/log_integration.py --leaves {args.leaves} --batch {args.batch}"
            f" --rounds {args.rounds}",
        },
    )


if __name__ == "__main__":
    main()
