"""The OpenAPI 3.1 description of every route, written by hand. It is Python rather than
a JSON file only so that patterns and limits are the ones the views enforce."""

from collections.abc import Mapping
from typing import Any

from receipts.canonical import RECEIPT_ID_PATTERN
from receipts.events import ID_PATTERN
from receipts.keys import KID_PATTERN
from receipts.ledger import MAX_SEQUENCE
from verifier_site.openapi_schemas import component_schemas, ref

JSON = "application/json"
HTML = "text/html"


def _error(description: str, media: str = JSON, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {JSON: {"schema": ref("Error")}} if media == JSON else {HTML: {"schema": {"type": "string"}}}
    response: dict[str, Any] = {"description": description, "content": content}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {"Retry-After": {"description": "Seconds until a request may succeed", "schema": {"type": "string"}}}


def _errors(media: str, *statuses: int) -> dict[str, Any]:
    texts = {
        400: "Invalid input (bad id pattern, parameter out of range, unreadable body)",
        401: "No valid API key (JSON) or not signed in (page); WWW-Authenticate names the scheme",
        403: "A form sent from another site",
        404: "Not found; another customer's receipt answers exactly like a missing one",
        413: "Body larger than the limit, or too many receipts",
    }
    out = {str(status): _error(texts[status], media) for status in statuses}
    out["429"] = _error("Rate limited per client IP or per API key", media, RETRY_AFTER)
    return out


def _ingest_paths(config: Mapping[str, Any], bearer: list[dict[str, Any]]) -> dict[str, Any]:
    """POST /v1/events and /v1/events:batch (verifier_site/blueprints/ingest.py)."""
    location = {"Location": {"description": "The receipt_url", "schema": {"type": "string"}}}
    refused = {
        "401": _error("No valid API key; failed attempts spend the client IP's budget"),
        "429": _error(
            "This customer's or this server's publishes in flight are all taken (or, after failed "
            "authentications, the client IP's budget); retry the same event after Retry-After",
            headers=RETRY_AFTER,
        ),
        "503": _error(
            "Ingest not configured, or Pub/Sub slow or unavailable (code says which); retrying the same event is safe",
            headers=RETRY_AFTER,
        ),
    }
    limit = config["INGEST_MAX_BATCH"]
    return {
        "/v1/events": {
            "post": {
                "summary": "Publish one usage event; 202 with its receipt_id once Pub/Sub has it",
                "security": bearer,
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("Event")}}},
                "responses": {
                    "202": _json("Published; the receipt follows at receipt_url", ref("EventAccepted"), location),
                    "400": _error("Not a valid event: error.errors lists every rule it breaks"),
                    "403": _error("The event names another customer than the API key's"),
                    "413": _error("Body over 64 KiB, an event's limit"),
                    **refused,
                },
            }
        },
        "/v1/events:batch": {
            "post": {
                "summary": f"Publish up to {limit} events, answered per event",
                "security": bearer,
                "requestBody": {
                    "required": True,
                    "description": "A JSON array of events, or JSONL (one event per line); each is published as "
                    "its exact bytes",
                    "content": {
                        JSON: {"schema": {"type": "array", "items": ref("Event"), "minItems": 1, "maxItems": limit}},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "202": _json("Every event published", ref("BatchResponse")),
                    "207": _json(
                        "Some events refused: each result has the status and error POST /v1/events would give; "
                        "Retry-After when any may be retried",
                        ref("BatchResponse"),
                        RETRY_AFTER,
                    ),
                    "400": _error("Not a JSON array or JSONL, or no events"),
                    "413": _error(f"More than {limit} events, or a body over {config['MAX_CONTENT_LENGTH']} bytes"),
                    **refused,
                },
            }
        },
    }


def _path_param(name: str, pattern: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": f"^{pattern}$"},
    }


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}


def _json(description: str, schema: dict[str, Any], headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def openapi_document(config: Mapping[str, Any]) -> dict[str, Any]:
    """The document served at /openapi.json, with this app's configured limits."""
    receipt_id = _path_param("receipt_id", RECEIPT_ID_PATTERN.pattern, "A receipt id: r_ + 26 base32 characters")
    customer_id = _path_param("customer_id", ID_PATTERN.pattern, "A customer id")
    kid = _path_param("kid", KID_PATTERN.pattern, "A key id: the RFC 7638 thumbprint of the key")
    bearer = [{"apiKey": []}]
    session = [{"session": []}]
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
    form_body = {
        "required": True,
        "description": "The page's textarea (always sent, maybe blank) and an optional file that takes precedence",
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {"receipts": {"type": "string"}}, "required": ["receipts"]}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"receipts": {"type": "string"}, "file": {"type": "string", "format": "binary"}},
                    "required": ["receipts"],
                }
            },
        },
    }
    paths: dict[str, Any] = {
        "/": {
            "get": {"summary": "Look up a receipt, or paste receipts to verify", "responses": {"200": _html("Page")}}
        },
        "/lookup": {
            "post": {
                "summary": "Sign in with an API key (kept as a session naming the key id) and open a receipt",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["receipt_id"],
                                "properties": {
                                    "receipt_id": {"type": "string", "pattern": f"^{RECEIPT_ID_PATTERN.pattern}$"},
                                    "api_key": {"type": "string", "description": "Optional once signed in"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "303": {"description": "To /receipts/{receipt_id}"},
                    **_errors(HTML, 400, 401, 403),
                },
            }
        },
        "/sign-out": {
            "post": {
                "summary": "End the session",
                "responses": {"303": {"description": "To /"}, **_errors(HTML, 403)},
            }
        },
        "/receipts/{receipt_id}": {
            "get": {
                "summary": "A receipt's page: fields, chain links, the server's three checks, verify in the browser",
                "parameters": [receipt_id],
                "security": session,
                "responses": {"200": _html("Page"), **_errors(HTML, 400, 401, 404)},
            }
        },
        "/receipts/{receipt_id}/evidence": {
            "get": {
                "summary": "The evidence bundle as a printable page",
                "parameters": [receipt_id],
                "security": session,
                "responses": {"200": _html("Page"), **_errors(HTML, 400, 401, 404)},
            }
        },
        "/receipts/{receipt_id}/evidence.zip": {
            "get": {
                "summary": "The evidence bundle as a zip (the page's download)",
                "parameters": [receipt_id],
                "security": session,
                "responses": {
                    "200": {"description": "Zip", "content": {"application/zip": {"schema": {"type": "string"}}}},
                    **_errors(HTML, 400, 401, 404),
                },
            }
        },
        "/verify": {
            "get": {"summary": "Paste or upload receipts; verified in the page", "responses": {"200": _html("Page")}},
            "post": {
                "summary": "The form without JavaScript: the server's checks as a page; nothing is stored",
                "requestBody": form_body,
                "responses": {"200": _html("Results"), **_errors(HTML, 400, 413)},
            },
        },
        "/v1/verify": {
            "post": {
                "summary": "Verify receipts or a chain segment; public, nothing is stored",
                "requestBody": verify_body,
                "responses": {"200": _json("Each receipt's checks", ref("VerifyResponse")), **_errors(JSON, 400, 413)},
            }
        },
        "/v1/receipts/{receipt_id}": {
            "get": {
                "summary": "A receipt in the export format (body fields, receipt_hash, signature)",
                "parameters": [receipt_id],
                "security": bearer,
                "responses": {
                    "200": _json(
                        "The receipt; Link names the previous and next",
                        ref("Receipt"),
                        {"Link": {"schema": {"type": "string"}}},
                    ),
                    **_errors(JSON, 400, 401, 404),
                },
            }
        },
        "/v1/receipts/{receipt_id}/evidence": {
            "get": {
                "summary": "The dispute evidence bundle",
                "parameters": [
                    receipt_id,
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["zip", "json", "html"], "default": "zip"},
                    },
                ],
                "security": bearer,
                "responses": {
                    "200": {
                        "description": "The bundle",
                        "content": {
                            "application/zip": {"schema": {"type": "string"}},
                            JSON: {"schema": ref("Evidence")},
                            HTML: {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(JSON, 400, 401, 404),
                },
            }
        },
        "/v1/customers/{customer_id}/receipts": {
            "get": {
                "summary": "A chain segment: receipts with sequence > after, in order",
                "parameters": [
                    customer_id,
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
                "security": bearer,
                "responses": {
                    "200": _json("The segment", ref("ReceiptPage"), {"Link": {"schema": {"type": "string"}}}),
                    **_errors(JSON, 400, 401, 404),
                },
            }
        },
        **_ingest_paths(config, bearer),
        "/.well-known/jwks.json": {
            "get": {
                "summary": "Every public key receipts may be signed with (RFC 7517), retired ones too",
                "responses": {"200": _json("JWKS", ref("Jwks"))},
            }
        },
        "/v1/keys/{kid}.pem": {
            "get": {
                "summary": "One public key as PEM, for openssl",
                "parameters": [kid],
                "responses": {
                    "200": {
                        "description": "SubjectPublicKeyInfo PEM",
                        "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
                    },
                    **_errors(JSON, 400, 404),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Ready when the store answers and a public key is published",
                "responses": {"200": _json("Healthy", ref("Health")), "503": _json("Unhealthy", ref("Health"))},
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
            "get": {"summary": "This document", "responses": {"200": _json("OpenAPI 3.1", {"type": "object"})}}
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
                    **_errors(HTML, 404),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Verifiable billing receipts: verifier site",
            "version": "1",
            "description": "Customers read their receipts with an API key; anyone verifies receipts against the "
            'published keys. Errors on /v1 are JSON: {"error": {"code", "message"}}.',
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key sk_…, scoped to one customer (`receipts api-keys create`)",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }
