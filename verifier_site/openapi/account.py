"""The OpenAPI paths of the customer's account pages (verifier_site/blueprints/account.py)."""

from typing import Any

from verifier_site.account_statements import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, STATEMENT_ID_PATTERN
from verifier_site.openapi.responses import HTML, SESSION, errors, html, json_response, path_param

STATEMENT_ID = path_param("statement_id", STATEMENT_ID_PATTERN.pattern, "A statement id: s_ + 26 base32 characters")


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def account_paths() -> dict[str, Any]:
    """The account page, its sign-in form, a statement's page and the data its browser check reads."""
    filters = [
        _query(
            "period",
            {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
            "Receipts by event month; the chart's month",
        ),
        _query("status", {"enum": ["accepted", "rejected"]}, "Receipts of this status only"),
        _query("type", {"enum": ["charge", "credit"]}, "Receipts of this type only (v1 receipts are charges)"),
        _query("after", {"type": "integer", "minimum": 0}, "Keyset: receipts with sequence > after"),
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": PAGE_SIZE_MAX, "default": PAGE_SIZE_DEFAULT},
            "Receipts per page",
        ),
    ]
    return {
        "/account": {
            "get": {
                "summary": "The customer's account: balances, statements, receipts in pages, a chart per day",
                "parameters": filters,
                "security": SESSION,
                "responses": {"200": html("Page"), **errors(HTML, 400, 401, 403)},
            }
        },
        "/account/sign-in": {
            "post": {
                "summary": "Sign in with a customer's API key and open the account",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["api_key"],
                                "properties": {"api_key": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"303": {"description": "To /account"}, **errors(HTML, 401, 403)},
            }
        },
        "/account/statements/{statement_id}": {
            "get": {
                "summary": "A statement: totals, lines, the site's checks, verify in the browser",
                "parameters": [STATEMENT_ID],
                "security": SESSION,
                "responses": {"200": html("Page"), **errors(HTML, 400, 401, 403, 404)},
            }
        },
        "/account/statements/{statement_id}/data": {
            "get": {
                "summary": "The statement, its lines and their signed receipts, for the browser's own check",
                "parameters": [STATEMENT_ID],
                "security": SESSION,
                "responses": {
                    "200": json_response(
                        "statement (export format), lines (sequence, receipt_id, receipt_hash, late), receipts",
                        {"type": "object", "required": ["statement", "lines", "receipts"]},
                    ),
                    **errors(HTML, 400, 401, 403, 404),  # errors are pages, as on every route outside /v1
                },
            }
        },
    }
