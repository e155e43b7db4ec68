"""The customer's account page (GET /account) over one customer's chain of N receipts (one
credit every ten), against the receipt page (GET /receipts/<id>, the site's existing page for
the same session and store) in the same run, through the Flask test client in this process
(no server, no network: the pages' own cost). Also times each account read of the SQLite
store alone. Rate limits are off. Each kind keeps its best of --rounds.
Usage: python benchmarks/account_page.py [--receipts 20000] [--requests 20] [--rounds 3]
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import record
from receipts.api_keys import issue_api_key
from receipts.credits import ChargeBook
from receipts.events import parse_event
from receipts.jws import sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.statements import Period
from receipts.statements.activity import ReceiptFilter
from receipts.stores.keyring import KeyRing
from receipts.stores.signers import LocalKeySigner
from receipts.stores.sqlite import SqliteStore
from verifier_site import create_app

CUSTOMER = "cust_bench"


def build(home: Path, receipts: int) -> tuple[SqliteStore, KeyRing]:
    ring = KeyRing(home / "keys")
    ring.ensure_current()
    signer = LocalKeySigner(ring.private_pem(ring.current_kid))
    store = SqliteStore(f"sqlite:///{home / 'r.db'}")
    state, book, chained = ChainState(CUSTOMER), ChargeBook(), []
    for index in range(receipts):
        day = 1 + index * 28 // receipts
        fields = f'"idempotent_key": "k{index}", "customer_id": "{CUSTOMER}", "currency": "USD", '
        fields += f'"timestamp": "2026-01-{day:02d}T10:00:00Z", '
        if index % 10 == 9:  # a credit of the charge before it
            fields += f'"amount": "0.25", "type": "credit", "corrects": "{chained[-1].body["receipt_id"]}"'
        else:
            fields += '"amount": "1.25"'
        event = parse_event(("{" + fields + "}").encode())
        chained.append(state.append(event, None, signer.kid, "2026-02-01T00:00:00.000000Z", book))
    signatures = sign_payloads(signer, [receipt.canonical for receipt in chained])
    store.write_receipts([SignedReceipt(c, s) for c, s in zip(chained, signatures, strict=True)])
    return store, ring


def best_ms(work: Callable[[], object], requests: int, rounds: int) -> float:
    """The best round's median time of one call, in milliseconds."""
    medians = []
    for _ in range(rounds):
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        medians.append(statistics.median(times))
    return 1000 * min(medians)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=20_000, help="receipts in the customer's chain")
    parser.add_argument("--requests", type=int, default=20, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store, ring = build(Path(folder), args.receipts)
        key, _ = issue_api_key(store, CUSTOMER)
        app = create_app(
            {"STORE_URL": store.url, "KEYS_FOLDER": str(ring.folder), "SECRET_KEY": b"bench", "RATE_LIMIT_IP": None}
            | {"RATE_LIMIT_KEY": None}
        )
        client = app.test_client()
        assert client.post("/account/sign-in", data={"api_key": key}).status_code == 303
        first = next(iter(store.receipts_page(CUSTOMER, 0, 1)))["receipt_id"]

        def get(path: str) -> Callable[[], None]:
            def call() -> None:
                assert client.get(path).status_code == 200, path

            return call

        receipt_page = best_ms(get(f"/receipts/{first}"), args.requests, args.rounds)
        account = best_ms(get("/account"), args.requests, args.rounds)
        filtered = best_ms(get("/account?status=rejected"), args.requests, args.rounds)
        charges = [r["receipt_id"] for r in store.receipts_page(CUSTOMER, 0, 25)]
        reads = {
            "account_receipts_25_ms": best_ms(
                lambda: store.account_receipts(CUSTOMER, ReceiptFilter(), 0, 25), args.requests, args.rounds
            ),
            "account_receipts_no_match_ms": best_ms(
                lambda: store.account_receipts(CUSTOMER, ReceiptFilter(status="rejected"), 0, 25), 3, args.rounds
            ),
            "credits_of_25_ms": best_ms(lambda: store.credits_of(CUSTOMER, charges), args.requests, args.rounds),
            "daily_totals_ms": best_ms(lambda: store.daily_totals(CUSTOMER, Period(2026, 1)), 3, args.rounds),
            "customer_balances_ms": best_ms(lambda: store.customer_balances(CUSTOMER), args.requests, args.rounds),
        }
    ratio = receipt_page / account
    print(f"{'page':<40}{'ms (best median)':>18}")
    print(f"{'GET /receipts/<id> (baseline)':<40}{receipt_page:>18.1f}")
    print(f"{'GET /account':<40}{account:>18.1f}")
    print(f"{'GET /account?status=rejected (no match)':<40}{filtered:>18.1f}")
    for name, value in reads.items():
        print(f"{'  store ' + name:<40}{value:>18.2f}")
    print(f"ratio (receipt page time / account page time): {ratio:.2f} over {args.receipts:,} receipts")
    record(
        "account_page",
        {
            "receipts": args.receipts,
            "receipt_page_ms": round(receipt_page, 2),
            "account_page_ms": round(account, 2),
            "account_page_no_match_ms": round(filtered, 2),
            "ratio": round(ratio, 3),
            "store_reads": {name: round(value, 3) for name, value in reads.items()},
        },
    )


if __name__ == "__main__":
    main()
