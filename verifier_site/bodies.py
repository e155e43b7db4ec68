"""Request bodies are bounded per route, however they are framed, before any view reads them.

Werkzeug enforces MAX_CONTENT_LENGTH against a declared Content-Length, but a body sent
with `Transfer-Encoding: chunked` has none, and its limited stream then stops reading at
the limit without an error: a view would act on a prefix (a verification that never saw
the forged tail, a batch whose last events were never published). So before every request
this hook reads a body that declares no length itself, at most its route's limit plus one
byte, answers 413 when there is more, and otherwise hands the view the whole body with an
exact Content-Length. A declared Content-Length over the limit is refused without reading.

Each view names its limit with `@body_limit(SETTING)`; every other route gets
MAX_FORM_BYTES (the sign-in and sign-out forms, and anything added later).
"""

import io
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request
from werkzeug.wsgi import get_content_length

from verifier_site.errors import SiteError

V = TypeVar("V", bound=Callable)
DEFAULT_SETTING = "MAX_FORM_BYTES"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_CHUNK = 64 * 1024


def body_limit(setting: str) -> Callable[[V], V]:
    """Bound this view's request body by the app setting named (bytes)."""

    def mark(view: V) -> V:
        view.body_limit_setting = setting  # type: ignore[attr-defined]
        return view

    return mark


def route_limit() -> int:
    """The body limit of the route this request goes to, in bytes."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return int(current_app.config[getattr(view, "body_limit_setting", DEFAULT_SETTING)])


def largest_limit(app: Flask) -> int:
    """The largest body any route takes: what the server itself may buffer for the app."""
    settings = {getattr(view, "body_limit_setting", DEFAULT_SETTING) for view in app.view_functions.values()}
    return max(int(app.config[setting]) for setting in settings | {DEFAULT_SETTING})


def too_large(limit: int) -> SiteError:
    return SiteError(413, f"the request body is larger than this route's limit of {limit} bytes", "payload_too_large")


def _bound_body() -> None:
    if request.method not in BODY_METHODS:
        return
    limit = route_limit()
    request.max_content_length = limit  # werkzeug's own form parsing holds the same bound
    environ = request.environ
    declared = get_content_length(environ)  # None when chunked, whatever Content-Length says
    if declared is not None:
        if declared > limit:
            raise too_large(limit)
        return  # werkzeug reads exactly the declared length
    if "wsgi.input_terminated" not in environ:
        return  # no length and no server-terminated stream: werkzeug reads no body at all
    body = _read_at_most(environ["wsgi.input"], limit + 1)
    if len(body) > limit:
        raise too_large(limit)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    for cached in ("content_length", "stream"):  # werkzeug's cached_property values, if read already
        request.__dict__.pop(cached, None)


def _read_at_most(stream: io.RawIOBase, size: int) -> bytes:
    """Up to `size` bytes: read(n) of a WSGI input may return fewer than n before the end."""
    parts, held = [], 0
    while held < size:
        part = stream.read(min(READ_CHUNK, size - held))
        if not part:
            break
        parts.append(part)
        held += len(part)
    return b"".join(parts)


def init_app(app: Flask) -> None:
    """Before any hook that could read the body."""
    app.before_request(_bound_body)
