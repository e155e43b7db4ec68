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
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    text: str
    command: str


HELPERS = r"""
LC_ALL=C; export LC_ALL
fail() { echo "FAILED at step ${step:-?}: $*" >&2; exit 1; }
b64url_decode() {
  s=$(printf %s "$1" | tr '_-' '/+'); while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
  printf %s "$s" | openssl base64 -d -A
}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
hex_bytes() {
  printf "$(printf '%s\n' "$1" | awk -v h=0123456789abcdef '{ for (i = 1; i < length($0); i += 2)
    printf "\\%03o", 16 * (index(h, substr($0, i, 1)) - 1) + index(h, substr($0, i + 1, 1)) - 1 }')"
}
hex_of() { od -A n -t x1 -v | tr -d ' \n'; }
thumbprint() { printf '{"e":"%s","kty":"RSA","n":"%s"}' "$1" "$2" | openssl dgst -sha256 -binary | b64url; }
member() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\\1/p" receipt.json; }
""".strip()

READ_JWS = r"""
jws=$(cat receipt.jws)
printf '%s\n' "$jws" | cmp -s - receipt.jws || fail "receipt.jws must hold one line: the compact JWS"
case $jws in
  *[!A-Za-z0-9_.-]* | .* | *. | *..* | *.*.*.*) jws= ;;
esac
case $jws in
  *.*.*) ;;
  *) fail "receipt.jws is not a compact JWS: three base64url parts joined by two dots" ;;
esac
header=${jws%%.*}; signature=${jws##*.}; payload=${jws#*.}; payload=${payload%.*}
for part in "$header" "$payload" "$signature"; do
  [ "$(b64url_decode "$part" 2>/dev/null | b64url)" = "$part" ] || fail "receipt.jws is not canonical base64url"
done
b64url_decode "$header" > header.json
jws_kid=$(sed -n 's/^{"alg":"RS256","kid":"\([A-Za-z0-9_-]\{43\}\)","typ":"receipt+jws"}$/\1/p' header.json)
printf '{"alg":"RS256","kid":"%s","typ":"receipt+jws"}' "$jws_kid" | cmp -s - header.json \
  || fail 'the JWS header is not exactly {"alg":"RS256","kid":"<43 base64url characters>","typ":"receipt+jws"}'
[ "$jws_kid" = "$kid" ] || fail "the JWS names key $jws_kid, but the issuer signs with key $kid"
[ "$(( $(wc -l < receipt.json) ))" -eq 1 ] && [ "$(tail -c 1 receipt.json | hex_of)" = 0a ] \
  || fail "receipt.json must be one line ending with a newline: the receipt's export line"
[ "$(member signature)" = "$jws" ] || fail "receipt.json's signature is not receipt.jws"
echo "receipt.jws OK: RS256, typ receipt+jws, key $jws_kid; receipt.json's signature is this JWS"
""".strip()

KEY_FUNCTION = r"""
check_rsa_key() {  # $1 a PEM file, $2 the kid it must be; sets n, e, bits and key_thumbprint
  pem=$1
  openssl pkey -pubin -in "$pem" -pubout 2>/dev/null | cmp -s - "$pem" \
    || fail "$pem is not one public key in PEM (SubjectPublicKeyInfo) exactly as openssl writes it"
  modulus=$(openssl rsa -pubin -in "$pem" -noout -modulus 2>/dev/null \
    | sed -n 's/^Modulus=\([0-9A-F]*\)$/\1/p' | tr A-F a-f)
  [ -n "$modulus" ] || fail "$pem is not an RSA key"
  text=$(openssl rsa -pubin -in "$pem" -noout -text 2>/dev/null)
  bits=$(printf '%s\n' "$text" | sed -n 's/^.*Public-Key: (\([0-9]\{1,5\}\) bit)$/\1/p')
  exponent=$(printf '%s\n' "$text" | sed -n 's/^Exponent: [0-9]* (0x\([0-9a-f]*\))$/\1/p')
  [ -n "$bits" ] && [ "$bits" -ge 2048 ] || fail "$pem is a ${bits:-?}-bit key; RS256 needs 2048 or more"
  [ -n "$exponent" ] || fail "openssl does not show $pem's exponent as Exponent: N (0xHEX)"
  [ $(( ${#modulus} % 2 )) -eq 0 ] || modulus=0$modulus
  [ $(( ${#exponent} % 2 )) -eq 0 ] || exponent=0$exponent
  n=$(hex_bytes "$modulus" | b64url); e=$(hex_bytes "$exponent" | b64url)
  [ "$(b64url_decode "$n" | hex_of)" = "$modulus" ] && [ "$(b64url_decode "$e" | hex_of)" = "$exponent" ] \
    || fail "n and e (base64url) do not decode back to $pem's modulus and exponent"
  key_thumbprint=$(thumbprint "$e" "$n")
  [ "$key_thumbprint" = "$2" ] || fail "$pem's RFC 7638 thumbprint is $key_thumbprint," \
    "but the JWS names key $2: $pem is not the signing key"
}
""".strip()

CHECK_KEY = (
    KEY_FUNCTION
    + '\ncheck_rsa_key public-key.pem "$jws_kid"\n'
    + 'echo "public-key.pem OK: RSA, $bits bits, RFC 7638 thumbprint $key_thumbprint (the JWS kid)"'
)

JWKS_LAYOUT = r"""
[ "$(tail -c 1 jwks.json | hex_of)" = 0a ] || fail "jwks.json must end with a newline"
b64='[A-Za-z0-9_-]\{1,\}'
jwk="{\"alg\":\"RS256\",\"e\":\"\($b64\)\",\"kid\":\"\($b64\)\",\"kty\":\"RSA\",\"n\":\"\($b64\)\",\"use\":\"sig\"}"
awk '{ line[NR] = $0 }
  END { ok = NR >= 3 && line[1] == "{\"keys\":[" && line[NR] == "]}" && line[NR - 1] !~ /,$/
    for (i = 2; i < NR - 1; i++) ok = ok && line[i] ~ /,$/
    exit !ok }' jwks.json && [ -z "$(sed -n "1d;\$d;/^$jwk,\{0,1\}\$/!p" jwks.json)" ] \
  || fail 'jwks.json is not in the layout the bundle has: {"keys":[, one key per line as' \
    '{"alg":"RS256","e":...,"kid":...,"kty":"RSA","n":...,"use":"sig"} with commas between, then ]}'
keys=$(sed -n "1d;\$d;s/^$jwk,\{0,1\}\$/\2 \1 \3/p" jwks.json)
""".strip()

JWKS_THUMBPRINTS = r"""
printf '%s\n' "$keys" | while read -r key_kid key_e key_n; do
  [ "$(thumbprint "$key_e" "$key_n")" = "$key_kid" ] \
    || fail "jwks.json lists key $key_kid, which is not the RFC 7638 thumbprint of its n and e"
done || exit 1
[ "$(printf '%s\n' "$keys" | awk '{ printf "%s%s", sep, $1; sep = " " }')" = "$published_kids" ] \
  || fail "jwks.json does not list exactly the keys the issuer published: $published_kids"
""".strip()

CHECK_JWKS = "\n".join(
    [
        JWKS_LAYOUT,
        r"""
count=$(printf '%s\n' "$keys" | cut -d ' ' -f 1 | grep -c -x -F -e "$jws_kid" || true)
[ "$count" -ne 0 ] || fail "jwks.json does not list key $jws_kid"
[ "$count" -eq 1 ] || fail "jwks.json lists key $jws_kid $count times"
printf '%s\n' "$keys" | grep -q -x -F -e "$jws_kid $e $n" \
  || fail "jwks.json's key $jws_kid has another n or e than public-key.pem"
""".strip(),
        JWKS_THUMBPRINTS,
        "echo \"jwks.json OK: it lists key $jws_kid with public-key.pem's n and e; every kid is its key's thumbprint\"",
    ]
)

CHECK_SIGNATURE = r"""
printf %s "$header.$payload" > signing-input.txt
b64url_decode "$signature" > signature.bin
openssl dgst -sha256 -verify public-key.pem -signature signature.bin signing-input.txt \
  || fail "the RS256 signature in receipt.jws does not verify with public-key.pem"
""".strip()

CHECK_HASH = r"""
b64url_decode "$payload" > payload.json
body=$(cat payload.json)
printf %s "$body" | cmp -s - payload.json || fail "the signed payload is not one line of JSON"
hash=$(openssl dgst -sha256 -r payload.json | cut -d ' ' -f 1)
[ "$hash" = "$receipt_hash" ] || fail "the SHA-256 of the signed payload is $hash, not receipt_hash $receipt_hash"
[ "$(member receipt_hash)" = "$hash" ] || fail "receipt.json's receipt_hash is not $hash, the payload's SHA-256"
echo "receipt_hash OK: $hash is the SHA-256 of the signed payload, as receipt.json says"
""".strip()

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
