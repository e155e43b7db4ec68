"""The OpenAPI components: the JSON shapes of receipts, verifications, evidence and errors."""

from typing import Any

from verifier_site.checks import RECEIPT_ID_PATTERN

NULLABLE_STRING = {"type": ["string", "null"]}
HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def component_schemas() -> dict[str, Any]:
    """The shapes of every JSON body the site sends or takes."""
    receipt_fields: dict[str, Any] = {
        "v": {"type": "integer", "const": 1},
        "receipt_id": {"type": "string", "pattern": f"^{RECEIPT_ID_PATTERN.pattern}$"},
        "customer_id": {"type": "string"},
        "sequence": {"type": "integer", "minimum": 1},
        "previous_receipt_hash": HEX64,
        "idempotent_key": {"type": "string"},
        "event_sha256": HEX64,
        "entitlement_id": NULLABLE_STRING,
        "amount": {"type": "string", "description": "Decimal text with the currency's minor digits, never a float"},
        "currency": {"type": "string"},
        "usage_description": NULLABLE_STRING,
        "event_timestamp": {"type": "string"},
        "processed_at": {"type": "string"},
        "status": {"type": "string", "enum": ["accepted", "rejected"]},
        "reason": NULLABLE_STRING,
        "balance_after": {"type": "string"},
        "quota_remaining": NULLABLE_STRING,
        "kid": {"type": "string"},
        "receipt_hash": HEX64,
        "signature": {"type": "string", "description": "JWS compact serialization (RS256) of the canonical body"},
    }
    check = {
        "type": "object",
        "required": ["label", "step", "check", "ok", "reason"],
        "properties": {
            "label": {"type": "string"},
            "step": {"type": "integer"},
            "check": {"type": "string"},
            "ok": {"type": "boolean"},
            "reason": {"type": "string", "description": "Printed as receipts.verify wrote it"},
        },
    }
    verification = {
        "type": "object",
        "required": ["receipt_id", "customer_id", "sequence", "ok", "receipt_hash", "summary", "checks"],
        "properties": {
            "receipt_id": NULLABLE_STRING,
            "customer_id": NULLABLE_STRING,
            "sequence": {"type": ["integer", "null"]},
            "ok": {"type": "boolean"},
            "receipt_hash": {"type": ["string", "null"], "description": "SHA-256 of the signed payload, recomputed"},
            "summary": {
                "type": "object",
                "required": ["signature", "hash", "chain_link"],
                "properties": {name: {"type": "boolean"} for name in ("signature", "hash", "chain_link")},
            },
            "checks": {"type": "array", "items": ref("Check")},
        },
    }
    link = {
        "type": ["object", "null"],
        "required": ["receipt_id", "sequence", "receipt_hash", "previous_receipt_hash"],
        "properties": {
            "receipt_id": {"type": "string"},
            "sequence": {"type": "integer"},
            "receipt_hash": HEX64,
            "previous_receipt_hash": HEX64,
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "Receipt": {
            "type": "object",
            "description": "A receipt in the export format: the signed body's fields, receipt_hash and signature",
            "required": sorted(receipt_fields),
            "properties": receipt_fields,
            "additionalProperties": False,
        },
        "ReceiptPage": {
            "type": "object",
            "required": ["customer_id", "after", "limit", "receipts", "next_after"],
            "properties": {
                "customer_id": {"type": "string"},
                "after": {"type": "integer"},
                "limit": {"type": "integer"},
                "receipts": {"type": "array", "items": ref("Receipt")},
                "next_after": {"type": ["integer", "null"], "description": "Pass as `after` for the next page"},
            },
        },
        "Check": check,
        "Verification": verification,
        "VerifyResponse": {
            "type": "object",
            "required": ["ok", "count", "results"],
            "properties": {
                "ok": {"type": "boolean"},
                "count": {"type": "integer"},
                "results": {"type": "array", "items": ref("Verification")},
            },
        },
        "Jwks": {
            "type": "object",
            "required": ["keys"],
            "properties": {
                "keys": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["kty", "n", "e", "kid", "alg", "use"],
                        "properties": {
                            "kty": {"const": "RSA"},
                            "n": {"type": "string"},
                            "e": {"type": "string"},
                            "kid": {"type": "string"},
                            "alg": {"const": "RS256"},
                            "use": {"const": "sig"},
                        },
                    },
                }
            },
        },
        "Evidence": {
            "type": "object",
            "required": [
                "evidence_version",
                "generated_at",
                "receipt",
                "signature",
                "receipt_hash",
                "public_key",
                "chain",
                "verification",
                "instructions",
            ],
            "properties": {
                "evidence_version": {"const": 1},
                "generated_at": {"type": "string"},
                "receipt": ref("Receipt"),
                "signature": {"type": "string"},
                "receipt_hash": HEX64,
                "public_key": {
                    "type": ["object", "null"],
                    "properties": {"kid": {"type": "string"}, "pem": {"type": "string"}, "jwk": {"type": "object"}},
                },
                "chain": {
                    "type": "object",
                    "required": ["previous", "this", "next"],
                    "properties": {"previous": link, "this": link, "next": link},
                },
                "verification": ref("Verification"),
                "instructions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["step", "text", "command"],
                        "properties": {
                            "step": {"type": "integer"},
                            "text": {"type": "string"},
                            "command": {"type": "string"},
                        },
                    },
                },
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "checks": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    }
