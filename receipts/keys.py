"""Public keys as verifiers name them: the RS256 JWK of an RSA key, with kid = its RFC 7638
thumbprint; the JWK Set a verifier trusts (`Jwks`), and the one RS256 signature check.
(The local key ring that keeps private keys is receipts.stores.keyring.)"""

import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey

from receipts.jws import ALG

KEY_BITS = 2048  # matches Cloud KMS RSA_SIGN_PKCS1_2048_SHA256
MIN_KEY_BITS = 2048
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})  # RFC 7518 section 6.3.2
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)  # an RFC 7638 SHA-256 thumbprint, base64url


def public_jwk(public_pem: bytes) -> dict[str, Any]:
    """The public JWK of an RSA key with kid = its RFC 7638 thumbprint."""
    key = RSAKey.import_key(public_pem)
    jwk = key.as_dict(private=False)
    jwk = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    return {**jwk, "kid": RSAKey.import_key(jwk).thumbprint(), "alg": ALG, "use": "sig"}


def kid_of(public_pem: bytes) -> str:
    return public_jwk(public_pem)["kid"]


class Jwks:
    """Public keys by kid, from an RFC 7517 JWK Set. A key whose kid is not its RFC 7638
    thumbprint, that is not RSA or that is shorter than 2048 bits is not trusted."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.keys: dict[str, rsa.RSAPublicKey] = {}
        self.problems: dict[str, str] = {}
        entries = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(entries, list):
            raise ValueError("a JWKS is a JSON object with a 'keys' array")
        for entry in entries:
            kid = entry.get("kid") if isinstance(entry, Mapping) else None
            try:
                if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
                    raise ValueError("not an RSA key")
                if entry.get("alg", ALG) != ALG or entry.get("use", "sig") != "sig":
                    raise ValueError("not an RS256 signing key")
                leaked = sorted(PRIVATE_JWK_MEMBERS & set(entry))
                if leaked:
                    raise ValueError(f"private key material in a JWKS ({', '.join(leaked)}): the key is compromised")
                imported = RSAKey.import_key({"kty": "RSA", "n": entry["n"], "e": entry["e"]})
                thumbprint = imported.thumbprint()
                if kid is not None and kid != thumbprint:
                    raise ValueError(f"kid is not the key's RFC 7638 thumbprint ({thumbprint})")
                public = imported.public_key
                if public.key_size < MIN_KEY_BITS:
                    raise ValueError(f"key is {public.key_size} bits; at least {MIN_KEY_BITS} required")
                self.keys[thumbprint] = public
            except Exception as error:  # any malformed entry is untrusted, never a crash
                self.problems[str(kid)] = str(error) or type(error).__name__

    @classmethod
    def from_json(cls, text: str | bytes) -> "Jwks":
        return cls(json.loads(text))

    def with_keys(self, entries: list[Mapping[str, Any]]) -> "Jwks":
        """These keys and `entries` (JWKs, checked as any JWKS entry is)."""
        more = Jwks({"keys": entries})
        combined = Jwks({"keys": []})
        combined.keys, combined.problems = {**self.keys, **more.keys}, {**self.problems, **more.problems}
        return combined


_PKCS1, _SHA256 = padding.PKCS1v15(), hashes.SHA256()  # stateless: one of each for every check


def signature_problem(jwks: Jwks, kid: str, signing_input: bytes, signature: bytes) -> str | None:
    """Why the RS256 `signature` over `signing_input` does not verify with the key `kid` of
    `jwks`, or None. The one RSA check: verifiers and the KMS signer's self-check use it."""
    public = jwks.keys.get(kid)
    if public is None:
        problem = jwks.problems.get(kid)
        return f"key {kid} in the JWKS is not trusted: {problem}" if problem else f"key {kid} is not in the JWKS"
    try:
        public.verify(signature, signing_input, _PKCS1, _SHA256)
    except InvalidSignature:
        return f"RS256 signature does not verify with key {kid}"
    return None
