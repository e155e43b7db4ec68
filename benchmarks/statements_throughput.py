"""Statements throughput: statements closed per second by the real close job
(pipelines/statements.py) against a plain loop summing the same receipts, in the same run.

The receipts (500 customers x 40 by default, November's, a few late October ones and
credits among them) are chained and signed with the domain code and written to an embedded
SQLite store, as the charging job leaves them. The job then closes November: one signed
statement per customer (lines, RFC 6962 root, totals, RS256), each written once. The plain
loop reads each customer's chain from the same store and sums its accepted amounts per
currency in Decimal, the least any invoice must do. A third row, the job's own domain steps
(build_statement, sign, add_statement) in a plain loop with no Beam, shows where the rest of
the time goes, and one RS256 signature per statement alone the floor no close can go
under. The ratio is job rate / summing-loop rate.
Usage: python benchmarks/statements_throughput.py [--customers N] [--receipts-per-customer N]
"""

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import record
from pipelines.statements import StatementSettings, run, statement_counts
from receipts.canonical import receipt_id
from receipts.credits import ChargeBook
from receipts.events import parse_event
from receipts.jws import STATEMENT_TYP, sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.statements import Period, Previous, build_statement, exported_statement
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner, key_file_url
from receipts.stores.sqlite import SqliteStore

PERIOD = "2026-11"
PROCESSED_AT = "2026-11-30T12:00:00.000000Z"  # before any close: every receipt is a line


def make_store(path: Path, customers: int, per_customer: int, signer: LocalKeySigner) -> int:
    """Chain, sign and store the receipts; return how many."""
    store = SqliteStore(f"sqlite:///{path}")
    count = 0
    for c in range(customers):
        customer = f"cust_{c:04d}"
        chain, book, receipts = ChainState(customer), ChargeBook(), []
        for n in range(per_customer):
            fields = {
                "idempotent_key": f"evt-{n}",
                "customer_id": customer,
                "amount": f"{1 + n % 97}.{n % 100:02d}",
                "currency": "EUR" if c % 5 == 0 else "USD",
                "timestamp": f"2026-{10 if n % 20 == 0 else 11}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                "usage_description": "benchmark usage",
            }
            if n % 10 == 9:  # a credit of the charge before it
                fields.update(type="credit", amount="0.50", corrects=receipt_id(customer, f"evt-{n - 1}"))
            chained = chain.append(parse_event(json.dumps(fields).encode()), None, signer.kid, PROCESSED_AT, book)
            receipts.append(chained)
        signatures = sign_payloads(signer, [receipt.canonical for receipt in receipts])
        store.write_receipts([SignedReceipt(r, s) for r, s in zip(receipts, signatures, strict=True)])
        count += len(receipts)
    store.close()
    return count


def summing_loop(url: str) -> int:
    """Per customer: read its chain from the store and sum the accepted amounts per currency."""
    store = SqliteStore(url)
    closed = 0
    for customer in store.customers():
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for receipt in store.receipts(customer):
            if receipt["status"] == "accepted":
                sign = -1 if receipt.get("type") == "credit" else 1
                totals[receipt["currency"]] += sign * Decimal(receipt["amount"])
        closed += 1
    store.close()
    return closed


def signing_loop(signer: LocalKeySigner, count: int) -> int:
    """Only what the summing loop leaves out and a statement cannot: one RS256 signature each."""
    payload = b'{"v":1}' * 60  # about a statement's size
    return sum(len(sign_payloads(signer, [payload], STATEMENT_TYP)) for _ in range(count))


def domain_loop(url: str, signer: LocalKeySigner, closed_at: str) -> int:
    """The job's steps for each customer with no Beam: read, build, sign, keep."""
    store = SqliteStore(url)
    closed = 0
    for customer in store.customers():
        chain = list(store.receipts(customer))
        previous = Previous.of(store.previous_statement(customer, PERIOD))
        unsigned = build_statement(customer, Period.parse(PERIOD), closed_at, chain, previous, signer.kid)
        [signature] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
        store.add_statement(exported_statement(unsigned, signature))
        closed += 1
    store.close()
    return closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--receipts-per-customer", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ring = KeyRing(folder / "keys")
        ring.ensure_current()
        signer = LocalKeySigner(ring.private_pem(ring.current_kid))
        db = folder / "receipts.db"
        receipts = make_store(db, args.customers, args.receipts_per_customer, signer)
        copy = folder / "copy.db"  # the same receipts for the no-Beam loop, which writes its own statements
        copy.write_bytes(db.read_bytes())

        started = time.perf_counter()
        assert summing_loop(f"sqlite:///{db}") == args.customers
        sum_seconds = time.perf_counter() - started

        started = time.perf_counter()
        assert signing_loop(signer, args.customers) == args.customers
        sign_seconds = time.perf_counter() - started

        started = time.perf_counter()
        assert domain_loop(f"sqlite:///{copy}", signer, "2026-12-01T01:00:00.000000Z") == args.customers
        domain_seconds = time.perf_counter() - started

        settings = StatementSettings(f"sqlite:///{db}", PERIOD, key_file_url(ring.folder, ring.current_kid))
        started = time.perf_counter()
        counts = statement_counts(run(settings))
        job_seconds = time.perf_counter() - started
        assert counts["statements_issued"] == args.customers, counts
        store = SqliteStore(f"sqlite:///{db}")
        lines = sum(statement["line_count"] for statement in store.statements(period=PERIOD))
        store.close()
        assert lines == receipts, (lines, receipts)  # every receipt on November's statement (October's are late)

    n = args.customers
    job_rate, sum_rate, domain_rate = n / job_seconds, n / sum_seconds, n / domain_seconds
    bound = n / (sum_seconds + sign_seconds)  # summing and signing, nothing else
    print(f"{n} customers x {args.receipts_per_customer} receipts ({receipts} lines)")
    print(f"{'what':<62}{'seconds':>10}{'statements/s':>14}")
    print(f"{'plain loop: read each chain, sum accepted amounts (Decimal)':<62}{sum_seconds:>10.2f}{sum_rate:>14.0f}")
    print(f"{'plain loop: one RS256 signature per statement only':<62}{sign_seconds:>10.2f}{n / sign_seconds:>14.0f}")
    print(
        f"{'plain loop: build, sign and keep each statement (no Beam)':<62}{domain_seconds:>10.2f}{domain_rate:>14.0f}"
    )
    print(f"{'statements close job (DirectRunner, SQLite home)':<62}{job_seconds:>10.2f}{job_rate:>14.0f}")
    print(
        f"ratio (job / summing loop): {job_rate / sum_rate:.3f}; job / (summing + signing): {job_rate / bound:.2f}; "
        f"job / no-Beam close loop: {job_rate / domain_rate:.2f}"
    )
    record(
        "statements",
        {
            "value": round(job_rate, 1),
            "baseline": round(sum_rate, 1),
            "ratio": round(job_rate / sum_rate, 3),
            "unit": "statements/s",
            "signing_bound": round(bound, 1),
            "no_beam_close_loop": round(domain_rate, 1),
            "command": (
                f"python benchmarks/statements_throughput.py --customers {args.customers} "
                f"--receipts-per-customer {args.receipts_per_customer}"
            ),
        },
    )


if __name__ == "__main__":
    main()
