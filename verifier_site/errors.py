"""Errors: `{"error": {"code", "message"}}` for the API, a friendly page for people.

Views raise `SiteError`; werkzeug's own HTTP errors (404, 405, 413 ...) and crashes go
through the same two renderers, so every route answers errors the same way.
"""

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

JSON_PATHS = ("/v1/", "/.well-known/", "/log/")
JSON_ROUTES = frozenset({"/healthz", "/metrics", "/openapi.json"})
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
TITLES = {
    400: "That request is not valid",
    401: "Sign in with an API key",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Not yet",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Unavailable",
}


class SiteError(Exception):
    """An answer a view gives on purpose: status, a stable code and a message that says what to do."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.headers = headers or {}
        self.extra = dict(extra or {})  # more members of the JSON error, e.g. every reason an event is invalid


def wants_json() -> bool:
    return request.path.startswith(JSON_PATHS) or request.path in JSON_ROUTES


def error_response(error: SiteError) -> Response:
    if wants_json():
        response = jsonify({"error": {"code": error.code, "message": error.message, **error.extra}})
    else:
        title = TITLES.get(error.status, "Error")
        response = Response(
            render_template("error.html", status=error.status, title=title, message=error.message, code=error.code),
            mimetype="text/html",
        )
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _from_http(exception: HTTPException) -> Response:
    status = exception.code or 500
    headers = {}
    if status == 405 and exception.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(sorted(exception.valid_methods))  # type: ignore[attr-defined]
    messages = {
        404: "nothing here: check the address",
        405: f"{request.method} is not allowed here",
        413: "the request body is too large",
    }
    message = messages.get(status) or exception.description or exception.name
    return error_response(SiteError(status, message, headers=headers))


def _from_crash(exception: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(SiteError(500, "an unexpected error; it has been logged, please try again"))


def init_app(app: Flask) -> None:
    app.register_error_handler(SiteError, error_response)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(Exception, _from_crash)
