"""Every vector: a name, what it shows, the input as the text a person pastes (raw lines, so
duplicate member names and hand-written JSON survive), and the checks expected to fail.

`fails` maps a result's position (among the receipts read, in input order) to the checks
that must fail for it; every other result must pass. `unreadable` lists the input lines
(or array items) that must be refused before any check runs.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from receipts.canonical import ZERO_HASH, canonical_bytes
from receipts.jws import b64url
from receipts.verify import BALANCE, CANONICAL, CHAIN_LINK, CONTRACT, FORMAT, HASH, IDEMPOTENCY, SEQUENCE, SIGNATURE
from tests.vectors.forge import (
    WRONG_KID,
    Receipt,
    body_of,
    exported,
    header,
    jws,
    line,
    member_text,
    rederive,
    resign,
    signed_payload,
    signer,
    with_member,
)
from tests.vectors.genuine import chains, credit_chains, interleaved


@dataclass(frozen=True)
class Case:
    name: str
    about: str
    lines: list[Receipt | str] = field(default_factory=list)
    text: str | None = None  # the whole input, when it is not one receipt a line
    fails: dict[int, list[str]] = field(default_factory=dict)
    unreadable: list[int] = field(default_factory=list)

    @property
    def input(self) -> str:
        return self.text if self.text is not None else "".join(line(record) + "\n" for record in self.lines)


def tamper(receipt: Receipt, **fields: Any) -> Receipt:
    return {**receipt, **fields}


def token_parts(receipt: Receipt) -> list[str]:
    return receipt["signature"].split(".")


def with_token(receipt: Receipt, parts: list[str]) -> Receipt:
    return {**receipt, "signature": ".".join(parts)}


def payload_case(name: str, about: str, payload: bytes, body: dict[str, Any], fails: list[str]) -> Case:
    """`payload` validly signed by the current key, exported with `body`."""
    return Case(name, about, [signed_payload(body, payload)], fails={0: fails})


def genuine_cases() -> list[Case]:
    c = chains()
    pretty = dict(reversed(list(c["cust_bhd"][0].items())))
    return [
        Case("genuine/interleaved", "every genuine chain, customers taking turns", interleaved()),
        Case("genuine/segment", "a segment starting at sequence 3: its first link cannot be checked", c["acme"][2:6]),
        Case(
            "genuine/array",
            "a JSON array, as an API answer holds it",
            text=json.dumps(c["cust_jpy"], ensure_ascii=False),
        ),
        Case(
            "genuine/pretty-object",
            "one pretty-printed receipt, members in another order",
            text=json.dumps(pretty, ensure_ascii=False, indent=2),
        ),
        Case(
            "genuine/crlf-bom-blank-lines",
            "a byte order mark, CRLF line ends and blank lines",
            text="\ufeff" + "\r\n\r\n".join(line(r) for r in c["cust_rot"]) + "\r\n  \r\n",
        ),
        Case(
            "genuine/exported-one-point-zero",
            "an exported 1.0 where 1 was signed is the same JSON number",
            [line(c["cust_jpy"][0]).replace('"sequence":1,', '"sequence":1.0,')],
        ),
    ]


def unreadable_cases() -> list[Case]:
    c = chains()
    first, second = c["cust_jpy"][0], c["cust_jpy"][1]
    exported_text = line(c["acme"][1])
    return [
        Case(
            "unreadable/lines",
            "lines that are not receipts are named by number; the others are still checked",
            [first, "not json", "5", "[1]", "", '{"a":1,}', second],
            unreadable=[2, 3, 4, 6],
        ),
        Case(
            "unreadable/duplicate-member-exported",
            'the exported JSON names "amount" twice: a person reads the first, a parser may keep the last',
            [with_member(exported_text, member_text("amount", "0.01"), first=False)],
            unreadable=[1],
        ),
        Case(
            "unreadable/duplicate-member-nested",
            "a duplicate member inside a nested object",
            [with_member(exported_text, '"extra":{"a":1,"a":2}')],
            unreadable=[1],
        ),
        Case(
            "unreadable/array-items",
            "array items that are not objects",
            text="[" + line(first) + ',5,"x",null]',
            fails={},
            unreadable=[2, 3, 4],
        ),
        Case("unreadable/bad-array", "an array that is not JSON", text="[" + line(first) + ",]", unreadable=[1]),
        Case(
            "unreadable/integer-too-long",
            "an integer of 4301 digits (Python refuses it; a browser must not round it)",
            [exported_text.replace('"sequence":2,', '"sequence":' + "9" * 4301 + ",")],
            unreadable=[1],
        ),
        Case(
            "unreadable/nan",
            "NaN is not JSON",
            [exported_text.replace('"sequence":2,', '"sequence":NaN,')],
            unreadable=[1],
        ),
        Case(
            "unreadable/line-separator-outside-a-string",
            "U+2028 between members is not JSON whitespace; inside strings it is text (genuine/interleaved)",
            [exported_text.replace(',"sequence"', ',\u2028"sequence"')],
            unreadable=[1],
        ),
        Case(
            "unreadable/raw-control-in-string",
            "a raw tab inside a string",
            [exported_text.replace('"currency":"USD"', '"currency":"US\tD"')],
            unreadable=[1],
        ),
    ]


def export_cases() -> list[Case]:
    r = chains()["acme"][1]
    text = line(r)
    without = {name: value for name, value in r.items() if name != "quota_remaining"}
    return [
        Case(
            "export/amount-edited",
            "the exported amount differs from the signed one",
            [tamper(r, amount="0.01")],
            fails={0: [CANONICAL]},
        ),
        Case(
            "export/field-added",
            "an exported field the signature does not cover",
            [tamper(r, discount="1.00")],
            fails={0: [CANONICAL]},
        ),
        Case("export/field-removed", "a signed field left out of the export", [without], fails={0: [CANONICAL]}),
        Case("export/empty-name", 'an extra member named ""', [tamper(r, **{"": "x"})], fails={0: [CANONICAL]}),
        Case(
            "export/number-for-string",
            'the number 5.0 is not the string "5.00" the body signed',
            [tamper(r, amount=5.0)],
            fails={0: [CANONICAL]},
        ),
        Case(
            "export/__proto__",
            "a __proto__ member in the exported text is a member like any other, not a prototype",
            [with_member(text, '"__proto__":{"amount":"0.01","receipt_hash":"x"}')],
            fails={0: [CANONICAL]},
        ),
        Case(
            "export/inherited-names",
            "members named like inherited properties (constructor, toString) are members",
            [with_member(text, '"constructor":"x","toString":"y"')],
            fails={0: [CANONICAL]},
        ),
        Case(
            "export/hash-missing",
            "no receipt_hash",
            [{n: v for n, v in r.items() if n != "receipt_hash"}],
            fails={0: [HASH]},
        ),
        Case(
            "export/signature-missing",
            "no signature",
            [{n: v for n, v in r.items() if n != "signature"}],
            fails={0: [FORMAT]},
        ),
        Case("export/signature-number", "a number for the JWS", [tamper(r, signature=5)], fails={0: [FORMAT]}),
        Case(
            "export/big-integer",
            "an exported integer past 2^53: kept exact, it differs from the signed sequence",
            [tamper(r, sequence=2**53 + 1)],
            fails={0: [CANONICAL]},
        ),
        Case(
            "export/big-integer-rounds-to-signed",
            "18014398509481985 rounds to a double a float parser would call equal to 18014398509481984",
            [tamper(r, quota_remaining=2**54 + 1)],
            fails={0: [CANONICAL]},
        ),
        Case(
            "export/lone-surrogate",
            "a lone surrogate in an exported field",
            [tamper(r, usage_description="\ud800")],
            fails={0: [CANONICAL]},
        ),
        Case(
            "export/infinite",
            "1e400 is read as infinity, which no receipt holds",
            [text.replace('"sequence":2,', '"sequence":1e400,')],
            fails={0: [CANONICAL]},
        ),
    ]


def signature_cases() -> list[Case]:
    c = chains()
    r = c["acme"][1]
    body = body_of(r)
    parts = token_parts(r)
    edited = rederive({**body, "amount": "0.01"})
    flipped = bytearray(base64url_bytes(parts[2]))
    flipped[100] ^= 0x01
    foreign = signer("foreign")
    hs256 = __import__("hmac").new(b"secret", f"{b64url(b'{}')}".encode(), "sha256").digest()
    alg_none = b64url(json.dumps({"alg": "none", "kid": body["kid"], "typ": "receipt+jws"}).encode())
    return [
        Case(
            "signature/payload-edited",
            "a re-encoded payload under the old signature",
            [exported(edited, f"{parts[0]}.{b64url(canonical_bytes(edited))}.{parts[2]}")],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "signature/bytes-edited",
            "one bit of the signature flipped",
            [with_token(r, [parts[0], parts[1], b64url(bytes(flipped))])],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "key/foreign",
            "signed by a key that is in no JWKS",
            [resign({**body, "kid": foreign.kid}, "foreign")],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "key/foreign-claims-our-kid",
            "a foreign key's signature under our kid",
            [resign(body, "foreign", kid=body["kid"])],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "key/kid-not-thumbprint",
            "the JWKS publishes this key under a kid that is not its RFC 7638 thumbprint",
            [resign({**body, "kid": WRONG_KID}, "wrong_kid", kid=WRONG_KID)],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "key/short",
            "a 1024-bit key in the JWKS is not trusted",
            [resign({**body, "kid": signer("short").kid}, "short")],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "key/leaked",
            "a JWKS entry with private members is compromised",
            [resign({**body, "kid": signer("leaked").kid}, "leaked")],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "header/alg-none-empty-signature",
            "alg none and no signature",
            [with_token(r, [alg_none, parts[1], ""])],
            fails={0: [FORMAT]},
        ),
        Case(
            "header/alg-none",
            "alg none with some signature",
            [exported(body, jws({**header(body["kid"]), "alg": "none"}, canonical_bytes(body)))],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "header/hs256",
            "HS256 with a shared secret",
            [
                with_token(
                    r, [b64url(json.dumps({**header(body["kid"]), "alg": "HS256"}).encode()), parts[1], b64url(hs256)]
                )
            ],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "header/typ-jwt",
            "typ JWT",
            [exported(body, jws({**header(body["kid"]), "typ": "JWT"}, canonical_bytes(body)))],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "header/typ-missing",
            "no typ",
            [exported(body, jws({"alg": "RS256", "kid": body["kid"]}, canonical_bytes(body)))],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "header/extra-parameter",
            "a jku the verifier would have to follow",
            [exported(body, jws({**header(body["kid"]), "jku": "https://evil.example/jwks"}, canonical_bytes(body)))],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "header/__proto__",
            "a __proto__ header parameter",
            [
                exported(
                    body,
                    jws(
                        b'{"__proto__":{"alg":"none"},"alg":"RS256","kid":"%s","typ":"receipt+jws"}'
                        % body["kid"].encode(),
                        canonical_bytes(body),
                    ),
                )
            ],
            fails={0: [SIGNATURE]},
        ),
        Case(
            "header/kid-missing",
            "no kid: nothing to check with, and the body's kid is not the header's",
            [exported(body, jws({"alg": "RS256", "typ": "receipt+jws"}, canonical_bytes(body)))],
            fails={0: [SIGNATURE, CONTRACT]},
        ),
        Case(
            "header/kid-number",
            "a number for the kid",
            [exported(body, jws({**header(body["kid"]), "kid": 5}, canonical_bytes(body)))],
            fails={0: [SIGNATURE, CONTRACT]},
        ),
        Case(
            "header/not-an-object",
            "a header that is a JSON array",
            [exported(body, jws(b"[1]", canonical_bytes(body)))],
            fails={0: [SIGNATURE, CONTRACT]},
        ),
        Case(
            "header/duplicate-alg",
            "alg none, then alg RS256",
            [
                exported(
                    body,
                    jws(
                        b'{"alg":"none","alg":"RS256","kid":"%s","typ":"receipt+jws"}' % body["kid"].encode(),
                        canonical_bytes(body),
                    ),
                )
            ],
            fails={0: [FORMAT]},
        ),
        Case(
            "header/byte-order-mark",
            "a UTF-8 byte order mark before the header",
            [exported(body, jws(b"\xef\xbb\xbf" + canonical_bytes(header(body["kid"])), canonical_bytes(body)))],
            fails={0: [FORMAT]},
        ),
        Case(
            "header/utf-16",
            "a UTF-16 header (RFC 7515 says UTF-8)",
            [exported(body, jws(json.dumps(header(body["kid"])).encode("utf-16-le"), canonical_bytes(body)))],
            fails={0: [FORMAT]},
        ),
        Case(
            "header/not-json",
            "a header that is not JSON",
            [with_token(r, [b64url(b"{alg"), parts[1], parts[2]])],
            fails={0: [FORMAT]},
        ),
        Case(
            "format/padded",
            "base64url with padding",
            [with_token(r, [parts[0] + "=" * (-len(parts[0]) % 4 or 4), parts[1], parts[2]])],
            fails={0: [FORMAT]},
        ),
        Case(
            "format/standard-alphabet",
            "+ and / instead of - and _",
            [with_token(r, [parts[0], parts[1], parts[2].replace("-", "+").replace("_", "/")])]
            if {"-", "_"} & set(parts[2])
            else [],
            fails={0: [FORMAT]},
        ),
        Case(
            "format/trailing-bits",
            "unused bits set in the last base64url character",
            [with_token(r, [parts[0], parts[1], parts[2][:-1] + sibling(parts[2][-1])])],
            fails={0: [FORMAT]},
        ),
        Case("format/two-parts", "two parts", [tamper(r, signature=f"{parts[0]}.{parts[1]}")], fails={0: [FORMAT]}),
        Case(
            "format/non-ascii",
            "a non-ASCII character in the JWS",
            [tamper(r, signature=r["signature"] + "é")],
            fails={0: [FORMAT]},
        ),
    ]


def base64url_bytes(text: str) -> bytes:
    from receipts.jws import b64url_decode

    return b64url_decode(text)


def sibling(character: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return alphabet[alphabet.index(character) ^ 0x01]


def canonical_payload_cases() -> list[Case]:
    r = chains()["acme"][1]
    body = body_of(r)
    canonical = canonical_bytes(body)
    separator = body_of(chains()["cust_text"][2])  # "line\u2028separator ..."
    solidus = rederive({**body, "usage_description": "a/b é \x1f"})
    solidus_bytes = canonical_bytes(solidus)
    proto = {**body, "__proto__": "x"}
    return [
        payload_case(
            "payload/whitespace", "spaces after , and :", json.dumps(body, sort_keys=True).encode(), body, [CANONICAL]
        ),
        payload_case(
            "payload/key-order",
            "members not in RFC 8785 order",
            json.dumps(dict(reversed(list(body.items()))), separators=(",", ":")).encode(),
            body,
            [CANONICAL],
        ),
        payload_case(
            "payload/one-point-zero", '"v":1.0 for "v":1', canonical.replace(b'"v":1', b'"v":1.0'), body, [CANONICAL]
        ),
        payload_case(
            "payload/exponent", '"v":1e0 for "v":1', canonical.replace(b'"v":1', b'"v":1e0'), body, [CANONICAL]
        ),
        payload_case(
            "payload/negative-zero",
            '"sequence":-0',
            canonical.replace(b'"sequence":2', b'"sequence":-0'),
            {**body, "sequence": 0},
            [CANONICAL],
        ),
        payload_case(
            "payload/escaped-ascii",
            "\\u0041-style escapes for plain letters",
            canonical.replace(b'"USD"', b'"\\u0055SD"'),
            body,
            [CANONICAL],
        ),
        payload_case(
            "payload/escaped-solidus", "\\/ for /", solidus_bytes.replace(b"a/b", b"a\\/b"), solidus, [CANONICAL]
        ),
        payload_case(
            "payload/escaped-non-ascii",
            "\\u00e9 for é",
            solidus_bytes.replace("é".encode(), b"\\u00e9"),
            solidus,
            [CANONICAL],
        ),
        payload_case(
            "payload/upper-case-escape",
            "\\u001F for \\u001f",
            solidus_bytes.replace(b"\\u001f", b"\\u001F"),
            solidus,
            [CANONICAL],
        ),
        payload_case(
            "payload/escaped-line-separator",
            "\\u2028 escaped, where RFC 8785 writes it raw",
            canonical_bytes(separator).replace("\u2028".encode(), b"\\u2028"),
            separator,
            [CANONICAL],
        ),
        payload_case("payload/trailing-newline", "a newline after the object", canonical + b"\n", body, [CANONICAL]),
        payload_case(
            "payload/byte-order-mark", "a byte order mark first", b"\xef\xbb\xbf" + canonical, body, [CANONICAL]
        ),
        payload_case(
            "payload/duplicate-member",
            '"amount" twice, validly signed',
            b'{"amount":"0.01",' + canonical[1:],
            body,
            [CANONICAL],
        ),
        payload_case(
            "payload/big-integer",
            "an integer past 2^53 has no I-JSON form",
            canonical.replace(b'"sequence":2', b'"sequence":9007199254740993'),
            body,
            [CANONICAL],
        ),
        payload_case(
            "payload/lone-surrogate-escape",
            "a lone surrogate escape cannot be serialized",
            canonical.replace(b'"usage_description":null', b'"usage_description":"\\ud800"'),
            body,
            [CANONICAL],
        ),
        payload_case(
            "payload/surrogate-bytes",
            "UTF-8 bytes of a surrogate are not UTF-8",
            canonical.replace(b'"usage_description":null', b'"usage_description":"\xed\xa0\x80"'),
            body,
            [CANONICAL],
        ),
        payload_case("payload/not-utf-8", "a 0xff byte", canonical.replace(b'"USD"', b'"US\xff"'), body, [CANONICAL]),
        payload_case("payload/nan", "NaN", canonical.replace(b'"sequence":2', b'"sequence":NaN'), body, [CANONICAL]),
        payload_case("payload/array", "a payload that is an array", b"[1]", body, [CANONICAL]),
        payload_case("payload/utf-16", "a UTF-16 payload", json.dumps(body).encode("utf-16"), body, [CANONICAL]),
        Case(
            "payload/__proto__-signed",
            "a validly signed __proto__ member is an unexpected field",
            [resign(proto)],
            fails={0: [CONTRACT]},
        ),
        Case(
            "payload/__proto__-signed-object",
            "a signed __proto__ object member",
            [resign({**body, "__proto__": {"status": "accepted"}})],
            fails={0: [CONTRACT]},
        ),
        payload_case(
            "payload/float-amount",
            "a JSON number for the amount, canonical but against the contract",
            canonical_bytes({**body, "amount": 5.5}),
            {**body, "amount": 5.5},
            [CONTRACT],
        ),
    ]


def hash_cases() -> list[Case]:
    r = chains()["acme"][1]
    return [
        Case(
            "hash/edited",
            "receipt_hash of another receipt",
            [tamper(r, receipt_hash=chains()["acme"][0]["receipt_hash"])],
            fails={0: [HASH]},
        ),
        Case(
            "hash/upper-case",
            "the right hash in upper case",
            [tamper(r, receipt_hash=r["receipt_hash"].upper())],
            fails={0: [HASH]},
        ),
        Case("hash/number", "a number for the hash", [tamper(r, receipt_hash=5)], fails={0: [HASH]}),
    ]


CONTRACT_EDITS: list[tuple[str, dict[str, Any], bool]] = [
    # (name, edited body fields, rederive receipt_id and event_sha256 after the edit)
    ("amount-minor-digits", {"amount": "5.0"}, True),
    ("amount-too-many-digits", {"amount": "5.001"}, False),
    ("amount-zero", {"amount": "0.00"}, False),
    ("amount-exponent", {"amount": "5e0"}, False),
    ("amount-leading-zero", {"amount": "05.00"}, False),
    ("receipt-id-not-derived", {"receipt_id": "r_" + "a" * 26}, False),
    ("event-sha256-wrong", {"event_sha256": "0" * 64}, False),
    ("event-timestamp-not-utc", {"event_timestamp": "2026-01-25T11:30:45.5+01:00"}, False),
    ("event-timestamp-trailing-zero", {"event_timestamp": "2026-01-25T10:30:45.50Z"}, False),
    ("event-timestamp-no-such-day", {"event_timestamp": "2026-02-30T00:00:00Z"}, False),
    ("event-timestamp-leap-second", {"event_timestamp": "2026-06-30T23:59:60Z"}, False),
    ("event-timestamp-year-zero", {"event_timestamp": "0000-01-01T00:00:00Z"}, False),
    ("event-timestamp-offset-24h", {"event_timestamp": "2026-01-25T10:00:00+24:00"}, False),
    ("event-timestamp-overflow", {"event_timestamp": "0001-01-01T00:00:00+01:00"}, False),
    ("event-timestamp-unicode-digits", {"event_timestamp": "２０２６-01-25T10:00:00Z"}, False),
    ("processed-at-not-utc", {"processed_at": "2026-02-01T10:00:00+01:00"}, False),
    ("v-2", {"v": 2}, False),
    ("v-true", {"v": True}, False),
    ("status-pending", {"status": "pending"}, False),
    ("reason-on-accepted", {"reason": "quota_exceeded"}, False),
    ("rejected-without-reason", {"status": "rejected"}, False),
    ("reason-number", {"status": "rejected", "reason": 5}, False),
    ("quota-remaining-number", {"quota_remaining": 1}, False),
    ("quota-remaining-text", {"quota_remaining": "plenty"}, False),
    ("balance-minor-digits", {"balance_after": "9.0"}, False),
    ("kid-body-not-header", {"kid": "k_someone_else"}, False),
    ("sequence-zero", {"sequence": 0}, False),
    ("previous-hash-upper-case", {"previous_receipt_hash": "A" * 64}, False),
    ("later-sequence-zero-previous", {"previous_receipt_hash": ZERO_HASH}, False),
    ("idempotent-key-escape", {"idempotent_key": "key\x1b[2J"}, True),
    ("idempotent-key-bidi-override", {"idempotent_key": "key\u202e1"}, True),
    ("idempotent-key-unicode-15", {"idempotent_key": "key\U0001fae8"}, True),  # assigned after Python 3.11's Unicode 14
    ("idempotent-key-too-long", {"idempotent_key": "k" * 256}, True),
    ("idempotent-key-empty", {"idempotent_key": ""}, True),
    ("customer-id-space", {"customer_id": "acme corp"}, True),
    ("customer-id-number", {"customer_id": 7}, False),
    ("currency-lower-case", {"currency": "usd"}, True),
    ("currency-no-minor-units", {"currency": "XAU"}, True),
    ("entitlement-id-slash", {"entitlement_id": "ent/api"}, True),
    ("usage-description-too-long", {"usage_description": "x" * 1025}, True),
    ("usage-description-number", {"usage_description": 5}, False),
    ("missing-field", {"balance_after": None}, False),  # None: the field is left out
    ("unexpected-field", {"discount": "1.00"}, False),
]


def contract_cases() -> list[Case]:
    body = body_of(chains()["acme"][1])
    cases = []
    for name, edits, derive in CONTRACT_EDITS:
        edited = {**body, **{k: v for k, v in edits.items() if v is not None}}
        edited = {k: v for k, v in edited.items() if k not in edits or edits[k] is not None}
        if derive:
            edited = rederive(edited, strict=False)
        cases.append(
            Case(
                f"contract/{name}",
                f"validly signed, but {name.replace('-', ' ')}",
                [resign(edited)],
                fails={0: [CONTRACT]},
            )
        )
    return cases


def chain_cases() -> list[Case]:
    c = chains()
    acme, yen, dinar, seven = c["acme"], c["cust_jpy"], c["cust_bhd"], c["7"]
    skipped = resign({**body_of(acme[2]), "sequence": 4})
    relinked = resign({**body_of(acme[2]), "previous_receipt_hash": acme[0]["receipt_hash"]})
    rebalanced = resign({**body_of(acme[3]), "balance_after": "10.01"})
    charged = resign({**body_of(acme[2]), "balance_after": "12.00"})  # a rejected receipt that charged
    reused = resign(rederive({**body_of(yen[2]), "idempotent_key": yen[0]["idempotent_key"]}))
    true_first = resign({**body_of(seven[0]), "sequence": True})
    number_customer = resign({**body_of(seven[0]), "customer_id": 7})
    float_first = resign({**body_of(seven[0]), "sequence": 1.5})
    huge_first = resign({**body_of(seven[0]), "sequence": 1e21})
    headless = resign({k: v for k, v in body_of(seven[0]).items() if k != "sequence"}, "foreign")
    return [
        Case(
            "chain/swapped",
            "two receipts in the wrong order",
            [dinar[0], dinar[2], dinar[1]],
            fails={1: [SEQUENCE, CHAIN_LINK, BALANCE], 2: [SEQUENCE, CHAIN_LINK, BALANCE]},
        ),
        Case(
            "chain/missing",
            "a receipt taken out of the middle",
            [acme[0], acme[1], acme[3], acme[4]],
            fails={2: [SEQUENCE, CHAIN_LINK]},
        ),
        Case(
            "chain/duplicated",
            "the same receipt twice",
            [yen[0], yen[1], yen[1], yen[2]],
            fails={2: [IDEMPOTENCY, SEQUENCE, CHAIN_LINK, BALANCE]},
        ),
        Case(
            "chain/sequence-skipped-signed",
            "validly signed, numbered 4 after 2",
            [acme[0], acme[1], skipped],
            fails={2: [SEQUENCE]},
        ),
        Case(
            "chain/link-broken-signed",
            "validly signed, linked to receipt 1 instead of 2",
            [acme[0], acme[1], relinked],
            fails={2: [CHAIN_LINK]},
        ),
        Case("chain/balance-signed", "validly signed, one cent more", [*acme[:3], rebalanced], fails={3: [BALANCE]}),
        Case(
            "chain/rejected-but-charged",
            "a rejected receipt whose balance moved",
            [acme[0], acme[1], charged],
            fails={2: [BALANCE]},
        ),
        Case(
            "chain/idempotency-signed",
            "validly signed, a key charged twice",
            [yen[0], yen[1], reused],
            fails={2: [IDEMPOTENCY]},
        ),
        Case(
            "chain/foreign-receipt-mixed-in",
            "a foreign key's receipt in the middle",
            [acme[0], resign({**body_of(acme[1]), "kid": signer("foreign").kid}, "foreign"), acme[2]],
            fails={1: [SIGNATURE], 2: [CHAIN_LINK]},
        ),
        Case(
            "chain/sequence-true",
            "true == 1 in Python: the chain starts, the next cannot follow it",
            [true_first, seven[1]],
            fails={0: [CONTRACT], 1: [SEQUENCE, CHAIN_LINK]},
        ),
        Case(
            "chain/customer-number",
            'customer 7 and customer "7" are one chain to the verifier',
            [number_customer, seven[1]],
            fails={0: [CONTRACT], 1: [CHAIN_LINK]},
        ),
        Case(
            "chain/sequence-float",
            "sequence 1.5, then 2",
            [float_first, seven[1]],
            fails={0: [CONTRACT], 1: [SEQUENCE, CHAIN_LINK]},
        ),
        Case(
            "chain/sequence-1e21",
            "sequence 1e+21, then 2",
            [huge_first, seven[1]],
            fails={0: [CONTRACT], 1: [SEQUENCE, CHAIN_LINK]},
        ),
        Case(
            "chain/after-a-body-without-sequence",
            "anyone can sign a body without a sequence and paste it first: the next receipt is checked, no crash",
            [headless, seven[1]],
            fails={0: [SIGNATURE, CONTRACT], 1: [SEQUENCE, CHAIN_LINK]},
        ),
    ]


def credit_cases() -> list[Case]:
    """Receipt contract v2: credit notes, and v1 and v2 receipts in one chain."""
    c, upgrade = credit_chains()["cust_credit"], credit_chains()["cust_upgrade"]
    credit, charge = c[2], c[1]  # cr-1 corrects c-1; c-2 is a v2 charge
    body = body_of(credit)
    other = c[1]["receipt_id"]
    return [
        Case("credit/genuine", "charges and credits: each refusal of a credit, quota given back", c),
        Case("credit/upgrade", "a chain in v1, then v2: a v2 credit of a v1 charge", upgrade),
        Case("credit/v1-and-v2-segment", "a segment across the upgrade", upgrade[1:]),
        Case(
            "credit/type-edited",
            "a credit's type edited in the export",
            [*c[:2], tamper(credit, type="charge"), *c[3:5]],
            fails={2: [CANONICAL]},
        ),
        Case(
            "credit/corrects-edited",
            "a credit's corrects edited in the export",
            [tamper(credit, corrects=other)],
            fails={0: [CANONICAL]},
        ),
        Case(
            "credit/turned-into-a-charge-signed",
            "validly signed as a charge (corrects null): event_sha256 and the balance give it away",
            [*c[:2], resign({**body, "type": "charge", "corrects": None})],
            fails={2: [CONTRACT, BALANCE]},
        ),
        Case(
            "credit/type-charge-with-corrects-signed",
            "validly signed, type charge but corrects a receipt",
            [resign({**body, "type": "charge"})],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/corrects-other-signed",
            "validly signed, corrects another receipt: event_sha256 covers corrects",
            [resign({**body, "corrects": other})],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/corrects-rederived-signed",
            "validly signed with a new receipt_id and event_sha256 for the edited corrects: the contract holds, "
            "and the balance does not",
            [*c[:2], resign(rederive({**body, "corrects": other, "amount": "3.00"}))],
            fails={2: [BALANCE]},
        ),
        Case(
            "credit/corrects-not-an-id",
            "validly signed, corrects is no receipt id",
            [resign({**body, "corrects": "r_x"})],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/corrects-missing-signed",
            "validly signed credit without corrects",
            [resign({**body, "corrects": None})],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/type-refund",
            "validly signed, type refund",
            [resign({**body, "type": "refund"})],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/entitlement-on-credit",
            "validly signed, re-derived credit naming an entitlement",
            [resign(rederive({**body, "entitlement_id": "ent_api"}, strict=False))],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/balance-up-signed",
            "validly signed credit whose balance went up",
            [*c[:2], resign({**body, "balance_after": "11.00"})],
            fails={2: [BALANCE]},
        ),
        Case(
            "credit/v1-with-type",
            "validly signed v1 body carrying v2 fields",
            [resign({**body_of(charge), "v": 1})],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/v2-without-type",
            "validly signed v2 body without type and corrects",
            [resign({k: v for k, v in body_of(charge).items() if k not in ("type", "corrects")})],
            fails={0: [CONTRACT]},
        ),
        Case(
            "credit/v-string",
            'validly signed, v "2"',
            [resign({**body_of(charge), "v": "2"})],
            fails={0: [CONTRACT]},
        ),
    ]


def all_cases() -> list[Case]:
    return [
        *genuine_cases(),
        *unreadable_cases(),
        *export_cases(),
        *signature_cases(),
        *canonical_payload_cases(),
        *hash_cases(),
        *contract_cases(),
        *chain_cases(),
        *credit_cases(),
    ]
