"""The building blocks of the OpenAPI document: responses, errors and path parameters (with
the patterns the views enforce for the ids in paths), and the two security schemes."""

from typing import Any

from receipts.canonical import RECEIPT_ID_PATTERN
from receipts.events import ID_PATTERN
from receipts.keys import KID_PATTERN
from verifier_site.openapi.refs import ref

JSON = "application/json"
HTML = "text/html"


def error(description: str, media: str = JSON, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {JSON: {"schema": ref("Error")}} if media == JSON else {HTML: {"schema": {"type": "string"}}}
    response: dict[str, Any] = {"description": description, "content": content}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {"Retry-After": {"description": "Seconds until a request may succeed", "schema": {"type": "string"}}}


def errors(media: str, *statuses: int) -> dict[str, Any]:
    texts = {
        400: "Invalid input (bad id pattern, parameter out of range, unreadable body)",
        401: "No valid API key (JSON) or not signed in (page); WWW-Authenticate names the scheme",
        403: "A form sent from another site",
        404: "Not found; another customer's receipt answers exactly like a missing one",
        413: "Body larger than the limit, or too many receipts",
    }
    out = {str(status): error(texts[status], media) for status in statuses}
    out["429"] = error("Rate limited per client IP or per API key", media, RETRY_AFTER)
    return out


def path_param(name: str, pattern: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": f"^{pattern}$"},
    }


def html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}


def json_response(description: str, schema: dict[str, Any], headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


RECEIPT_ID = path_param("receipt_id", RECEIPT_ID_PATTERN.pattern, "A receipt id: r_ + 26 base32 characters")
CUSTOMER_ID = path_param("customer_id", ID_PATTERN.pattern, "A customer id")
KID = path_param("kid", KID_PATTERN.pattern, "A key id: the RFC 7638 thumbprint of the key")
BEARER = [{"apiKey": []}]
SESSION = [{"session": []}]
