"""The genuine chains of the shared vectors: several customers, currencies with 0, 2 and 3
minor digits, an entitlement that rejects, a key rotation, and hostile producer text, all in
receipt contract v1 (as issued before credit notes); and in v2, a chain of charges and credits
(every refusal of a credit among them) and one that starts in v1 and goes on in v2."""

from functools import cache

from receipts.ledger import Entitlement
from tests.vectors.forge import Charge, Receipt, chain

HOSTILE_TEXT = [
    "invoice \u202egnp.exe\u202c for you",  # right-to-left override, then pop
    "\u2066isolated\u2069 and \u2067rtl isolate\u2069",
    "line\u2028separator and paragraph\u2029separator",
    "zero\u200bwidth\u200djoiner\u2060word joiner\ufeffbom",
    "\x1b[31mred\x1b[0m\rcarriage return\x07bell\x7fdel\x85nel",
    "</script><img src=x onerror=alert(1)>&amp;",
    "שלום 12.00 USD עולם",  # right-to-left letters next to numbers
    "Ïñtërnâtiônàl — ☃ 𝄞 😀 e\u0301",
    "tags\U000e0041\U000e007f and soft\u00adhyphen",
]


def credit(key: str, amount: str, corrects: str, currency: str = "USD", hour: int = 12) -> Charge:
    return Charge(key, amount, currency, f"2026-01-26T{hour:02d}:00:00Z", kind="credit", corrects=corrects)


@cache
def credit_chains() -> dict[str, list[Receipt]]:
    """Contract v2: credits accepted and refused for each reason, the quota given back."""
    api = Entitlement("cust_credit", "ent_api", 1000, "USD")  # 10.00 USD
    return {
        "cust_credit": chain(
            "cust_credit",
            [
                Charge("c-1", "6.00", entitlement="ent_api", description="API calls, January"),
                Charge("c-2", "3.00", timestamp="2026-01-25T11:00:00Z"),
                credit("cr-1", "2.00", "c-1", hour=1),  # balance 7.00, quota 6.00 again
                credit("cr-2", "5.00", "c-1", hour=2),  # credit_exceeds_charge: 2.00 + 5.00 > 6.00
                credit("cr-3", "4.00", "c-1", hour=3),  # 2.00 + 4.00 = 6.00: the whole charge
                credit("cr-4", "1.00", "cr-1", hour=4),  # not_a_charge
                credit("cr-5", "1.00", "no-such-event", hour=5),  # unknown_receipt
                credit("cr-6", "1.00", "c-2", "EUR", hour=6),  # currency_mismatch
                Charge("c-3", "11.00", entitlement="ent_api", timestamp="2026-01-26T07:00:00Z"),  # over the cap
                credit("cr-7", "1.00", "c-3", hour=8),  # unknown_receipt: a rejected charge charged nothing
                Charge("c-4", "1.00", "EUR", "2026-01-26T09:00:00Z", kind="charge"),  # "type" given
            ],
            {"ent_api": api},
        ),
        "cust_upgrade": chain(
            "cust_upgrade",
            [
                Charge("u-1", "100", "JPY", "2026-01-20T00:00:00Z", v1=True),
                Charge("u-2", "250", "JPY", "2026-01-21T00:00:00Z", v1=True),
                Charge("u-3", "50", "JPY", "2026-01-22T00:00:00Z"),  # the first v2 receipt
                credit("u-4", "200", "u-2", "JPY"),  # a v2 credit of a v1 charge
            ],
        ),
    }


@cache
def chains() -> dict[str, list[Receipt]]:
    api = Entitlement("acme", "ent_api", 1000, "USD")  # 10.00 USD
    return {
        "acme": chain(
            "acme",
            [
                Charge("acme-1", "4.00", entitlement="ent_api", description="API calls, January"),
                Charge("acme-2", "5", entitlement="ent_api", timestamp="2026-01-25T11:30:45.500+01:00"),
                Charge("acme-3", "3.00", entitlement="ent_api", timestamp="2026-01-25T11:00:00Z"),  # over the cap
                Charge("acme-4", "1.00", entitlement="ent_api", timestamp="2026-01-25T12:00:00Z"),
                Charge("acme-5", "12.00", entitlement="ent_api", timestamp="2026-01-25T13:00:00Z"),  # over the cap
                Charge("acme-6", "7.50", "EUR", "2026-01-25T14:00:00Z", "ent_api"),  # not the cap's currency
                Charge("acme-7", "2.25", "EUR", "2026-01-25T15:00:00Z"),
            ],
            {"ent_api": api},
            version=1,
        ),
        "cust_jpy": chain(
            "cust_jpy",
            [
                Charge(f"jpy-{n}", amount, "JPY", f"2026-01-2{n}T00:00:00Z")
                for n, amount in enumerate(["1200", "5", "300"])
            ],
            version=1,
        ),
        "cust_bhd": chain(
            "cust_bhd",
            [
                Charge(f"bhd-{n}", amount, "BHD", f"2026-01-2{n}T08:00:00-05:30")
                for n, amount in enumerate(["0.125", "1.5", "20.005"])
            ],
            version=1,
        ),
        "cust_text": chain(
            "cust_text",
            [
                Charge(key, "1.00", timestamp=f"2026-01-25T10:{n:02d}:00Z", description=text)
                for n, (key, text) in enumerate(
                    zip(
                        ["مفتاح-١", "key with spaces", "ключ/№5", "emoji-😀", "a" * 255, "t-6", "t-7", "t-8", "t-9"],
                        HOSTILE_TEXT,
                        strict=True,
                    )
                )
            ],
            version=1,
        ),
        "cust_rot": chain(
            "cust_rot",
            [
                Charge("rot-1", "10.00", "GBP", "2026-01-01T00:00:00Z", signed_by="retired"),
                Charge("rot-2", "20.00", "GBP", "2026-01-02T00:00:00Z", signed_by="retired"),
                Charge("rot-3", "30.00", "GBP", "2026-01-03T00:00:00Z"),  # after the rotation
            ],
            version=1,
        ),
        "7": chain("7", [Charge("seven-1", "1.00"), Charge("seven-2", "2.00")], version=1),
    }


def interleaved() -> list[Receipt]:
    """Every genuine receipt, customers taking turns, each customer's in chain order."""
    lists = [list(receipts) for receipts in chains().values()]
    out = []
    while any(lists):
        for receipts in lists:
            if receipts:
                out.append(receipts.pop(0))
    return out
