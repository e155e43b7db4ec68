"""Delegated signing keys: short-lived RSA keys whose public part the HSM key endorses.

A delegated key signs the receipts processed in one validity window [not_before, not_after)
(windows are aligned on the Unix epoch, so every worker computes the same window for the same
`processed_at`). Its **endorsement** is a JWS (RS256, `typ` `key-endorsement+jws`) by the HSM
key over the RFC 8785 body `{"v":1,"jwk":…,"not_before":…,"not_after":…,"endorsing_kid":…}`;
a **revocation** is a JWS (`typ` `key-revocation+jws`) by the HSM key over
`{"v":1,"kid":…,"revoked_at":…,"reason":…,"revoking_kid":…}`. Both are standard JWS anyone
checks with the HSM public key (openssl included), and both are leaves of the transparency log.

`Delegations` holds what a verifier trusts: the HSM kids (roots), and the endorsements and
revocations that verify with them. `delegation_problem` is the one check of a receipt's key:
signed by a root, or by an endorsed key inside its window and before any revocation.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from receipts.canonical import canonical_bytes, sha256_hex, strict_loads
from receipts.jws import ALG, b64url_decode, split_compact
from receipts.keys import KID_PATTERN, Jwks, signature_problem

ENDORSEMENT_TYP = "key-endorsement+jws"
REVOCATION_TYP = "key-revocation+jws"
VERSION = 1
MAX_WINDOW_SECONDS = 31 * 86400  # a delegated key lives a month at most
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
JWK_MEMBERS = ("kty", "n", "e", "kid", "alg", "use")

# The named reasons a receipt's key fails (the reason of the `key_endorsement` check starts with one).
NO_ENDORSEMENT, OUTSIDE_KEY_WINDOW, KEY_REVOKED = "no_endorsement", "outside_key_window", "key_revoked"


def window_seconds(spec: str) -> int:
    """'1d', '6h', '30m', '900s' (or bare seconds) -> seconds; ValueError for anything else."""
    text = spec.strip()
    unit = UNITS.get(text[-1:])
    number = text[:-1] if unit else text
    if not number.isascii() or not number.isdigit():
        raise ValueError(f"window {spec!r}: use a whole number of s, m, h or d (e.g. 1d)")
    seconds = int(number) * (unit or 1)
    if not 60 <= seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"window {spec!r}: between 1 minute and 31 days")
    return seconds


def instant_of(text: str) -> datetime:
    """An RFC 3339 UTC instant ('…Z') as an aware datetime; ValueError otherwise."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"{str(text)[:40]!r} is not an RFC 3339 UTC instant")
    return datetime.fromisoformat(text[:-1] + "+00:00")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Window:
    not_before: str
    not_after: str


def window_at(processed_at: str, seconds: int) -> Window:
    """The validity window holding `processed_at`: epoch-aligned, so the same for every worker."""
    epoch = int(instant_of(processed_at).timestamp()) // seconds * seconds
    start = datetime.fromtimestamp(epoch, UTC)
    return Window(rfc3339(start), rfc3339(start + timedelta(seconds=seconds)))


def endorsement_body(jwk: Mapping[str, Any], window: Window, endorsing_kid: str) -> dict[str, Any]:
    public = {name: jwk[name] for name in JWK_MEMBERS if name in jwk}
    return {
        "v": VERSION,
        "jwk": public,
        "not_before": window.not_before,
        "not_after": window.not_after,
        "endorsing_kid": endorsing_kid,
    }


def revocation_body(kid: str, revoked_at: str, reason: str, revoking_kid: str) -> dict[str, Any]:
    return {"v": VERSION, "kid": kid, "revoked_at": revoked_at, "reason": reason, "revoking_kid": revoking_kid}


@dataclass(frozen=True)
class Endorsement:
    kid: str  # the delegated key's
    jwk: dict[str, Any]
    not_before: datetime
    not_after: datetime
    endorsing_kid: str
    jws: str
    document_hash: str  # SHA-256 of the signed payload: its log entry


@dataclass(frozen=True)
class Revocation:
    kid: str
    revoked_at: datetime
    reason: str
    revoking_kid: str
    jws: str
    document_hash: str


def _signed_body(token: str, typ: str, roots: Jwks, root_kids: frozenset[str]) -> tuple[dict[str, Any], str, str]:
    """(body, signing kid, payload hash) of a JWS signed by a root; ValueError saying why not."""
    parts = split_compact(token)
    header = strict_loads(b64url_decode(parts.header_b64).decode("utf-8"))
    if not isinstance(header, dict) or set(header) != {"alg", "kid", "typ"}:
        raise ValueError("the JWS header must be exactly alg, kid, typ")
    if header["alg"] != ALG or header["typ"] != typ:
        raise ValueError(f"the JWS must be {ALG} with typ {typ!r}")
    kid = header["kid"]
    if kid not in root_kids:
        raise ValueError(f"signed by {str(kid)[:43]}, which is not an HSM (root) key")
    problem = signature_problem(roots, kid, parts.signing_input, b64url_decode(parts.signature_b64))
    if problem:
        raise ValueError(problem)
    payload = b64url_decode(parts.payload_b64)
    body = strict_loads(payload.decode("utf-8"))
    if not isinstance(body, dict) or canonical_bytes(body) != payload:
        raise ValueError("the payload is not an RFC 8785 JSON object")
    if body.get("v") != VERSION:
        raise ValueError(f"v must be {VERSION}")
    return body, kid, sha256_hex(payload)


def read_endorsement(token: str, roots: Jwks, root_kids: frozenset[str]) -> Endorsement:
    body, signer, digest = _signed_body(token, ENDORSEMENT_TYP, roots, root_kids)
    if set(body) != {"v", "jwk", "not_before", "not_after", "endorsing_kid"}:
        raise ValueError("an endorsement body has exactly v, jwk, not_before, not_after, endorsing_kid")
    if body["endorsing_kid"] != signer:
        raise ValueError("endorsing_kid is not the kid that signed the endorsement")
    jwk = body["jwk"]
    trusted = Jwks({"keys": [jwk]}) if isinstance(jwk, dict) else None
    kid = jwk.get("kid") if isinstance(jwk, dict) else None
    if trusted is None or kid not in trusted.keys:
        problem = trusted.problems.get(str(kid)) if trusted else "not a JWK"
        raise ValueError(f"the endorsed key is not a usable RS256 key: {problem or 'it has no kid'}")
    not_before, not_after = instant_of(body["not_before"]), instant_of(body["not_after"])
    if not not_before < not_after <= not_before + timedelta(seconds=MAX_WINDOW_SECONDS):
        raise ValueError("the validity window is empty or longer than 31 days")
    return Endorsement(kid, jwk, not_before, not_after, signer, token, digest)


def read_revocation(token: str, roots: Jwks, root_kids: frozenset[str]) -> Revocation:
    body, signer, digest = _signed_body(token, REVOCATION_TYP, roots, root_kids)
    if set(body) != {"v", "kid", "revoked_at", "reason", "revoking_kid"}:
        raise ValueError("a revocation body has exactly v, kid, revoked_at, reason, revoking_kid")
    if body["revoking_kid"] != signer or not isinstance(body["kid"], str) or not KID_PATTERN.fullmatch(body["kid"]):
        raise ValueError("revoking_kid is not the signer's, or kid is not a key id")
    if not isinstance(body["reason"], str):
        raise ValueError("reason is a string")
    return Revocation(body["kid"], instant_of(body["revoked_at"]), body["reason"], signer, token, digest)


class Delegations:
    """The keys a verifier trusts: root (HSM) kids from `roots`, and the endorsed keys whose
    endorsement verifies with a root; revocations likewise. Documents that do not verify are
    kept in `problems`, never trusted."""

    def __init__(
        self, roots: Jwks, root_kids: Iterable[str], endorsements: Iterable[str] = (), revocations: Iterable[str] = ()
    ) -> None:
        self.root_kids = frozenset(kid for kid in root_kids if kid in roots.keys)
        self.endorsed: dict[str, Endorsement] = {}
        self.revoked: dict[str, Revocation] = {}
        self.problems: list[str] = []
        for token in endorsements:
            try:
                endorsement = read_endorsement(token, roots, self.root_kids)
            except (ValueError, TypeError, KeyError, RecursionError) as error:
                self.problems.append(f"endorsement: {str(error)[:200]}")
                continue
            self.endorsed.setdefault(endorsement.kid, endorsement)
        for token in revocations:
            try:
                revocation = read_revocation(token, roots, self.root_kids)
            except (ValueError, TypeError, KeyError, RecursionError) as error:
                self.problems.append(f"revocation: {str(error)[:200]}")
                continue
            known = self.revoked.get(revocation.kid)
            if known is None or revocation.revoked_at < known.revoked_at:
                self.revoked[revocation.kid] = revocation  # the earliest revocation counts

    @classmethod
    def from_document(cls, document: Mapping[str, Any], roots: Jwks) -> "Delegations":
        """From a key-endorsements document (`key_endorsements_document`)."""
        if not isinstance(document, Mapping):
            raise ValueError("a key-endorsements document is a JSON object")
        lists = [document.get(name, []) for name in ("roots", "endorsements", "revocations")]
        if not all(isinstance(items, list) and all(isinstance(item, str) for item in items) for items in lists):
            raise ValueError("roots, endorsements and revocations are lists of strings")
        return cls(roots, *lists)

    @classmethod
    def from_json(cls, text: str | bytes, roots: Jwks) -> "Delegations":
        return cls.from_document(json.loads(text), roots)


def key_endorsements_document(roots: Iterable[str], endorsements: Iterable[str], revocations: Iterable[str]) -> dict:
    """What the site serves at /.well-known/key-endorsements.json and the evidence bundle holds."""
    return {"roots": sorted(roots), "endorsements": list(endorsements), "revocations": list(revocations)}


def delegation_problem(delegations: Delegations, kid: Any, processed_at: Any) -> str | None:
    """Why a receipt signed by `kid` at `processed_at` is not signed by a trusted key, starting
    with a named reason, or None. A root key passes; an endorsed key must have signed inside its
    window and before its revocation."""
    if kid in delegations.root_kids:
        return None
    endorsement = delegations.endorsed.get(kid)
    if endorsement is None:
        return f"{NO_ENDORSEMENT}: key {str(kid)[:43]} is neither an HSM key nor endorsed by one"
    try:
        at = instant_of(processed_at)
    except (ValueError, TypeError):
        return f"{OUTSIDE_KEY_WINDOW}: processed_at {str(processed_at)[:40]!r} is not an RFC 3339 UTC instant"
    if not endorsement.not_before <= at < endorsement.not_after:
        return (
            f"{OUTSIDE_KEY_WINDOW}: processed_at {processed_at} is outside key {kid}'s window "
            f"[{rfc3339(endorsement.not_before)}, {rfc3339(endorsement.not_after)})"
        )
    revocation = delegations.revoked.get(kid)
    if revocation is not None and at >= revocation.revoked_at:
        return (
            f"{KEY_REVOKED}: key {kid} was revoked at {rfc3339(revocation.revoked_at)} "
            f"({revocation.reason[:100]}), before processed_at {processed_at}"
        )
    return None


def payload_hash(token: str) -> str:
    """SHA-256 (hex) of a compact JWS's payload: an endorsement's or revocation's log entry."""
    return sha256_hex(b64url_decode(split_compact(token).payload_b64))


def document_kid(token: str, typ: str) -> str:
    """The delegated key a (trusted-by-whoever-wrote-it) endorsement or revocation names."""
    body = json.loads(b64url_decode(split_compact(token).payload_b64))
    return body["jwk"]["kid"] if typ == ENDORSEMENT_TYP else body["kid"]
