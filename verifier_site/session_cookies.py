"""Flask's signed-cookie sessions with the signing serializer built once per secret key:
Flask builds it on every request (a tenth of a receipt lookup), cookie or not."""

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class SessionCookies(SecureCookieSessionInterface):
    """The same cookies, keys, salt and checks as Flask's own; only the serializer is kept,
    and built again whenever SECRET_KEY or SECRET_KEY_FALLBACKS change."""

    def get_signing_serializer(self, app: Flask) -> Any:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = app.extensions.get("session_serializer")
        if cached is None or cached[0] != keys:
            cached = app.extensions["session_serializer"] = (keys, super().get_signing_serializer(app))
        return cached[1]
