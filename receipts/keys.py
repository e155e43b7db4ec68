"""Public keys as verifiers name them: the RS256 JWK of an RSA key, with kid = its RFC 7638
thumbprint. (The local key ring that keeps private keys is receipts.stores.keyring.)"""

import re
from typing import Any

from joserfc.jwk import RSAKey

from receipts.jws import ALG

KEY_BITS = 2048  # matches Cloud KMS RSA_SIGN_PKCS1_2048_SHA256
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)  # an RFC 7638 SHA-256 thumbprint, base64url


def public_jwk(public_pem: bytes) -> dict[str, Any]:
    """The public JWK of an RSA key with kid = its RFC 7638 thumbprint."""
    key = RSAKey.import_key(public_pem)
    jwk = key.as_dict(private=False)
    jwk = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    return {**jwk, "kid": RSAKey.import_key(jwk).thumbprint(), "alg": ALG, "use": "sig"}


def kid_of(public_pem: bytes) -> str:
    return public_jwk(public_pem)["kid"]
