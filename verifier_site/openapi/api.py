"""The OpenAPI paths of the JSON API: verify (public) and a customer's receipts (API key)."""

from collections.abc import Mapping
from typing import Any

from receipts.ledger import MAX_SEQUENCE
from verifier_site.openapi.refs import ref
from verifier_site.openapi.responses import BEARER, CUSTOMER_ID, HTML, JSON, RECEIPT_ID, errors, json_response


def api_paths(config: Mapping[str, Any]) -> dict[str, Any]:
    """/v1/verify for anyone; a customer's receipts, evidence and chain segments by API key."""
    max_receipts = config["MAX_VERIFY_RECEIPTS"]
    verify_body = {
        "required": True,
        "description": f"A receipt, an array of receipts, or JSONL (one receipt a line); at most {max_receipts} "
        f"receipts and {config['MAX_CONTENT_LENGTH']} bytes",
        "content": {
            JSON: {
                "schema": {
                    "oneOf": [
                        {"type": "object", "description": "One receipt in the export format"},
                        {"type": "array", "items": {"type": "object"}, "minItems": 1},
                    ]
                }
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
    return {
        "/v1/verify": {
            "post": {
                "summary": "Verify receipts or a chain segment; public, nothing is stored",
                "requestBody": verify_body,
                "responses": {
                    "200": json_response("Each receipt's checks", ref("VerifyResponse")),
                    **errors(JSON, 400, 413),
                },
            }
        },
        "/v1/receipts/{receipt_id}": {
            "get": {
                "summary": "A receipt in the export format (body fields, receipt_hash, signature)",
                "parameters": [
                    RECEIPT_ID,
                    {
                        "name": "credits",
                        "in": "query",
                        "required": False,
                        "description": "true: add credit_notes (a credit's charge; a charge's credits and what "
                        "is still creditable)",
                        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
                    },
                ],
                "security": BEARER,
                "responses": {
                    "200": json_response(
                        "The receipt; Link names the previous and next, and for a credit the charge it corrects",
                        {"oneOf": [ref("Receipt"), ref("ReceiptWithCreditNotes")]},
                        {"Link": {"schema": {"type": "string"}}},
                    ),
                    **errors(JSON, 400, 401, 404),
                },
            }
        },
        "/v1/receipts/{receipt_id}/evidence": {
            "get": {
                "summary": "The dispute evidence bundle",
                "parameters": [
                    RECEIPT_ID,
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["zip", "json", "html"], "default": "zip"},
                    },
                ],
                "security": BEARER,
                "responses": {
                    "200": {
                        "description": "The bundle",
                        "content": {
                            "application/zip": {"schema": {"type": "string"}},
                            JSON: {"schema": ref("Evidence")},
                            HTML: {"schema": {"type": "string"}},
                        },
                    },
                    **errors(JSON, 400, 401, 404),
                },
            }
        },
        "/v1/customers/{customer_id}/receipts": {
            "get": {
                "summary": "A chain segment: receipts with sequence > after, in order",
                "parameters": [
                    CUSTOMER_ID,
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SEQUENCE, "default": 0},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": config["PAGE_LIMIT_MAX"],
                            "default": config["PAGE_LIMIT_DEFAULT"],
                        },
                    },
                ],
                "security": BEARER,
                "responses": {
                    "200": json_response("The segment", ref("ReceiptPage"), {"Link": {"schema": {"type": "string"}}}),
                    **errors(JSON, 400, 401, 404),
                },
            }
        },
    }
