"""The statement evidence bundle's shell, first part (statement_evidence_steps.py numbers
the steps): the helpers (reading and verifying a JWS, members of a signed payload, times as
sortable text, money as integer minor units in sh arithmetic), and the checks of jwks.json,
of the statement itself, of each line and of the lines' RFC 6962 root."""

from verifier_site.evidence_shell import JWKS_LAYOUT, JWKS_THUMBPRINTS

STATEMENT_HELPERS = r"""
zeros=0000000000000000000000000000000000000000000000000000000000000000
read_jws() {  # $1 a compact JWS, $2 its typ, $3 where it is: sets jws, header, payload, signature, jws_kid
  jws=$1
  case $jws in
    *[!A-Za-z0-9_.-]* | .* | *. | *..* | *.*.*.*) jws= ;;
  esac
  case $jws in
    *.*.*) ;;
    *) fail "$3 is not a compact JWS: three base64url parts joined by two dots" ;;
  esac
  header=${jws%%.*}; signature=${jws##*.}; payload=${jws#*.}; payload=${payload%.*}
  for part in "$header" "$payload" "$signature"; do
    [ "$(b64url_decode "$part" 2>/dev/null | b64url)" = "$part" ] || fail "$3 is not canonical base64url"
  done
  b64url_decode "$header" > header.json
  jws_kid=$(sed -n 's/^{"alg":"RS256","kid":"\([A-Za-z0-9_-]\{43\}\)","typ":"'"$2"'"}$/\1/p' header.json)
  printf '{"alg":"RS256","kid":"%s","typ":"%s"}' "$jws_kid" "$2" | cmp -s - header.json \
    || fail "the JWS header of $3 is not exactly {\"alg\":\"RS256\",\"kid\":\"<43 characters>\",\"typ\":\"$2\"}"
}
checked_kids=
key_for() {  # $1 a kid: key-$1.pem is that RSA key, as jwks.json lists it (checked once per kid)
  case " $checked_kids " in *" $1 "*) return 0 ;; esac
  [ -f "key-$1.pem" ] || fail "key-$1.pem is missing from the bundle: key $1 signed part of it"
  check_rsa_key "key-$1.pem" "$1"
  printf '%s\n' "$keys" | grep -q -x -F -e "$1 $e $n" \
    || fail "jwks.json does not list key $1 with the n and e of key-$1.pem"
  checked_kids="$checked_kids $1"
}
verify_jws() {  # $1 where: the RS256 signature of the JWS read last; sets body (its payload) and body_hash
  key_for "$jws_kid"
  printf %s "$header.$payload" > signing-input.txt
  b64url_decode "$signature" > signature.bin
  openssl dgst -sha256 -verify "key-$jws_kid.pem" -signature signature.bin signing-input.txt > /dev/null 2>&1 \
    || fail "the RS256 signature of $1 does not verify with key $jws_kid"
  b64url_decode "$payload" > payload.json
  body=$(cat payload.json)
  printf %s "$body" | cmp -s - payload.json || fail "the signed payload of $1 is not one line of JSON"
  body_hash=$(openssl dgst -sha256 -r payload.json | cut -d ' ' -f 1)
}
# The patterns of members (sed BRE), named so no quoted pattern sits inside "$(...)".
P_ID='"\([A-Za-z0-9_-]\{1,64\}\)"'; P_SEQ='\([1-9][0-9]\{0,14\}\)'; P_COUNT='\([0-9]\{1,15\}\)'
P_HASH='"\([0-9a-f]\{64\}\)"'; P_RID='"\(r_[a-z2-7]\{26\}\)"'; P_SID='"\(s_[a-z2-7]\{26\}\)"'
P_KID='"\([A-Za-z0-9_-]\{43\}\)"'; P_TEXT='"\([^"]*\)"'; P_PERIOD='"\([0-9]\{4\}-[0-9][0-9]\)"'
P_WORD='"\([a-z]*\)"'; P_CURRENCY='"\([A-Z][A-Z][A-Z]\)"'; P_VERSION='\([12]\)'
P_AMOUNT='"\([0-9]\{1,15\}\(\.[0-9]\{1,4\}\)\{0,1\}\)"'
stamp() { instant "$(field "$1" "$P_TEXT")"; }  # a member that is a time, as instant gives it
field() { printf '%s\n' "$body" | sed -n "s/.*[{,]\"$1\":$2[,}].*/\\1/p"; }
instant() {  # an RFC 3339 UTC time as text that sorts as the time: YYYY-MM-DDTHH:MM:SS.fffffffff
  printf '%s\n' "$1" \
    | sed -n 's/^\([0-9-]\{10\}T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\)\(\.[0-9]\{1,9\}\)\{0,1\}Z$/\1\2/p' \
    | awk '{ if (index($0, ".") == 0) $0 = $0 "."; while (length($0) < 29) $0 = $0 "0"; print }'
}
before() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }  # text order of instants and periods
minor() {  # an amount's text (150.00, -3.50, 5) as integer minor units, for sh arithmetic
  m=$1; sign=
  case $m in -*) sign=-; m=${m#-} ;; esac
  case $m in *.*) m=${m%%.*}${m#*.} ;; esac
  while :; do case $m in 0?*) m=${m#0} ;; *) break ;; esac; done
  echo "$sign$m"
}
digits_of() { case $1 in *.*) f=${1#*.}; echo ${#f} ;; *) echo 0 ;; esac; }
money() {  # $1 minor units, $2 fraction digits: the amount as the statement spells it
  v=$1; sign=
  if [ "$v" -lt 0 ]; then sign=-; v=$(( -v )); fi
  if [ "$2" -eq 0 ]; then echo "$sign$v"; return; fi
  while [ ${#v} -le "$2" ]; do v=0$v; done
  frac=$v; while [ ${#frac} -gt "$2" ]; do frac=${frac#?}; done
  echo "$sign${v%"$frac"}.$frac"
}
add() { eval "$1_$2=\$(( \${$1_$2:-0} + $3 ))"; }  # add NAME CURRENCY MINOR (the currency is [A-Z]{3})
get() { eval "echo \${$1_$2:-0}"; }
hash_of() { openssl dgst -sha256 -binary | hex_of; }
""".strip()

CHECK_JWKS = "\n".join(
    [
        JWKS_LAYOUT,
        JWKS_THUMBPRINTS,
        'key_for "$kid"',
        'echo "jwks.json OK: every kid is its key\'s thumbprint; key-$kid.pem is key $kid, as jwks.json lists it"',
    ]
)

CHECK_STATEMENT = r"""
statement=$(cat statement.jws)
printf '%s\n' "$statement" | cmp -s - statement.jws || fail "statement.jws must hold one line: the compact JWS"
read_jws "$statement" statement+jws statement.jws
[ "$jws_kid" = "$kid" ] || fail "statement.jws names key $jws_kid, but the issuer signs with key $kid"
verify_jws statement.jws
[ "$body_hash" = "$statement_hash" ] \
  || fail "the SHA-256 of the signed statement is $body_hash, not statement_hash $statement_hash"
[ "$(( $(wc -l < statement.json) ))" -eq 1 ] && [ "$(tail -c 1 statement.json | hex_of)" = 0a ] \
  || fail "statement.json must be one line ending with a newline: the statement's export line"
printf '%s\n' "$body" \
  | sed 's/,"statement_id":"/,"signature":"'"$jws"'","statement_hash":"'"$body_hash"'"&/' | cmp -s - statement.json \
  || fail "statement.json is not the signed statement with signature and statement_hash added:" \
    "it says something the signature does not"
[ "$(field statement_id "$P_SID")" = "$statement_id" ] \
  || fail "the signed statement is not statement $statement_id"
[ "$(field kid "$P_KID")" = "$jws_kid" ] || fail "the signed statement names another key than its JWS"
customer_id=$(field customer_id "$P_ID")
period=$(field period "$P_PERIOD")
period_start=$(stamp period_start); period_end=$(stamp period_end)
closed_text=$(field closed_at "$P_TEXT"); closed_at=$(instant "$closed_text")
closing_sequence=$(field closing_sequence "$P_COUNT")
closing_receipt_hash=$(field closing_receipt_hash "$P_HASH")
previous_statement_hash=$(field previous_statement_hash "$P_HASH")
previous_closing=$(field previous_closing_sequence "$P_COUNT")
line_count=$(field line_count "$P_COUNT")
lines_root=$(field lines_root "$P_HASH")
signed_totals=$(printf '%s\n' "$body" | sed -n 's/.*,"totals":\({.*}\),"v":1}$/\1/p')
for name in customer_id period period_start period_end closed_at closing_sequence closing_receipt_hash \
  previous_statement_hash previous_closing line_count lines_root signed_totals; do
  eval "[ -n \"\$$name\" ]" || fail "the signed statement has no readable $name (statement contract v1)"
done
echo "statement.jws OK: RS256, typ statement+jws, key $kid, Verified OK; statement_hash $body_hash;" \
  "statement.json is the signed statement of $customer_id for $period"
""".strip()

CHECK_LINES = r"""
[ ! -s lines.jws ] || [ "$(tail -c 1 lines.jws | hex_of)" = 0a ] || fail "lines.jws must end with a newline"
count=$(( $(wc -l < lines.jws) ))
[ "$count" -eq "$line_count" ] || fail "lines.jws holds $count receipts, but the statement signs line_count $line_count"
[ "$(( $(wc -l < lines.jsonl) ))" -eq "$count" ] \
  || fail "lines.jsonl does not hold one export line per line of lines.jws"
: > line-hashes.txt
number=0; last=0; recent=0; currencies=
while [ "$number" -lt "$count" ]; do
  number=$(( number + 1 )); where="line $number of lines.jws"
  read_jws "$(sed -n "${number}p" lines.jws)" receipt+jws "$where"
  verify_jws "$where"
  expected=$(printf '%s\n' "$body" \
    | sed 's/,"receipt_id":"/,"receipt_hash":"'"$body_hash"'"&/; s/,"status":"/,"signature":"'"$jws"'"&/')
  exported=$(sed -n "${number}p" lines.jsonl)
  [ "$expected" = "$exported" ] \
    || fail "line $number of lines.jsonl is not the signed payload of $where with receipt_hash and signature added"
  sequence=$(field sequence "$P_SEQ"); status=$(field status "$P_WORD")
  currency=$(field currency "$P_CURRENCY"); amount=$(field amount "$P_AMOUNT")
  event=$(stamp event_timestamp); version=$(field v "$P_VERSION")
  [ "$(field customer_id "$P_ID")" = "$customer_id" ] || fail "$where is not a receipt of $customer_id"
  [ -n "$sequence" ] && [ -n "$currency" ] && [ -n "$amount" ] && [ -n "$event" ] && [ -n "$version" ] \
    || fail "$where has no readable sequence, currency, amount, event_timestamp or v"
  kind=charge; [ "$version" = 1 ] || kind=$(field type "$P_WORD")
  case $status/$kind in accepted/charge | accepted/credit | rejected/charge | rejected/credit) ;;
    *) fail "$where is neither an accepted nor a rejected charge or credit" ;; esac
  [ "$sequence" -gt "$last" ] \
    || fail "$where is sequence $sequence, not after the line before it: lines go in sequence order"
  [ "$sequence" -le "$closing_sequence" ] || fail "$where is sequence $sequence, past the close at $closing_sequence"
  last=$sequence; late=0
  [ "$sequence" -le "$previous_closing" ] || recent=$(( recent + 1 ))
  if before "$event" "$period_start"; then
    late=1
    [ "$sequence" -gt "$previous_closing" ] || fail "$where (sequence $sequence) is of an earlier period and was" \
      "closed over by the previous statement (at sequence $previous_closing): it is no line of this one"
  elif before "$event" "$period_end"; then :
  else fail "$where (sequence $sequence) is of a later period than $period: it is no line of this statement"
  fi
  digits=$(digits_of "$amount")
  case " $currencies " in
    *" $currency "*) [ "$(get digits "$currency")" -eq "$digits" ] || fail "$where's amount $amount has other digits" ;;
    *) currencies="$currencies $currency"; add digits "$currency" "$digits" ;;
  esac
  add late_lines "$currency" "$late"
  if [ "$status" = accepted ]; then
    add accepted "$currency" 1; cents=$(minor "$amount")
    if [ "$kind" = credit ]; then add credited "$currency" "$cents"; cents=-$cents
    else add charged "$currency" "$cents"; fi
    [ "$late" -eq 0 ] || add late_net "$currency" "$cents"
  else
    add rejected "$currency" 1
  fi
  echo "$body_hash" >> line-hashes.txt
done
echo "lines OK: $count signed receipts of $customer_id in sequence order, each of $period or late, none past the close"
""".strip()

CHECK_ROOT = r"""
stack=
while IFS= read -r h; do
  size=1; node=$({ printf '\000'; hex_bytes "$h"; } | hash_of)
  while [ -n "$stack" ]; do
    top=${stack##* }
    [ "${top%%:*}" -eq "$size" ] || break
    node=$({ printf '\001'; hex_bytes "${top#*:}"; hex_bytes "$node"; } | hash_of)
    size=$(( size * 2 )); stack=${stack% *}
  done
  stack="$stack $size:$node"
done < line-hashes.txt
root=$(printf '' | hash_of)
if [ -n "$stack" ]; then
  root=${stack##* }; root=${root#*:}; stack=${stack% *}
  while [ -n "$stack" ]; do
    top=${stack##* }; stack=${stack% *}
    root=$({ printf '\001'; hex_bytes "${top#*:}"; hex_bytes "$root"; } | hash_of)
  done
fi
[ "$root" = "$lines_root" ] || fail "the lines' RFC 6962 root is $root, but the statement signs lines_root $lines_root"
echo "lines_root OK: $root over the $count lines' receipt hashes"
""".strip()
