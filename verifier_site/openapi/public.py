"""The OpenAPI paths anyone may read: the public keys, health, metrics, this document, static files."""

from typing import Any

from verifier_site.openapi.refs import ref
from verifier_site.openapi.responses import HTML, JSON, KID, errors, json_response


def public_paths() -> dict[str, Any]:
    """Keys and operations: no authentication."""
    return {
        "/.well-known/jwks.json": {
            "get": {
                "summary": "Every public key receipts may be signed with (RFC 7517), retired ones too",
                "responses": {"200": json_response("JWKS", ref("Jwks"))},
            }
        },
        "/.well-known/key-endorsements.json": {
            "get": {
                "summary": "The HSM keys, and their endorsements and revocations of delegated signing keys",
                "responses": {"200": json_response("Key endorsements", ref("KeyEndorsements"))},
            }
        },
        "/v1/keys/{kid}.pem": {
            "get": {
                "summary": "One public key as PEM, for openssl",
                "parameters": [KID],
                "responses": {
                    "200": {
                        "description": "SubjectPublicKeyInfo PEM",
                        "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
                    },
                    **errors(JSON, 400, 404),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Ready when the store answers and a public key is published",
                "responses": {
                    "200": json_response("Healthy", ref("Health")),
                    "503": json_response("Unhealthy", ref("Health")),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus text format",
                "responses": {
                    "200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": json_response("OpenAPI 3.1", {"type": "object"})}}
        },
        "/static/{filename}": {
            "get": {
                "summary": "The pages' stylesheet and JavaScript modules",
                "parameters": [
                    {
                        "name": "filename",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[a-z]+[.](js|css|svg)$"},
                    }
                ],
                "responses": {
                    "200": {"description": "A file", "content": {"*/*": {"schema": {"type": "string"}}}},
                    **errors(HTML, 404),
                },
            }
        },
    }
