"""Cloud KMS calls per million receipts: the delegated signer (delegated://kms/…, one key per
day endorsed by the HSM key) against the per-receipt signer (kms://, the baseline), both
counted by the KMS test server (tests/kms/fake.py: a real gRPC server, real keys, the real
client) in the same run.

Baseline: `--baseline` receipts signed through KmsSigner; calls per receipt as counted.
Delegated: a simulated week at 1k, 10k and 100k events/s. A KMS call can only happen when a
worker asks for a window's key (`DelegatedSigner.signer_at`); after the first ask in a window
it is answered from the worker's cache, so asking once per worker-minute counts exactly the
calls that asking once per receipt would (the tests show a window's calls do not grow with its
receipts). Each worker asks every simulated minute and stands for rate / workers receipts a
second; workers = rate / 1,000 (rounded up), each restarted once a day (a new process: one
GetPublicKey, one Decrypt per window it signs in). One real receipt per window is signed and
verified with its endorsement, so the keys counted are keys that work.
The KMS server and the simulation share this process: on a loaded 2-core host the week at
100k events/s (a million window look-ups, 2,200 gRPC calls) took about 8 minutes.
Usage: python benchmarks/kms_calls.py [--days 7] [--baseline 2000]
"""

import argparse
import math
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import record
from receipts.delegation import Delegations
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.delegated import DelegatedSigner
from receipts.stores.gcp.kms import KmsSigner
from receipts.stores.gcp.kms_wrap import KmsKeyWrapper
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_receipt
from tests.conftest import make_event
from tests.kms.fake import VERSION, WRAP_KEY, FakeKms

RATES = (1_000, 10_000, 100_000)  # events/s, DEPLOY.md's comparison
EVENTS_PER_WORKER = 1_000  # events/s a worker signs (n1-standard-4; the pipeline's rate, not RSA's)
DAY = 86_400
START = datetime(2026, 3, 1, tzinfo=UTC)
HSM_PRICE_PER_10K = 0.03  # USD, Cloud KMS HSM RSA-2048 sign (and symmetric ops, same order)


def counted(kms: FakeKms) -> int:
    return kms.calls


def baseline(kms: FakeKms, receipts: int) -> float:
    """KMS calls per receipt with kms:// (one AsymmetricSign each), as the server counts them."""
    before = counted(kms)
    signer = KmsSigner(VERSION, client=kms.client())
    state = ChainState("cust_base")
    chained = [
        state.append(
            make_event(customer_id="cust_base", idempotent_key=f"b{n}"), None, signer.kid, "2026-03-01T00:00:00Z"
        )
        for n in range(receipts)
    ]
    sign_payloads(signer, [receipt.canonical for receipt in chained])
    signer.close()
    return (counted(kms) - before) / receipts


def delegated(kms: FakeKms, folder: Path, rate: int, days: int) -> dict:
    """One simulated run: its receipts, KMS calls by method, and calls per million receipts."""
    store = SqliteStore(f"sqlite:///{folder / f'keys-{rate}.db'}")
    client = kms.client()
    workers = math.ceil(rate / EVENTS_PER_WORKER)
    before = dict(sign=kms.sign_calls, get=kms.public_key_calls, enc=kms.encrypt_calls, dec=kms.decrypt_calls)

    def start_worker() -> DelegatedSigner:
        return DelegatedSigner(KmsSigner(VERSION, client=client), KmsKeyWrapper(WRAP_KEY, client=client), store, DAY)

    pool = [start_worker() for _ in range(workers)]
    samples = []
    for minute in range(days * 24 * 60):
        at = (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        if minute % (24 * 60) == 12 * 60:  # midday: every worker restarts once a day
            pool = [start_worker() for _ in range(workers)]
        for signer in pool:
            key = signer.signer_at(at)
        if minute % (24 * 60) == 0:  # one real receipt per window, signed by its key
            chained = ChainState("cust_sample").append(
                make_event(customer_id="cust_sample", idempotent_key=f"s{minute}"), None, key.kid, at
            )
            samples.append(SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0]).export())
    roots = Jwks({"keys": [pool[0].endorser.jwk]})
    documents = [document.jws for document in store.key_documents("endorsement")]
    delegations = Delegations(roots, [pool[0].kid], documents)
    jwks = roots.with_keys([endorsement.jwk for endorsement in delegations.endorsed.values()])
    assert all(verify_receipt(receipt, jwks, delegations).ok for receipt in samples), "a counted key does not verify"
    receipts = rate * days * DAY
    calls = {
        "AsymmetricSign": kms.sign_calls - before["sign"],
        "GetPublicKey": kms.public_key_calls - before["get"],
        "Encrypt": kms.encrypt_calls - before["enc"],
        "Decrypt": kms.decrypt_calls - before["dec"],
    }
    total = sum(calls.values())
    store.close()
    return {
        "events_per_second": rate,
        "workers": workers,
        "days": days,
        "windows": len(documents),
        "receipts": receipts,
        "kms_calls": calls,
        "kms_calls_total": total,
        "kms_calls_per_million_receipts": round(total / (receipts / 1e6), 6),
        "kms_cost_usd_per_day": round(total / days / 10_000 * HSM_PRICE_PER_10K, 6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--baseline", type=int, default=2000, help="receipts signed through kms:// for the baseline")
    args = parser.parse_args()
    kms = FakeKms()
    kms.add_version()
    kms.add_crypto_key()
    kms.start()
    try:
        per_receipt = baseline(kms, args.baseline)
        with tempfile.TemporaryDirectory(prefix="kms-calls-") as scratch:
            runs = [delegated(kms, Path(scratch), rate, args.days) for rate in RATES]
    finally:
        kms.stop()
    baseline_per_million = per_receipt * 1e6
    print(f"kms:// (baseline): {per_receipt:.4f} KMS calls per receipt = {baseline_per_million:,.0f} per million")
    print(f"{'events/s':>9} {'workers':>7} {'receipts':>16} {'KMS calls':>9} {'per million':>12} {'vs kms://':>12}")
    for run in runs:
        run["ratio_to_kms_per_receipt"] = round(run["kms_calls_per_million_receipts"] / baseline_per_million, 12)
        print(
            f"{run['events_per_second']:>9,} {run['workers']:>7} {run['receipts']:>16,} {run['kms_calls_total']:>9,} "
            f"{run['kms_calls_per_million_receipts']:>12.4f} {run['ratio_to_kms_per_receipt']:>12.2e}"
        )
    record(
        "kms_calls",
        {
            "baseline_kms_calls_per_receipt": per_receipt,
            "baseline_receipts": args.baseline,
            "events_per_worker": EVENTS_PER_WORKER,
            "restarts_per_worker_per_day": 1,
            "window": "1d",
            "delegated": runs,
        },
    )


if __name__ == "__main__":
    main()
