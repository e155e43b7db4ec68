"""Flask's signed-cookie sessions with two per-request costs cut: the signing serializer is
built once per secret key (Flask builds it on every request, a tenth of a receipt
lookup), and a request that sends no cookie of that name (every API call) gets its new,
empty session without the Cookie header being parsed."""

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class SessionCookies(SecureCookieSessionInterface):
    """The same cookies, keys, salt and checks as Flask's own; only the serializer is kept,
    and built again whenever SECRET_KEY or SECRET_KEY_FALLBACKS change."""

    def get_signing_serializer(self, app: Flask) -> Any:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = app.extensions.get("session_serializer")
        if cached is None or cached[0] != keys:
            cached = app.extensions["session_serializer"] = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """As Flask's; the cookie's name missing from the raw header is a cookie missing
        (cookie names are never unquoted, so the name in the header is the name parsed)."""
        cookie_sent = self.get_cookie_name(app) in request.environ.get("HTTP_COOKIE", "")
        if not cookie_sent and self.get_signing_serializer(app) is not None:
            return self.session_class()
        return super().open_session(app, request)
