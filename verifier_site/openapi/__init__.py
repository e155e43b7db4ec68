"""The OpenAPI 3.1 description of every route, written by hand. It is Python rather than
a JSON file only so that patterns and limits are the ones the views enforce. One module per
area: pages, api (verify and a customer's receipts), ingest, log (the transparency log),
public (keys and operations)."""

from collections.abc import Mapping
from typing import Any

from verifier_site.openapi.account import account_paths
from verifier_site.openapi.api import api_paths
from verifier_site.openapi.ingest import ingest_paths
from verifier_site.openapi.log import log_paths, log_schemas
from verifier_site.openapi.pages import page_paths
from verifier_site.openapi.public import public_paths
from verifier_site.openapi.schemas import component_schemas
from verifier_site.openapi.statements import statement_paths


def openapi_document(config: Mapping[str, Any]) -> dict[str, Any]:
    """The document served at /openapi.json, with this app's configured limits."""
    paths = {
        **page_paths(),
        **api_paths(config),
        **ingest_paths(config),
        **log_paths(),
        **public_paths(),
        **statement_paths(),
        **account_paths(),
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
            "schemas": {**component_schemas(), **log_schemas()},
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
