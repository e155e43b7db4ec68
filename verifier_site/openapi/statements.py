"""The OpenAPI paths of statements: a customer's, one with its lines, and its evidence
bundle (API key: the customer's, or an operator's)."""

from typing import Any

from verifier_site.openapi.responses import BEARER, CUSTOMER_ID, JSON, errors, json_response, path_param

STATEMENT_ID = path_param("statement_id", r"s_[a-z2-7]{26}", "A statement id: s_ + 26 base32 characters")
STATEMENT = {
    "type": "object",
    "description": "A statement in the export format: its body fields (docs/STATEMENTS.md), statement_hash, "
    "signature (JWS RS256, typ statement+jws)",
    "required": ["statement_id", "customer_id", "period", "line_count", "lines_root", "totals", "signature"],
}


def statement_paths() -> dict[str, Any]:
    return {
        "/v1/customers/{customer_id}/statements": {
            "get": {
                "summary": "The customer's statements, oldest period first",
                "parameters": [CUSTOMER_ID],
                "security": BEARER,
                "responses": {
                    "200": json_response(
                        "The statements",
                        {
                            "type": "object",
                            "properties": {
                                "customer_id": {"type": "string"},
                                "statements": {"type": "array", "items": STATEMENT},
                            },
                        },
                    ),
                    **errors(JSON, 400, 401, 404),
                },
            }
        },
        "/v1/statements/{statement_id}": {
            "get": {
                "summary": "A statement; with lines=true its lines and its checks recomputed from the stored chain",
                "parameters": [
                    STATEMENT_ID,
                    {
                        "name": "lines",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
                    },
                ],
                "security": BEARER,
                "responses": {
                    "200": json_response(
                        "The statement; Link (rel=evidence) names its evidence bundle, and with lines=true so "
                        "does evidence_url",
                        STATEMENT,
                        {"Link": {"schema": {"type": "string"}}},
                    ),
                    **errors(JSON, 400, 401, 404),
                },
            }
        },
        "/v1/statements/{statement_id}/evidence": {
            "get": {
                "summary": "The statement evidence bundle: a zip with verify.sh (openssl alone re-verifies every "
                "signature and re-adds the lines, their root and the totals), or one JSON document",
                "parameters": [
                    STATEMENT_ID,
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["zip", "json"], "default": "zip"},
                    },
                ],
                "security": BEARER,
                "responses": {
                    "200": {
                        "description": "The bundle (docs/STATEMENTS.md)",
                        "content": {
                            "application/zip": {"schema": {"type": "string"}},
                            JSON: {
                                "schema": {
                                    "type": "object",
                                    "required": ["evidence_version", "statement", "lines", "jwks", "instructions"],
                                    "properties": {"statement": STATEMENT, "lines": {"type": "array"}},
                                }
                            },
                        },
                    },
                    **errors(JSON, 400, 401, 404),
                },
            }
        },
    }
