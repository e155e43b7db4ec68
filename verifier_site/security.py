"""Security headers on every answer, and a same-origin check on forms that use the session.

The CSP allows scripts and styles from this origin only (no inline script, no eval),
so hostile text that slipped past escaping could still not run.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

from verifier_site.errors import SiteError

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_FORMS = frozenset({"/lookup", "/sign-out", "/account/sign-in"})


# Set on every answer unless the view set its own. "same-origin", not "no-referrer": under
# no-referrer Chromium sends `Origin: null` on the site's own form POSTs, which the
# same-origin check below would refuse.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)


def _headers(response: Response) -> Response:
    """The security headers the view did not set itself (one pass over the response's
    headers; the list is built once per app), and no-store on anything personal."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    for lowered, name, value in current_app.extensions["security_headers"]:
        if lowered not in present:
            headers.add(name, value)
    environ = request.environ
    # Personal: credentials or cookies sent (whether or not they parse: no-store errs safe),
    # or a page about a customer.
    personal = (
        environ.get("HTTP_AUTHORIZATION")
        or environ.get("HTTP_COOKIE")
        or request.path.startswith(("/receipts/", "/account"))
    )
    if personal and "cache-control" not in present and request.endpoint != "static":
        headers.add("Cache-Control", "no-store")  # nothing tied to a customer lands in a shared cache
    return response


def security_headers(config: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """(lowercased name, name, value) of every header set on every answer, for `config`."""
    chosen = list(SECURITY_HEADERS)
    max_age = int(config["HSTS_MAX_AGE"])
    if max_age > 0:
        chosen.append(("Strict-Transport-Security", f"max-age={max_age}; includeSubDomains"))
    return tuple((name.lower(), name, value) for name, value in chosen)


def _same_origin_forms() -> None:
    """Refuse a cross-site POST to the sign-in and sign-out forms (login CSRF).

    Browsers send `Origin` on every POST; a request without it is not from a browser form.
    """
    if request.method not in UNSAFE_METHODS or request.path not in SESSION_FORMS:
        return
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise SiteError(403, "this form can only be sent from this site's own pages")


def init_app(app: Flask) -> None:
    app.extensions["security_headers"] = security_headers(app.config)
    app.before_request(_same_origin_forms)
    app.after_request(_headers)
