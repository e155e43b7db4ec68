"""Public keys: the JWKS (RFC 7517) and one key as PEM, for any verifier and for openssl."""

from flask import Blueprint, Response, jsonify

from receipts.delegation import key_endorsements_document
from receipts.keys import KID_PATTERN
from verifier_site.errors import SiteError
from verifier_site.key_source import WithDelegatedKeys, site_keys

blueprint = Blueprint("keys", __name__)
PUBLIC_CACHE = "public, max-age=300"


@blueprint.get("/.well-known/jwks.json")
def jwks() -> Response:
    response = jsonify(site_keys().jwks())
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"  # public keys: any page may verify with them
    return response


@blueprint.get("/.well-known/key-endorsements.json")
def key_endorsements() -> Response:
    """The HSM keys (roots), and the endorsements and revocations of delegated keys: JWS by them."""
    source = site_keys()
    document = source.endorsements() if isinstance(source, WithDelegatedKeys) else key_endorsements_document([], [], [])
    response = jsonify(document)
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/v1/keys/<kid>.pem")
def pem(kid: str) -> Response:
    if not KID_PATTERN.fullmatch(kid):
        raise SiteError(400, "a kid is an RFC 7638 thumbprint: 43 characters A-Z a-z 0-9 _ -", code="invalid_kid")
    public = site_keys().public_pem(kid)
    if public is None:
        raise SiteError(404, f"no published key {kid}: see /.well-known/jwks.json")
    response = Response(public, mimetype="application/x-pem-file")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Content-Disposition"] = f'inline; filename="{kid}.pem"'
    return response
