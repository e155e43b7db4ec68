"""The evidence bundle's transparency-log steps: with a POSIX shell and openssl alone, the
log's key (log.vkey, a signed-note verifier key) made into a PEM (the DER prefix of an
Ed25519 SubjectPublicKeyInfo and the raw key), the checkpoint in receipt.tlog-proof
(c2sp.org/tlog-proof@v1) checked with `openssl pkeyutl -verify -rawin`, and the receipt's
leaf hash, SHA-256(0x00 || receipt hash), folded up the inclusion proof as RFC 9162 section
2.1.3.2 says, to the checkpoint's root. Then the witnesses' cosignatures (C2SP
tlog-cosignature, `cosignature/v1`: an Ed25519 signature of "cosignature/v1", a newline,
"time <seconds>", a newline and the checkpoint's text, its line holding the key id, the
time as 8 bytes big-endian and the signature) are each checked with the witness keys the
issuer names, and their count against the policy's quorum. Bytes go to and from hex with
awk, printf octal escapes and od, as in evidence_steps.HELPERS (which these steps use).
"""

import shlex
from typing import Any

from verifier_site.evidence_shell import Step

ED25519_SPKI_PREFIX = "302a300506032b6570032100"  # SEQUENCE { AlgorithmIdentifier { Ed25519 }, BIT STRING

CHECK_LOG_KEY = rf"""
printf '%s\n' "$log_vkey" | cmp -s - log.vkey || fail "log.vkey is not the log key the issuer names: $log_vkey"
log_name=${{log_vkey%%+*}}; rest=${{log_vkey#*+}}; log_key_id=${{rest%%+*}}; log_key_b64=${{rest#*+}}
case $log_key_id in
  [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
  *) fail "log.vkey is not <name>+<8 hex digits>+<base64>" ;;
esac
key_hex=$(printf %s "$log_key_b64" | openssl base64 -d -A 2>/dev/null | hex_of)
[ "$(hex_bytes "$key_hex" | openssl base64 -A)" = "$log_key_b64" ] && [ ${{#key_hex}} -eq 66 ] \
  && [ "${{key_hex%"${{key_hex#??}}"}}" = 01 ] || fail "log.vkey holds no Ed25519 note key (type 0x01, 32 bytes)"
id=$({{ printf '%s\n' "$log_name"; hex_bytes "$key_hex"; }} | openssl dgst -sha256 -binary | hex_of)
[ "${{id%"${{id#????????}}"}}" = "$log_key_id" ] || fail "log.vkey's key id $log_key_id is not its key's id"
{{ echo "-----BEGIN PUBLIC KEY-----"; hex_bytes "{ED25519_SPKI_PREFIX}${{key_hex#??}}" | openssl base64 -A; echo
  echo "-----END PUBLIC KEY-----"; }} > log-key.pem
openssl pkey -pubin -in log-key.pem -noout 2>/dev/null || fail "openssl does not read the log's key as Ed25519"
echo "log.vkey OK: the Ed25519 key $log_key_id of the log $log_name"
""".strip()

READ_PROOF = r"""
[ "$(sed -n 1p receipt.tlog-proof)" = c2sp.org/tlog-proof@v1 ] \
  || fail "receipt.tlog-proof does not start with the line c2sp.org/tlog-proof@v1"
awk 'NR > 1 && $0 == "" { exit } NR > 1 { print }' receipt.tlog-proof > proof-lines.txt
awk 'found { print } $0 == "" && !found { found = 1 }' receipt.tlog-proof > checkpoint.note
[ "$(sed -n 1p proof-lines.txt)" = "index $log_index" ] \
  || fail "receipt.tlog-proof's second line is not: index $log_index (the issuer's leaf index)"
: > path.txt
sed 1d proof-lines.txt > proof-hashes.txt
while IFS= read -r line; do
  h=$(printf %s "$line" | openssl base64 -d -A 2>/dev/null | hex_of)
  [ ${#h} -eq 64 ] && [ "$(hex_bytes "$h" | openssl base64 -A)" = "$line" ] \
    || fail "receipt.tlog-proof's line '$line' is not a SHA-256 hash in canonical base64"
  echo "$h" >> path.txt
done < proof-hashes.txt
echo "receipt.tlog-proof OK: leaf $log_index, $(( $(wc -l < path.txt) )) proof hashes, a checkpoint"
""".strip()

CHECK_CHECKPOINT = r"""
awk '$0 == "" { exit } { print }' checkpoint.note > checkpoint.txt
awk 'found { print } $0 == "" { found = 1 }' checkpoint.note > signatures.txt
[ "$(sed -n 1p checkpoint.txt)" = "$log_name" ] || fail "the checkpoint is not of the log $log_name"
[ "$(sed -n 2p checkpoint.txt)" = "$log_size" ] || fail "the checkpoint's tree size is not $log_size"
root_line=$(sed -n 3p checkpoint.txt)
root=$(printf %s "$root_line" | openssl base64 -d -A 2>/dev/null | hex_of)
[ ${#root} -eq 64 ] && [ "$(hex_bytes "$root" | openssl base64 -A)" = "$root_line" ] \
  || fail "the checkpoint's third line is not a root hash in canonical base64"
mark=$(printf '\342\200\224')
found=
while IFS= read -r line; do
  case $line in "$mark $log_name "*) ;; *) continue ;; esac
  raw=$(printf %s "${line#"$mark $log_name "}" | openssl base64 -d -A 2>/dev/null | hex_of)
  [ "${raw%"${raw#????????}"}" = "$log_key_id" ] || continue
  [ ${#raw} -eq 136 ] || fail "the log's signature line is not a key id and a 64-byte Ed25519 signature"
  hex_bytes "${raw#????????}" > checkpoint.sig
  found=yes
done < signatures.txt
[ -n "$found" ] || fail "the checkpoint has no signature line by the log's key $log_key_id"
openssl pkeyutl -verify -pubin -inkey log-key.pem -rawin -in checkpoint.txt -sigfile checkpoint.sig \
  > /dev/null 2>&1 || fail "the log's Ed25519 signature of the checkpoint does not verify with log.vkey"
echo "checkpoint OK: the log $log_name signed its tree of $log_size leaves, root $root"
""".strip()

CHECK_INCLUSION = r"""
hash_of() { openssl dgst -sha256 -binary | hex_of; }
r=$({ printf '\000'; hex_bytes "$hash"; } | hash_of)
[ "$log_index" -lt "$log_size" ] || fail "leaf $log_index is not in a tree of $log_size leaves"
fn=$log_index; sn=$(( log_size - 1 ))
while IFS= read -r p; do
  [ "$sn" -ne 0 ] || fail "the inclusion proof is longer than a tree of $log_size leaves needs"
  if [ $(( fn & 1 )) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
    r=$({ printf '\001'; hex_bytes "$p"; hex_bytes "$r"; } | hash_of)
    while [ "$fn" -ne 0 ] && [ $(( fn & 1 )) -eq 0 ]; do fn=$(( fn >> 1 )); sn=$(( sn >> 1 )); done
  else
    r=$({ printf '\001'; hex_bytes "$r"; hex_bytes "$p"; } | hash_of)
  fi
  fn=$(( fn >> 1 )); sn=$(( sn >> 1 ))
done < path.txt
[ "$sn" -eq 0 ] || fail "the inclusion proof is shorter than a tree of $log_size leaves needs"
[ "$r" = "$root" ] || fail "the inclusion proof does not lead from this receipt's leaf hash to the checkpoint's" \
  "root: receipt $receipt_id is not leaf $log_index of the signed tree"
logged="; it is leaf $log_index of the tree of $log_size leaves the log $log_name signed"
echo "inclusion OK: SHA-256(0x00 || $hash) is leaf $log_index of the checkpoint's tree"
""".strip()


CHECK_COSIGNATURES = rf"""
valid=0; trusted=0; cosigners=
for witness_vkey in $witness_vkeys; do
  trusted=$(( trusted + 1 ))
  w_name=${{witness_vkey%%+*}}; rest=${{witness_vkey#*+}}; w_id=${{rest%%+*}}; w_b64=${{rest#*+}}
  case $w_id in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) fail "the witness key $witness_vkey is not <name>+<8 hex digits>+<base64>" ;;
  esac
  key_hex=$(printf %s "$w_b64" | openssl base64 -d -A 2>/dev/null | hex_of)
  [ "$(hex_bytes "$key_hex" | openssl base64 -A)" = "$w_b64" ] && [ ${{#key_hex}} -eq 66 ] \
    && [ "${{key_hex%"${{key_hex#??}}"}}" = 04 ] \
    || fail "the witness key $witness_vkey holds no cosignature/v1 key (type 0x04, 32 bytes)"
  id=$({{ printf '%s\n' "$w_name"; hex_bytes "$key_hex"; }} | openssl dgst -sha256 -binary | hex_of)
  [ "${{id%"${{id#????????}}"}}" = "$w_id" ] || fail "the witness key $witness_vkey's key id is not its key's id"
  {{ echo "-----BEGIN PUBLIC KEY-----"; hex_bytes "{ED25519_SPKI_PREFIX}${{key_hex#??}}" | openssl base64 -A; echo
    echo "-----END PUBLIC KEY-----"; }} > witness-key.pem
  found="no cosignature line"
  while IFS= read -r line; do
    case $line in "$mark $w_name "*) ;; *) continue ;; esac
    raw=$(printf %s "${{line#"$mark $w_name "}}" | openssl base64 -d -A 2>/dev/null | hex_of)
    [ "${{raw%"${{raw#????????}}"}}" = "$w_id" ] || continue
    found="a cosignature that does not verify"
    [ ${{#raw}} -eq 152 ] || continue
    rest=${{raw#????????}}; time_hex=${{rest%"${{rest#????????????????}}"}}
    case $time_hex in [0-7]*) ;; *) continue ;; esac
    cosigned_at=$(( 0x$time_hex ))
    {{ printf 'cosignature/v1\ntime %s\n' "$cosigned_at"; cat checkpoint.txt; }} > cosigned.txt
    hex_bytes "${{rest#????????????????}}" > cosignature.sig
    if openssl pkeyutl -verify -pubin -inkey witness-key.pem -rawin -in cosigned.txt -sigfile cosignature.sig \
      > /dev/null 2>&1; then
      found=ok; break
    fi
  done < signatures.txt
  if [ "$found" = ok ]; then
    valid=$(( valid + 1 )); cosigners="$cosigners $w_name"
    echo "witness $w_name OK: its cosignature/v1 of the checkpoint (time $cosigned_at) verifies"
  else
    echo "witness $w_name: $found: it counts for nothing"
  fi
done
[ "$valid" -ge "$log_quorum" ] \
  || fail "$valid of $trusted witness cosignatures verify; the issuer's witness policy needs $log_quorum"
if [ "$trusted" -eq 0 ]; then
  echo "witnesses OK: the issuer names no witness, and its policy needs no cosignature"
else
  echo "witnesses OK: $valid of $trusted cosignatures verify (by$cosigners), quorum $log_quorum"
  logged="$logged, cosigned by $valid of its $trusted witnesses (quorum $log_quorum)"
fi
""".strip()


def _of(subject: str, command: str) -> str:
    """A step's command for a statement's bundle: its proof file, its hash and id (verify.sh of
    a statement sets statement_hash and statement_id where a receipt's sets hash and receipt_id)."""
    if subject == "receipt":
        return command
    return (
        command.replace("receipt.tlog-proof", "statement.tlog-proof")
        .replace("$hash", "$statement_hash")
        .replace("receipt $receipt_id", "statement $statement_id")
        .replace("this receipt's", "this statement's")
    )


def log_steps(log: dict[str, Any] | None, subject: str = "receipt") -> list[Step]:
    """The log's steps for a receipt or a statement (`subject`; `log`: the bundle's log
    member), or one that says it was not in the log when the bundle was made."""
    if log is None:
        return [
            Step(
                f"The {subject} was not in the transparency log when this bundle was made (the log takes in stored "
                f"{subject}s within minutes): there is no inclusion proof to check.",
                'logged="; it was not in the transparency log yet when this bundle was made"',
            )
        ]
    witnesses = [str(vkey) for vkey in log.get("witnesses") or []]
    quorum = int(log.get("quorum") or 0)
    statement = "\n".join(
        [
            f"log_vkey={shlex.quote(log['vkey'])}; log_index={int(log['leaf_index'])}; "
            f"log_size={int(log['tree_size'])}",
            f"witness_vkeys={shlex.quote(' '.join(witnesses))}; log_quorum={quorum}",
            f"for file in {subject}.tlog-proof log.vkey; do",
            '  [ -f "$file" ] || fail "$file is missing from the bundle"',
            "done",
        ]
    )
    return [
        Step(
            f"What the issuer states of its transparency log: this {subject} is leaf {log['leaf_index']} of the "
            f"tree of {log['tree_size']} leaves of the log {log['origin']}, whose checkpoints its key "
            f"{log['vkey']} signs, "
            + (
                f"and that {quorum} of its {len(witnesses)} witness(es) must cosign them "
                if witnesses
                else "and that it names no witness to cosign them "
            )
            + "(compare them with the site's /v1/log and the witnesses' own).",
            statement,
        ),
        Step(
            "log.vkey is that key, <name>+<key id>+base64(0x01 || 32-byte Ed25519 key), whose key id is the first "
            "4 bytes of SHA-256(name, a newline, 0x01, the key); it becomes log-key.pem (the DER prefix "
            f"{ED25519_SPKI_PREFIX} and the key) for openssl.",
            CHECK_LOG_KEY,
        ),
        Step(
            f"{subject}.tlog-proof (c2sp.org/tlog-proof@v1): its first line, `index` and the issuer's leaf index, "
            "the inclusion proof's hashes (canonical base64, leaf's sibling first), an empty line, then the "
            "checkpoint as the log signed it.",
            _of(subject, READ_PROOF),
        ),
        Step(
            "The checkpoint (C2SP tlog-checkpoint) names the log and the tree size, and its root hash; its "
            "signature line by the log's key holds an Ed25519 signature of the checkpoint's text, which openssl "
            "must verify (Signature Verified Successfully).",
            CHECK_CHECKPOINT,
        ),
        Step(
            f"The {subject}'s leaf hash is SHA-256(0x00 || its {subject} hash's 32 bytes); the inclusion proof "
            "hashes it up the tree (RFC 9162 section 2.1.3.2: SHA-256(0x01 || left || right) at each level) "
            "and must end at the checkpoint's root.",
            _of(subject, CHECK_INCLUSION),
        ),
        Step(
            "Each witness the issuer names cosigns the checkpoint (C2SP tlog-cosignature): its line, by the "
            "witness's name, holds its key id (SHA-256 of the name, a newline, 0x04 and the key, first 4 bytes), "
            "the time as 8 bytes big-endian and an Ed25519 signature of 'cosignature/v1', a newline, 'time' and "
            "that decimal time, a newline, then the checkpoint's text; a cosignature that does not verify counts "
            "for nothing, and at least the quorum must verify.",
            CHECK_COSIGNATURES,
        ),
    ]
