"""The evidence bundles' shared shell: a step's shape, the POSIX helpers every verify.sh
defines (base64url, JSON members, a key's modulus), and the checks of the JWS, its key, the
JWKS and the hash that the receipt's bundle (verifier_site.evidence_steps) and the
statement's (verifier_site.statement_evidence_steps) both run. POSIX sh and openssl only."""

from dataclasses import dataclass


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
