"""The OpenAPI components: the JSON shapes of receipts, verifications, evidence and errors."""

from typing import Any

from receipts.canonical import RECEIPT_ID_PATTERN
from verifier_site.openapi.event_schemas import event_schemas
from verifier_site.openapi.refs import ref

NULLABLE_STRING = {"type": ["string", "null"]}
HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def component_schemas() -> dict[str, Any]:
    """The shapes of every JSON body the site sends or takes."""
    receipt_fields: dict[str, Any] = {
        "v": {"type": "integer", "enum": [1, 2], "description": "Receipt contract version: 2 since credit notes"},
        "type": {"type": "string", "enum": ["charge", "credit"], "description": "v2 only"},
        "corrects": {
            "type": ["string", "null"],
            "pattern": f"^{RECEIPT_ID_PATTERN.pattern}$",
            "description": "v2 only: a credit's charge (its receipt id); null for a charge",
        },
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
    error = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                "description": "An invalid event: every rule it breaks (receipts.events reasons)",
                "items": {
                    "type": "object",
                    "required": ["field", "reason", "detail"],
                    "properties": {
                        "field": NULLABLE_STRING,
                        "reason": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                },
            },
            "receipt_id": {"type": "string", "description": "A refused valid event: its receipt id, for retries"},
            "reason": {"type": "string", "description": "intake_frozen: why intake is frozen"},
            "since": {"type": ["string", "null"], "description": "intake_frozen: when it was frozen (RFC 3339)"},
        },
    }
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": ref("ErrorDetail")}},
        "ErrorDetail": error,
        **event_schemas(),
        "Receipt": {
            "type": "object",
            "description": "A receipt in the export format: the signed body's fields, receipt_hash and signature",
            "required": sorted(set(receipt_fields) - {"type", "corrects"}),  # a v1 receipt has neither
            "properties": receipt_fields,
            "additionalProperties": False,
        },
        "ReceiptWithCreditNotes": {
            "type": "object",
            "description": "GET /v1/receipts/{id}?credits=true: the receipt and its credit notes",
            "required": [*sorted(set(receipt_fields) - {"type", "corrects"}), "credit_notes"],
            "properties": {**receipt_fields, "credit_notes": CREDIT_NOTES},
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
        "KeyEndorsements": {
            "type": "object",
            "required": ["roots", "endorsements", "revocations"],
            "properties": {
                "roots": {"type": "array", "items": {"type": "string"}, "description": "kids of the HSM keys"},
                "endorsements": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "compact JWS, typ key-endorsement+jws, by a root: a delegated key's JWK and window",
                },
                "revocations": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "compact JWS, typ key-revocation+jws, by a root: a delegated key and when it ended",
                },
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
                "jwks",
                "verification",
                "log",
                "submission",
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
                "jwks": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array"}}},
                "verification": ref("Verification"),
                "log": {"oneOf": [{"type": "null"}, ref("EvidenceLog")]},
                "submission": {
                    "description": "Who sent the event through POST /v1/events (the issuer's record, not signed): "
                    "source api with key_id, client_address (null once dropped after its retention), "
                    "submitted_at, event_sha256 and same_event; or source pubsub (published directly, no record)",
                    "type": "object",
                    "required": ["source", "summary"],
                    "properties": {
                        "source": {"enum": ["api", "pubsub"]},
                        "summary": {"type": "string"},
                        "key_id": {"type": "string"},
                        "client_address": {"type": ["string", "null"]},
                        "address_until": {"type": ["string", "null"]},
                        "submitted_at": {"type": "string"},
                        "event_sha256": HEX64,
                        "same_event": {"type": "boolean"},
                        "note": {"type": "string"},
                    },
                },
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
                "intake": {
                    "type": "object",
                    "description": "Whether intake is frozen (nothing new is charged; still healthy); "
                    "frozen is null when the store could not say",
                    "required": ["frozen"],
                    "properties": {
                        "frozen": {"type": ["boolean", "null"]},
                        "reason": {"type": "string"},
                        "since": {"type": ["string", "null"]},
                        "by": {"type": "string"},
                    },
                },
            },
        },
    }


CREDIT_LINK = {
    "type": "object",
    "required": ["receipt_id"],
    "properties": {
        "receipt_id": {"type": ["string", "null"]},
        "found": {"type": "boolean", "description": "a credit's charge: whether it is a receipt of this customer"},
        "sequence": {"type": ["integer", "null"]},
        "amount": {"type": ["string", "null"]},
        "currency": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "url": {"type": "string", "description": "its GET /v1/receipts/{id}"},
        "page": {"type": "string", "description": "its page, /receipts/{id}"},
    },
}
CREDIT_NOTES = {
    "type": "object",
    "description": "A credit: the charge it corrects. A charge: its credits (accepted and rejected, in chain "
    "order), what the accepted ones add up to and what is still creditable (from the signed receipts)",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["charge", "credit"]},
        "corrects": CREDIT_LINK,
        "credits": {"type": "array", "items": CREDIT_LINK},
        "currency": {"type": "string"},
        "credited": {"type": "string"},
        "remaining": {"type": "string"},
    },
}
