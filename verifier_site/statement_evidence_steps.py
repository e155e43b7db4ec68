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

from verifier_site.evidence_shell import HELPERS, KEY_FUNCTION, Step
from verifier_site.statement_evidence_sh import CHECK_JWKS, CHECK_LINES, CHECK_ROOT, CHECK_STATEMENT, STATEMENT_HELPERS

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
