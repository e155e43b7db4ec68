"""The statement evidence bundle's steps: what an auditor runs in the unzipped folder with a
POSIX shell and openssl alone, as for a receipt's bundle (evidence_steps.py, whose helpers,
key check and jwks.json layout these reuse). verify.sh checks every JWS signature with
openssl, recomputes each line's receipt_hash, the lines' RFC 6962 root and the per-currency
totals (integer minor units in sh arithmetic: money never passes through a float), and the
close and the link to the previous statement, against the signed statement.

Only the issuer's statement (step 2) holds values of this statement; every other command is
the same for all bundles. Files: statement.json (the export line) and statement.jws;
lines.jws (each line's receipt JWS, one a line, in sequence order) and lines.jsonl (their
export lines); closing.jws (the receipt at the close), next.jws (the one after it, if any),
previous.jws (the previous statement, if any), since.jws (every receipt after the previous
close up to this one, so none can be left out); jwks.json and key-<kid>.pem per signing key.
"""

import shlex
from typing import Any

from verifier_site.evidence_steps import HELPERS, JWKS_LAYOUT, JWKS_THUMBPRINTS, KEY_FUNCTION, Step

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

CHECK_TOTALS = r"""
for currency in $currencies; do
  digits=$(get digits "$currency"); charged=$(get charged "$currency"); credited=$(get credited "$currency")
  entry="\"$currency\":{\"accepted\":$(get accepted "$currency"),\"charged\":\"$(money "$charged" "$digits")\""
  entry="$entry,\"credited\":\"$(money "$credited" "$digits")\",\"late_lines\":$(get late_lines "$currency")"
  entry="$entry,\"late_net\":\"$(money "$(get late_net "$currency")" "$digits")\""
  entry="$entry,\"net\":\"$(money $(( charged - credited )) "$digits")\",\"rejected\":$(get rejected "$currency")}"
  case $signed_totals in
    *"$entry"*) echo "totals OK: $entry" ;;
    *) signed=$(printf '%s\n' "$signed_totals" | sed -n "s/.*\(\"$currency\":{[^}]*}\).*/\\1/p")
       fail "the lines add up to $entry, but the statement signs ${signed:-no totals of $currency}" ;;
  esac
done
signed_count=$(printf '%s\n' "$signed_totals" | awk '{ print gsub(/"accepted":/, "") }')
line_currencies=$(set -- $currencies; echo $#)
[ "$signed_count" -eq "$line_currencies" ] || fail "the statement signs totals of $signed_count currencies," \
  "but its lines are in $line_currencies:${currencies:- none}"
""".strip()

CHECK_CLOSE = r"""
if [ "$closing_sequence" -eq 0 ]; then
  [ "$closing_receipt_hash" = "$zeros" ] || fail "the statement closes before any receipt but names a closing hash"
else
  [ -f closing.jws ] \
    || fail "closing.jws is missing from the bundle: the statement closes at sequence $closing_sequence"
  read_jws "$(cat closing.jws)" receipt+jws closing.jws
  verify_jws closing.jws
  [ "$body_hash" = "$closing_receipt_hash" ] || fail "closing.jws's receipt hashes to $body_hash, but the" \
    "statement's closing_receipt_hash is $closing_receipt_hash"
  [ "$(field sequence "$P_SEQ")" = "$closing_sequence" ] \
    && [ "$(field customer_id "$P_ID")" = "$customer_id" ] \
    || fail "closing.jws is not $customer_id's receipt of sequence $closing_sequence"
  processed=$(stamp processed_at)
  [ -n "$processed" ] && ! before "$closed_at" "$processed" \
    || fail "the closing receipt was processed after the close ($closed_text): the close is earlier in the chain"
fi
if [ "$named_next" = none ]; then
  [ ! -f next.jws ] || fail "next.jws is in the bundle, but the issuer named no receipt after the close"
  after="no receipt after it yet"
else
  [ -f next.jws ] || fail "next.jws is missing from the bundle: the issuer named $named_next after the close"
  read_jws "$(cat next.jws)" receipt+jws next.jws
  verify_jws next.jws
  [ "$(field receipt_id "$P_RID")" = "$named_next" ] || fail "next.jws is not receipt $named_next"
  [ "$(field sequence "$P_SEQ")" = $(( closing_sequence + 1 )) ] \
    && [ "$(field customer_id "$P_ID")" = "$customer_id" ] \
    || fail "next.jws is not $customer_id's receipt of sequence $(( closing_sequence + 1 ))"
  linked=$closing_receipt_hash
  [ "$(field previous_receipt_hash "$P_HASH")" = "$linked" ] \
    || fail "next.jws's previous_receipt_hash is not the closing receipt's hash $linked"
  processed=$(stamp processed_at)
  [ -n "$processed" ] && before "$closed_at" "$processed" || fail "the receipt after the close, $named_next, was" \
    "processed by the close ($closed_text): the statement should have closed over it"
  after="the next, $named_next, was processed after it"
fi
echo "close OK: at sequence $closing_sequence, processed by $closed_text; $after"
""".strip()

CHECK_PREVIOUS = r"""
previous_close_hash=$zeros
if [ "$previous_statement_hash" = "$zeros" ]; then
  [ "$previous_closing" -eq 0 ] && [ "$named_previous" = none ] \
    || fail "the statement links no previous statement, but the issuer names ${named_previous}"
  echo "previous OK: this is $customer_id's first statement"
else
  [ -f previous.jws ] || fail "previous.jws is missing from the bundle: the statement links a previous one"
  read_jws "$(cat previous.jws)" statement+jws previous.jws
  verify_jws previous.jws
  [ "$body_hash" = "$previous_statement_hash" ] || fail "previous.jws hashes to $body_hash, but the statement's" \
    "previous_statement_hash is $previous_statement_hash"
  [ "$(field statement_id "$P_SID")" = "$named_previous" ] \
    && [ "$(field customer_id "$P_ID")" = "$customer_id" ] \
    || fail "previous.jws is not $customer_id's statement $named_previous"
  [ "$(field closing_sequence "$P_COUNT")" = "$previous_closing" ] \
    || fail "the previous statement does not close at sequence $previous_closing, as this one says"
  before "$(field period "$P_PERIOD")" "$period" || fail "the previous statement is not of an earlier period"
  previous_close_hash=$(field closing_receipt_hash "$P_HASH")
  echo "previous OK: statement $named_previous, closed at sequence $previous_closing, whose hash this one signs"
fi
""".strip()

CHECK_SINCE = r"""
[ -f since.jws ] || fail "since.jws is missing from the bundle"
[ ! -s since.jws ] || [ "$(tail -c 1 since.jws | hex_of)" = 0a ] || fail "since.jws must end with a newline"
total=$(( $(wc -l < since.jws) )); between=$(( closing_sequence - previous_closing ))
[ "$total" -eq "$between" ] || fail "since.jws holds $total receipts, but $between came between the previous" \
  "close (sequence $previous_closing) and this one ($closing_sequence)"
number=0; linked=$previous_close_hash; owed=0
while [ "$number" -lt "$total" ]; do
  number=$(( number + 1 )); where="line $number of since.jws"; sequence=$(( previous_closing + number ))
  read_jws "$(sed -n "${number}p" since.jws)" receipt+jws "$where"
  verify_jws "$where"
  [ "$(field customer_id "$P_ID")" = "$customer_id" ] && [ "$(field sequence "$P_SEQ")" = "$sequence" ] \
    || fail "$where is not $customer_id's receipt of sequence $sequence"
  [ "$(field previous_receipt_hash "$P_HASH")" = "$linked" ] \
    || fail "$where (sequence $sequence) does not link to the receipt before it, whose hash is $linked"
  linked=$body_hash; event=$(stamp event_timestamp)
  [ -n "$event" ] || fail "$where has no readable event_timestamp"
  if before "$event" "$period_end"; then
    owed=$(( owed + 1 ))
    grep -q -x -F -e "$body_hash" line-hashes.txt || fail "$where (sequence $sequence) is of $period or before" \
      "and came after the previous close, but it is no line: the statement leaves it out"
  fi
done
[ "$total" -eq 0 ] || [ "$linked" = "$closing_receipt_hash" ] || fail "since.jws does not end at the closing receipt"
[ "$owed" -eq "$recent" ] || fail "the statement has $recent lines after the previous close, but only $owed" \
  "receipts after it are of $period or before"
echo "since OK: the $total receipts after the previous close chain from it to the close;" \
  "the $owed of $period or before are all lines"
""".strip()

ALL_HELD = (
    'echo "evidence OK: statement $statement_id ($customer_id, $period) is signed by key $kid; its $count lines are"'
    ' \\\n  "signed receipts whose RFC 6962 root and totals are the signed ones; it closes at sequence'
    ' $closing_sequence${logged:-}"'
)


def steps(bundle: dict[str, Any], kids: list[str]) -> list[Step]:
    """The numbered steps before the log's (evidence_log_steps, subject "statement") and the last."""
    statement = bundle["statement"]
    previous, following = bundle["previous"], bundle["next"]
    named_previous = previous["statement_id"] if previous else "none"
    named_next = following["receipt_id"] if following else "none"
    stated = "\n".join(
        [
            f"statement_id={shlex.quote(statement['statement_id'])}; "
            f"statement_hash={shlex.quote(statement['statement_hash'])}; kid={shlex.quote(str(statement['kid']))}",
            f"published_kids={shlex.quote(' '.join(kids))}",
            f"named_previous={shlex.quote(named_previous)}; named_next={shlex.quote(named_next)}",
            "for file in statement.json statement.jws lines.jws lines.jsonl jwks.json; do",
            '  [ -f "$file" ] || fail "$file is missing from the bundle"',
            "done",
        ]
    )
    return [
        Step(
            "Define the helpers: those of a receipt's bundle (fail, base64url, hex, thumbprints, the RSA key "
            "check), reading and verifying a JWS, a member of a signed payload, times as sortable text, and money "
            "as integer minor units in sh arithmetic.",
            "\n".join([HELPERS, KEY_FUNCTION, STATEMENT_HELPERS]),
        ),
        Step(
            f"What the issuer states: statement {statement['statement_id']} of {statement['customer_id']} for "
            f"{statement['period']}, statement_hash {statement['statement_hash']}, signed with key "
            f"{statement['kid']} (published at /.well-known/jwks.json with {', '.join(kids) or 'no key'}); its "
            f"previous statement is {named_previous}; the receipt after its close is {named_next}.",
            stated,
        ),
        Step(
            "jwks.json (one key per line) lists exactly the published keys, each kid its key's RFC 7638 "
            "thumbprint; key-<kid>.pem is the statement's key with jwks.json's n and e.",
            CHECK_JWKS,
        ),
        Step(
            "statement.jws is a compact JWS with header exactly "
            '{"alg":"RS256","kid":…,"typ":"statement+jws"}; openssl verifies its RS256 signature; the SHA-256 '
            "of its payload (the RFC 8785 statement body) is the statement_hash; statement.json is that payload "
            'with "signature" and "statement_hash" added before "statement_id".',
            CHECK_STATEMENT,
        ),
        Step(
            "Each line of lines.jws is a receipt JWS whose signature openssl verifies (with key-<its kid>.pem); "
            "the SHA-256 of its payload is its receipt_hash, and lines.jsonl's line is that payload with "
            "receipt_hash and signature added. Lines are the customer's, in sequence order up to the close, each "
            "of the period or late (before it, past the previous close); their amounts are added per currency in "
            "integer minor units.",
            CHECK_LINES,
        ),
        Step(
            "The lines' RFC 6962 Merkle root (leaf SHA-256(0x00 || receipt hash), node SHA-256(0x01 || left || "
            "right), with openssl dgst -sha256 -binary) is the statement's lines_root; their count is line_count.",
            CHECK_ROOT,
        ),
        Step(
            "Per currency, the lines re-add to the signed totals: charged and credited (accepted lines), net = "
            "charged - credited, accepted and rejected counts, late lines and their net; and the statement has "
            "totals for exactly the lines' currencies.",
            CHECK_TOTALS,
        ),
        Step(
            "The close: closing.jws is the receipt at closing_sequence, whose hash is closing_receipt_hash, "
            "processed by closed_at; next.jws, the receipt after it (if any), links to it and was processed after.",
            CHECK_CLOSE,
        ),
        Step(
            "The previous statement: previous.jws (if any) is the customer's statement of an earlier period whose "
            "SHA-256 is previous_statement_hash and whose closing_sequence is previous_closing_sequence.",
            CHECK_PREVIOUS,
        ),
        Step(
            "Nothing since the previous close is left out: since.jws holds every receipt after the previous "
            "statement's closing_sequence up to this close, each signed, in sequence, chained from the previous "
            "statement's closing_receipt_hash to this closing_receipt_hash; each of them of the period or before "
            "it is a line, and every line after the previous close is one of them.",
            CHECK_SINCE,
        ),
    ]
