"""The OpenAPI components of the producers' API: the event, its acceptance and a batch's results."""

from typing import Any

from receipts.canonical import RECEIPT_ID_PATTERN
from receipts.currencies import MINOR_UNITS
from receipts.events import ID_PATTERN, MAX_DESCRIPTION_CHARS, MAX_KEY_CHARS
from receipts.timestamps import TIMESTAMP_PATTERN
from verifier_site.openapi.refs import ref


def event_schemas() -> dict[str, Any]:
    """The producers' API. The Event schema never asks more than receipts.events does; some
    rules cross fields (fraction digits per currency, a real calendar date, printable
    characters), so a schema-valid event can still answer 400 with its reasons."""
    receipt_id = {"type": "string", "pattern": f"^{RECEIPT_ID_PATTERN.pattern}$"}
    identifier = {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"}
    accepted = {
        "type": "object",
        "required": ["receipt_id", "status", "receipt_url"],
        "properties": {
            "receipt_id": receipt_id,
            "status": {"const": "pending", "description": "Published; the pipeline has not necessarily run yet"},
            "receipt_url": {"type": "string", "description": "GET it with the same key: 404 until written, then 200"},
        },
    }
    return {
        "Event": {
            "type": "object",
            "description": "A usage event (docs/CONTRACT.md, Events in); published as the exact bytes sent",
            "required": ["idempotent_key", "customer_id", "amount", "currency", "timestamp"],
            "properties": {
                "idempotent_key": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
                "customer_id": identifier,
                "amount": {
                    "type": ["string", "number"],
                    "description": "A decimal, > 0, with at most the currency's minor digits; read from its text",
                },
                "currency": {"type": "string", "enum": sorted(MINOR_UNITS)},
                "timestamp": {"type": "string", "pattern": f"^{TIMESTAMP_PATTERN.pattern}$"},
                "entitlement_id": identifier,
                "usage_description": {"type": "string", "maxLength": MAX_DESCRIPTION_CHARS},
                "type": {"type": "string", "enum": ["charge", "credit"], "description": "Default charge"},
                "corrects": {
                    "type": "string",
                    "pattern": f"^{RECEIPT_ID_PATTERN.pattern}$",
                    "description": "A credit's charge: the receipt id of an accepted charge of the same customer",
                },
            },
            "additionalProperties": False,
        },
        "EventAccepted": accepted,
        "EventResult": {
            "type": "object",
            "description": "One event of a batch: what POST /v1/events would answer for it, with its status",
            "required": ["index", "http_status"],
            "properties": {
                "index": {"type": "integer", "minimum": 0},
                "http_status": {"type": "integer", "enum": [202, 400, 403, 429, 503]},
                **accepted["properties"],
                "error": ref("ErrorDetail"),
            },
        },
        "BatchResponse": {
            "type": "object",
            "required": ["accepted", "refused", "results"],
            "properties": {
                "accepted": {"type": "integer"},
                "refused": {"type": "integer"},
                "results": {"type": "array", "items": ref("EventResult")},
            },
        },
    }
