"""The evidence bundle's delegated-key steps (receipts.delegation): when a receipt was signed
by a delegated key, the chain receipt key -> endorsement -> HSM key, with openssl alone.
key-endorsement.jws is the HSM key's RS256 JWS over the delegated key's JWK and validity
window; hsm-key.pem is the HSM key, whose RFC 7638 thumbprint the issuer names; the
endorsement's JWK must be public-key.pem's n and e (steps of evidence_steps, which these
steps follow and whose helpers and variables they use), the receipt's processed_at must lie
in [not_before, not_after), and, when key-revocation.jws is in the bundle, before its
revoked_at. RFC 3339 UTC instants compare as text once cut to whole seconds.
"""

import shlex
from typing import Any

from receipts.delegation import Delegations
from receipts.jws import b64url_decode, split_compact
from receipts.keys import Jwks
from verifier_site.evidence_shell import Step
from verifier_site.key_source import KeySource, WithDelegatedKeys

FUNCTIONS = r"""
pem_thumbprint() {
  m=$(openssl rsa -pubin -in "$1" -noout -modulus 2>/dev/null | sed -n 's/^Modulus=\([0-9A-F]*\)$/\1/p' | tr A-F a-f)
  x=$(openssl rsa -pubin -in "$1" -noout -text 2>/dev/null | sed -n 's/^Exponent: [0-9]* (0x\([0-9a-f]*\))$/\1/p')
  [ -n "$m" ] && [ -n "$x" ] || return 1
  [ $(( ${#m} % 2 )) -eq 0 ] || m=0$m
  [ $(( ${#x} % 2 )) -eq 0 ] || x=0$x
  thumbprint "$(hex_bytes "$x" | b64url)" "$(hex_bytes "$m" | b64url)"
}
signed_by_hsm() {  # $1: a file holding one compact JWS, $2: its typ; sets doc_body
  doc=$(cat "$1"); printf '%s\n' "$doc" | cmp -s - "$1" || fail "$1 must hold one line: a compact JWS"
  case $doc in *[!A-Za-z0-9_.-]* | .* | *. | *..* | *.*.*.*) doc= ;; esac
  case $doc in *.*.*) ;; *) fail "$1 is not a compact JWS" ;; esac
  doc_header=${doc%%.*}; doc_signature=${doc##*.}; doc_payload=${doc#*.}; doc_payload=${doc_payload%.*}
  [ "$(b64url_decode "$doc_header")" = "{\"alg\":\"RS256\",\"kid\":\"$hsm_kid\",\"typ\":\"$2\"}" ] \
    || fail "$1's header is not exactly {\"alg\":\"RS256\",\"kid\":\"$hsm_kid\",\"typ\":\"$2\"}"
  printf %s "$doc_header.$doc_payload" > doc-signing-input.txt
  b64url_decode "$doc_signature" > doc-signature.bin
  openssl dgst -sha256 -verify hsm-key.pem -signature doc-signature.bin doc-signing-input.txt \
    || fail "$1's RS256 signature does not verify with hsm-key.pem"
  doc_body=$(b64url_decode "$doc_payload")
}
seconds() { printf %s "$1" | cut -c 1-19; }
before() { awk -v a="$(seconds "$1")" -v b="$(seconds "$2")" 'BEGIN { exit !(a < b) }'; }
""".strip()

CHECK_HSM_KEY = r"""
[ -f hsm-key.pem ] && [ -f key-endorsement.jws ] || fail "hsm-key.pem or key-endorsement.jws is missing"
openssl pkey -pubin -in hsm-key.pem -pubout 2>/dev/null | cmp -s - hsm-key.pem \
  || fail "hsm-key.pem is not one public key in PEM exactly as openssl writes it"
[ "$(pem_thumbprint hsm-key.pem)" = "$hsm_kid" ] || fail "hsm-key.pem's RFC 7638 thumbprint is not $hsm_kid"
echo "hsm-key.pem OK: the HSM key $hsm_kid (compare it with the key the issuer publishes)"
""".strip()

CHECK_ENDORSEMENT = r"""
signed_by_hsm key-endorsement.jws key-endorsement+jws
instant='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
endorsed_jwk="{\"alg\":\"RS256\",\"e\":\"$e\",\"kid\":\"$jws_kid\",\"kty\":\"RSA\",\"n\":\"$n\",\"use\":\"sig\"}"
form="^{\"endorsing_kid\":\"$hsm_kid\",\"jwk\":$endorsed_jwk,\"not_after\":\"\($instant\)\",\"not_before\":\"\($instant\)\""
window=$(printf '%s\n' "$doc_body" | sed -n "s/$form,\"v\":1}\$/\2 \1/p")
[ -n "$window" ] || fail "key-endorsement.jws does not endorse public-key.pem (kid $jws_kid, its n and e)" \
  "for a window, by $hsm_kid, in the RFC 8785 form of receipts.delegation"
not_before=${window% *}; not_after=${window#* }
processed_at=$(field processed_at '"\([0-9T:.Z-]*\)"')
[ -n "$processed_at" ] || fail "the signed payload has no processed_at"
before "$processed_at" "$not_before" && fail "outside_key_window: processed_at $processed_at is before $not_before"
before "$processed_at" "$not_after" || fail "outside_key_window: processed_at $processed_at is not before $not_after"
echo "key-endorsement.jws OK: $hsm_kid endorsed key $jws_kid for [$not_before, $not_after), which holds $processed_at"
""".strip()

CHECK_REVOCATION = r"""
signed_by_hsm key-revocation.jws key-revocation+jws
form="^{\"kid\":\"$jws_kid\",\"reason\":\"[^\"\\\\]*\",\"revoked_at\":\"\([0-9T:.Z-]*\)\""
revoked_at=$(printf '%s\n' "$doc_body" | sed -n "s/$form,\"revoking_kid\":\"$hsm_kid\",\"v\":1}\$/\1/p")
[ -n "$revoked_at" ] || fail "key-revocation.jws does not revoke key $jws_kid by $hsm_kid in the RFC 8785 form"
before "$processed_at" "$revoked_at" \
  || fail "key_revoked: key $jws_kid was revoked at $revoked_at, before $processed_at"
echo "key-revocation.jws OK: key $jws_kid was revoked at $revoked_at, after this receipt ($processed_at)"
""".strip()


def key_evidence(keys: KeySource, kid: Any) -> dict[str, Any] | None:
    """The endorsement (and revocation) of a delegated key, with the HSM key that signed them;
    None for a receipt signed by an HSM or key ring key (nothing to add)."""
    if not isinstance(keys, WithDelegatedKeys) or not isinstance(kid, str):
        return None
    document = keys.endorsements()
    roots = Jwks(keys.base.jwks())
    delegations = Delegations.from_document(document, roots)
    endorsement = delegations.endorsed.get(kid)
    if endorsement is None:
        return None
    pem = keys.base.public_pem(endorsement.endorsing_kid)
    revocation = delegations.revoked.get(kid)
    return {
        "hsm_kid": endorsement.endorsing_kid,
        "hsm_pem": pem.decode("ascii") if pem else None,
        "endorsement": endorsement.jws,
        "revocation": revocation.jws if revocation else None,
    }


def key_steps(evidence: dict[str, Any] | None) -> list[Step]:
    if not evidence or not evidence["hsm_pem"]:
        return []
    payload = b64url_decode(split_compact(evidence["endorsement"]).payload_b64).decode("utf-8")
    hsm = evidence["hsm_kid"]
    steps = [
        Step(
            f"The receipt's key is a delegated key, endorsed by the issuer's HSM key {hsm} (compare hsm-key.pem "
            f"with /v1/keys/{hsm}.pem). hsm-key.pem's RFC 7638 thumbprint must be {hsm}.",
            f"hsm_kid={shlex.quote(hsm)}\n{FUNCTIONS}\n{CHECK_HSM_KEY}",
        ),
        Step(
            "key-endorsement.jws is the HSM key's RS256 JWS (typ key-endorsement+jws) over the delegated key's "
            f"public JWK and validity window: {payload}. openssl must print Verified OK; its JWK must be "
            "public-key.pem's, and the receipt's processed_at must lie in [not_before, not_after).",
            CHECK_ENDORSEMENT,
        ),
    ]
    if evidence["revocation"]:
        steps.append(
            Step(
                "key-revocation.jws is the HSM key's JWS (typ key-revocation+jws) revoking the delegated key: "
                "the receipt must have been processed before revoked_at.",
                CHECK_REVOCATION,
            )
        )
    return steps
