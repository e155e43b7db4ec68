"""The evidence bundle's steps: what an auditor runs in the unzipped folder with a POSIX
shell and openssl alone (sed, awk, tr, od, cut, cmp, grep, tail, wc; no python, jq, xxd or
base64 command). verify.sh is these steps in order; each stops with a message naming what
failed, and the last prints `evidence OK: …` only when every one held.

Only the issuer's statement (step 2) holds values of this receipt; every other command is
the same for all bundles and checks the files against that statement and each other.
The files are read in the layouts evidence.py writes (receipt.json: RFC 8785, one line;
jwks.json: one key per line; chain.json: one entry per line); any other layout fails.
"""

import shlex
from typing import Any

from verifier_site.evidence_shell import CHECK_HASH, CHECK_JWKS, CHECK_KEY, CHECK_SIGNATURE, HELPERS, READ_JWS, Step

CHECK_RECEIPT = r"""
difference=$(printf '%s\n' "$body" \
  | sed 's/,"receipt_id":"/,"receipt_hash":"'"$hash"'"&/; s/,"status":"/,"signature":"'"$jws"'"&/' \
  | cmp - receipt.json 2>&1) \
  || fail "receipt.json is not the signed payload with receipt_hash and signature added" \
    "(${difference#- }): it says something the signature does not"
field() { printf '%s\n' "$body" | sed -n "s/.*,\"$1\":$2,.*/\\1/p"; }
customer_id=$(field customer_id '"\([A-Za-z0-9_-]\{1,64\}\)"')
payload_receipt_id=$(field receipt_id '"\(r_[a-z2-7]\{26\}\)"')
sequence=$(field sequence '\([1-9][0-9]\{0,14\}\)')
previous_hash=$(field previous_receipt_hash '"\([0-9a-f]\{64\}\)"')
payload_kid=$(field kid '"\([A-Za-z0-9_-]\{43\}\)"')
[ "$payload_receipt_id" = "$receipt_id" ] || fail "the signed payload is not receipt $receipt_id"
[ "$payload_kid" = "$jws_kid" ] || fail "the signed payload names key ${payload_kid:-?}, but key $jws_kid signed it"
[ -n "$customer_id" ] && [ -n "$sequence" ] && [ -n "$previous_hash" ] \
  || fail "the signed payload has no customer_id, sequence or previous_receipt_hash"
version=$(printf '%s\n' "$body" | sed -n 's/.*,"v":\([12]\)}$/\1/p')
kind=charge; corrects=
case $version in
  1) case $body in *',"type":'* | *',"corrects":'*) fail "a v1 signed payload has no type or corrects" ;; esac ;;
  2) kind=$(field type '"\([a-z]*\)"'); corrects=$(field corrects '"\(r_[a-z2-7]\{26\}\)"')
     case $kind in
       charge) case $body in *',"corrects":null,'*) ;; *) fail "a v2 charge's corrects must be null" ;; esac ;;
       credit) [ -n "$corrects" ] || fail "a v2 credit's corrects must be the receipt id of the charge it corrects" ;;
       *) fail "the signed payload's type must be charge or credit" ;;
     esac ;;
  *) fail "the signed payload's v must be 1 or 2, the receipt contract's versions" ;;
esac
what="receipt contract v$version, a $kind"
[ -z "$corrects" ] || what="$what correcting charge $corrects"
echo "receipt.json OK: byte for byte the signed payload of $receipt_id plus receipt_hash and signature ($what)"
""".strip()

CHECK_CHAIN = r"""
hex64='[0-9a-f]\{64\}'
entry="{\"previous_receipt_hash\":\"\($hex64\)\",\"receipt_hash\":\"\($hex64\)\","
entry="$entry\"receipt_id\":\"\(r_[a-z2-7]\{26\}\)\",\"sequence\":\([1-9][0-9]\{0,14\}\)}"
link() { sed -n "$1{s/^\"$2\": null$3\$/null/p;s/^\"$2\": $entry$3\$/\3 \4 \2 \1/p;}" chain.json; }
previous=$(link 2 previous ,); this=$(link 3 this ,); next=$(link 4 next '')
[ "$(( $(wc -l < chain.json) ))" -eq 5 ] && [ "$(sed -n '1p;5p' chain.json)" = "{
}" ] && [ -n "$previous" ] && [ -n "$this" ] && [ -n "$next" ] \
  || fail 'chain.json is not in the layout the bundle has: {, then "previous": ..., "this": ... and "next": ...,' \
    'one a line, each null or {"previous_receipt_hash":...,"receipt_hash":...,"receipt_id":...,"sequence":...}, then }'
[ "$this" = "$receipt_id $sequence $hash $previous_hash" ] || fail "chain.json's entry for this receipt is not" \
  "the signed payload's receipt_id, sequence and previous_receipt_hash with its hash $hash"
before_id=; after_id=
if [ "$sequence" -eq 1 ]; then
  [ "$previous_hash" = 0000000000000000000000000000000000000000000000000000000000000000 ] \
    || fail "receipt $receipt_id is sequence 1, so its previous_receipt_hash must be 64 zeros"
  [ "$previous" = null ] || fail "chain.json names a receipt before $receipt_id, which is sequence 1"
else
  [ "$previous" != null ] || fail "chain.json names no receipt before $receipt_id (sequence $sequence)"
  before_id=$(echo "$previous" | cut -d ' ' -f 1); before_sequence=$(echo "$previous" | cut -d ' ' -f 2)
  before_hash=$(echo "$previous" | cut -d ' ' -f 3)
  [ "$before_sequence" -eq $(( sequence - 1 )) ] \
    || fail "chain.json's previous receipt $before_id is sequence $before_sequence, not $(( sequence - 1 ))"
  [ "$before_hash" = "$previous_hash" ] || fail "chain.json's previous receipt $before_id has hash $before_hash," \
    "but the signed payload's previous_receipt_hash is $previous_hash"
fi
if [ "$next" != null ]; then
  after_id=$(echo "$next" | cut -d ' ' -f 1); after_sequence=$(echo "$next" | cut -d ' ' -f 2)
  after_previous=$(echo "$next" | cut -d ' ' -f 4)
  [ "$after_sequence" -eq $(( sequence + 1 )) ] \
    || fail "chain.json's next receipt $after_id is sequence $after_sequence, not $(( sequence + 1 ))"
  [ "$after_previous" = "$hash" ] || fail "chain.json's next receipt $after_id names previous_receipt_hash" \
    "$after_previous, not this receipt's hash $hash"
fi
[ "$previous" = "$named_previous" ] || fail "chain.json's previous receipt is not the one the issuer named"
[ "$next" = "$named_next" ] || fail "chain.json's next receipt is not the one the issuer named"
linked="chain OK: sequence $sequence, previous_receipt_hash $previous_hash"
[ -z "$before_id" ] || linked="$linked, the hash of receipt $before_id"
[ -z "$after_id" ] && linked="$linked; no next receipt yet" || linked="$linked; the next, $after_id, names this hash"
echo "$linked"
""".strip()

ALL_HELD = (
    'echo "evidence OK: receipt $receipt_id (customer $customer_id, sequence $sequence) is signed by key $kid;" \\\n'
    '  "receipt.json, receipt.jws, public-key.pem, jwks.json and chain.json agree with the signed payload,"'
    ' \\\n  "whose SHA-256 is $hash${logged:-}"'
)


def _named(link: dict[str, Any] | None) -> str:
    """A neighbour as the chain step reads it from chain.json: id, sequence, hash, previous hash."""
    if link is None:
        return "null"
    return f"{link['receipt_id']} {link['sequence']} {link['receipt_hash']} {link['previous_receipt_hash']}"


def _neighbours_text(chain: dict[str, Any]) -> str:
    previous, following = chain["previous"], chain["next"]
    text = (
        f"The previous receipt is {previous['receipt_id']} (sequence {previous['sequence']}, receipt_hash "
        f"{previous['receipt_hash']})"
        if previous
        else "There is no previous receipt (this is the customer's first, its previous_receipt_hash is 64 zeros)"
    )
    if following:
        return (
            text + f"; the next is {following['receipt_id']} (sequence {following['sequence']}), which names "
            f"{following['previous_receipt_hash']} as its previous_receipt_hash."
        )
    return text + "; there was no next receipt when this bundle was made."


def steps(receipt: dict[str, Any], chain: dict[str, Any], kids: list[str], has_key: bool) -> list[Step]:
    """The numbered steps for this receipt's bundle (`kids`: the published keys, as in jwks.json);
    verify.sh runs them in order."""
    kid, receipt_hash, receipt_id = receipt["kid"], receipt["receipt_hash"], receipt["receipt_id"]
    key_files = " public-key.pem" if has_key else ""
    statement = "\n".join(
        [
            f"receipt_id={shlex.quote(str(receipt_id))}; receipt_hash={shlex.quote(str(receipt_hash))}; "
            f"kid={shlex.quote(str(kid))}; published_kids={shlex.quote(' '.join(kids))}",
            f"named_previous={shlex.quote(_named(chain['previous']))}",
            f"named_next={shlex.quote(_named(chain['next']))}",
            f"for file in receipt.json receipt.jws{key_files} jwks.json chain.json; do",
            '  [ -f "$file" ] || fail "$file is missing from the bundle"',
            "done",
        ]
    )
    key_step = (
        Step(
            "public-key.pem must be an RSA key of 2048 bits or more whose RFC 7638 thumbprint is the JWS kid: "
            'base64url(SHA-256 of {"e":…,"kty":"RSA","n":…}), with n and e read from openssl\'s hex and '
            "checked back with od. It must be in PEM exactly as openssl writes it.",
            CHECK_KEY,
        )
        if has_key
        else Step(
            f"Key {kid} is not published by this site: the signature cannot be checked.",
            f"fail {shlex.quote(f'key {kid} is not published by this site: the bundle has no public-key.pem')}",
        )
    )
    return [
        Step(
            "Define the helpers: fail (stop, naming the step), base64url decoding and encoding with openssl, "
            "hex to bytes (awk and printf), bytes to hex (od), the RFC 7638 thumbprint of an RSA key, and a "
            "member of receipt.json (to name a mismatch; step 8 compares receipt.json byte for byte).",
            HELPERS,
        ),
        Step(
            f"What the issuer states, which the steps below check the files against and against each other: "
            f"receipt {receipt_id}, receipt_hash {receipt_hash}, signed with key {kid}: the key this site "
            f"publishes at /v1/keys/{kid}.pem and in /.well-known/jwks.json (compare it there), which lists "
            f"{', '.join(kids) or 'no key'}. " + _neighbours_text(chain),
            statement,
        ),
        Step(
            "receipt.jws is one line: a compact JWS, BASE64URL(header).BASE64URL(payload).BASE64URL(signature). "
            "Each part is canonical base64url (no padding, no stray bits). Its header decodes to exactly "
            '{"alg":"RS256","kid":…,"typ":"receipt+jws"} with the issuer\'s kid, '
            "and receipt.json's signature is this JWS.",
            READ_JWS,
        ),
        key_step,
        Step(
            "jwks.json (one key per line) lists the JWS kid once, with the n and e of public-key.pem; every kid "
            "in it is the RFC 7638 thumbprint of its key, and they are the keys the issuer published.",
            CHECK_JWKS,
        ),
        Step(
            "Check the RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256) over the ASCII text header.payload. "
            "openssl must print: Verified OK",
            CHECK_SIGNATURE,
        ),
        Step(
            "Decode the signed payload into payload.json: the receipt body as RFC 8785 canonical JSON, exactly "
            f"the bytes signed. Its SHA-256 is the receipt_hash, {receipt_hash}.",
            CHECK_HASH,
        ),
        Step(
            "receipt.json must be byte for byte the signed payload with two members added in RFC 8785 order, "
            '"receipt_hash" before "receipt_id" and "signature" before "status" (in canonical JSON the text '
            ',"name": occurs only at a member, never inside a string, so the insertion is exact). So receipt.json '
            "says nothing the signature does not. The payload is the receipt the issuer named, signed by the key "
            'it names, in receipt contract v1 or v2: a v2 receipt is a "charge" (corrects null) or a "credit" '
            "whose corrects is the receipt id of the charge it corrects.",
            CHECK_RECEIPT,
        ),
        Step(
            "chain.json (one entry per line) links this receipt to its neighbours: its own entry carries this "
            "receipt's id, sequence and hash; the previous entry's receipt_hash is the payload's "
            "previous_receipt_hash (64 zeros and no previous entry at sequence 1); the next entry names this "
            "receipt's hash as its previous_receipt_hash; sequences are consecutive; and the neighbours are the "
            "ones the issuer named.",
            CHECK_CHAIN,
        ),
        Step("Every check held.", ALL_HELD),
    ]
