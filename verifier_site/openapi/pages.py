"""The OpenAPI paths of the pages: lookup, sign-out, a receipt's page and evidence, verify."""

from typing import Any

from receipts.canonical import RECEIPT_ID_PATTERN
from verifier_site.openapi.responses import HTML, RECEIPT_ID, SESSION, errors, html


def page_paths() -> dict[str, Any]:
    """The HTML pages; a signed-in session reads a receipt's."""
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
    return {
        "/": {"get": {"summary": "Look up a receipt, or paste receipts to verify", "responses": {"200": html("Page")}}},
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
                    **errors(HTML, 400, 401, 403),
                },
            }
        },
        "/sign-out": {
            "post": {
                "summary": "End the session",
                "responses": {"303": {"description": "To /"}, **errors(HTML, 403)},
            }
        },
        "/receipts/{receipt_id}": {
            "get": {
                "summary": "A receipt's page: fields, chain links, the server's three checks, verify in the browser",
                "parameters": [RECEIPT_ID],
                "security": SESSION,
                "responses": {"200": html("Page"), **errors(HTML, 400, 401, 404)},
            }
        },
        "/receipts/{receipt_id}/evidence": {
            "get": {
                "summary": "The evidence bundle as a printable page",
                "parameters": [RECEIPT_ID],
                "security": SESSION,
                "responses": {"200": html("Page"), **errors(HTML, 400, 401, 404)},
            }
        },
        "/receipts/{receipt_id}/evidence.zip": {
            "get": {
                "summary": "The evidence bundle as a zip (the page's download)",
                "parameters": [RECEIPT_ID],
                "security": SESSION,
                "responses": {
                    "200": {"description": "Zip", "content": {"application/zip": {"schema": {"type": "string"}}}},
                    **errors(HTML, 400, 401, 404),
                },
            }
        },
        "/verify": {
            "get": {"summary": "Paste or upload receipts; verified in the page", "responses": {"200": html("Page")}},
            "post": {
                "summary": "The form without JavaScript: the server's checks as a page; nothing is stored",
                "requestBody": form_body,
                "responses": {"200": html("Results"), **errors(HTML, 400, 413)},
            },
        },
    }
