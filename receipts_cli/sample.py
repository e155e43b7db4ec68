"""A realistic, deterministic sample of producer messages for the demo: several
customers and currencies, retries, an idempotency conflict, a quota overrun and some
malformed lines. The same call always writes the same bytes."""

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from receipts.ledger import Entitlement
from receipts_cli.home import write_atomically

BASE_TIME = datetime(2026, 1, 25, 8, 0, tzinfo=UTC)
CUSTOMERS = {  # customer -> (currency, typical amounts)
    "cust_acme": ("USD", ["0.15", "1.50", "4.99", "12.00", "7.25"]),
    "cust_globex": ("EUR", ["0.99", "3.10", "25.00", "8.40"]),
    "cust_initech": ("JPY", ["120", "980", "1500", "75"]),
    "cust_umbrella": ("GBP", ["2.00", "19.99", "0.50"]),
    "cust_hooli": ("BHD", ["0.125", "1.500", "3.250"]),
}
DEMO_ENTITLEMENTS = (Entitlement("cust_acme", "ent_api_calls", 20000, "USD"),)  # 200.00 USD

MALFORMED = [
    b'{"idempotent_key": "bad-1", "customer_id": "cust_acme", "amount": "12.00", ',  # truncated JSON
    b'["not", "an", "object"]',
    b'{"idempotent_key":"bad-3","customer_id":"cust_acme","amount":"-5.00","currency":"USD",'
    b'"timestamp":"2026-01-25T09:00:00Z"}',
    b'{"idempotent_key":"bad-4","customer_id":"cust_initech","amount":"100.5","currency":"JPY",'
    b'"timestamp":"2026-01-25T09:00:00Z"}',
    b'{"idempotent_key":"bad-5","customer_id":"cust_globex","amount":"3.00","currency":"EUR",'
    b'"timestamp":"2026-01-25T09:00:00"}',
    b'{"idempotent_key":"bad-6","customer_id":"cust_globex","amount":"3.00","currency":"XYZ",'
    b'"timestamp":"2026-01-25T09:00:00Z"}',
    b'{"idempotent_key":"bad-7","customer_id":"cust_acme","amount":1e3,"currency":"USD",'
    b'"timestamp":"2026-01-25T09:00:00Z"}',
    b'{"idempotent_key":"bad-8","customer_id":"cust acme!","amount":"1.00","currency":"USD",'
    b'"timestamp":"2026-01-25T09:00:00Z"}',
    b'{"idempotent_key":"","customer_id":"cust_acme","amount":true,"currency":"USD",'
    b'"timestamp":"2026-01-25T09:00:00Z"}',
    b"\xff\xfe not utf-8",
]


def sample_events(events_per_customer: int = 40, seed: int = 20260125) -> list[bytes]:
    """Raw JSONL lines (without newlines) in a shuffled, publish-like order."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    originals: list[bytes] = []
    for customer, (currency, amounts) in CUSTOMERS.items():
        for number in range(events_per_customer):
            at = BASE_TIME + timedelta(minutes=rng.randrange(0, 8 * 60), seconds=rng.randrange(60))
            event = {
                "idempotent_key": f"{customer}-evt-{number:04d}",
                "customer_id": customer,
                "amount": rng.choice(amounts),
                "currency": currency,
                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "usage_description": f"{rng.randrange(1, 5000)} API calls",
            }
            if customer == "cust_acme":
                event["entitlement_id"] = "ent_api_calls"
                event["amount"] = rng.choice(["4.99", "7.25", "12.00"])  # overruns the 200.00 cap
            if number % 7 == 3:
                event["amount"] = json.loads(event["amount"]) if currency != "JPY" else int(event["amount"])
            line = json.dumps(event, ensure_ascii=False).encode()
            lines.append(line)
            originals.append(line)
    # Producer retries: the same event again, byte for byte or with its fields reordered.
    for line in rng.sample(originals, 8):
        lines.append(line)
    reordered = json.loads(originals[5])
    lines.append(json.dumps(dict(reversed(list(reordered.items())))).encode())
    # The same idempotency key with a different payload: a conflict, the first one stands.
    conflicting = json.loads(originals[45])
    conflicting["amount"] = "99.00"
    lines.append(json.dumps(conflicting).encode())
    lines.extend(MALFORMED)
    rng.shuffle(lines)
    # The conflict must come after its original in the file: "the first one stands".
    first = lines.index(originals[45])
    conflict = lines.index(json.dumps(conflicting).encode())
    if conflict < first:
        lines[first], lines[conflict] = lines[conflict], lines[first]
    return lines


def write_sample(path: str, events_per_customer: int = 40) -> int:
    """Write the sample whole (a demo running meanwhile on the same home may be reading it)."""
    lines = sample_events(events_per_customer)
    write_atomically(Path(path), b"\n".join(lines) + b"\n", mode=0o644)
    return len(lines)
