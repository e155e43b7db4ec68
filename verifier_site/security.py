"""Security headers on every answer, and a same-origin check on forms that use the session.

The CSP allows scripts and styles from this origin only (no inline script, no eval),
so hostile text that slipped past escaping could still not run.
"""

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
SESSION_FORMS = frozenset({"/lookup", "/sign-out"})


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # "same-origin", not "no-referrer": under no-referrer Chromium sends `Origin: null` on
    # the site's own form POSTs, which the same-origin check below would refuse.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    max_age = int(current_app.config["HSTS_MAX_AGE"])
    if max_age > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={max_age}; includeSubDomains")
    personal = request.authorization is not None or request.cookies or request.path.startswith("/receipts/")
    if personal and request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")  # nothing tied to a customer lands in a shared cache
    return response


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
    app.before_request(_same_origin_forms)
    app.after_request(_headers)
