"""The witness's HTTP face (C2SP tlog-witness): `POST /add-checkpoint` and the monitors'
`GET /<origin hash>/checkpoint`, a small Flask app over receipts.tlog.witness.Witness,
served by waitress.

Bodies are bounded however they are framed: a Content-Length past the limit is refused
before reading, a chunked body is read up to the limit plus one byte and refused past it
(Werkzeug's own limit would truncate such a body silently), and a body with neither
length nor end is refused (411). Waitress itself refuses bodies past the same limit.
"""

import logging
from typing import IO

from flask import Flask, Response, request

from receipts.tlog.witness import MAX_REQUEST_BYTES, TEXT_CONTENT_TYPE, Answer, Witness

log = logging.getLogger("receipts.witness")


def read_body(stream: IO[bytes], limit: int) -> bytes | None:
    """The whole body, or None once it is past `limit` bytes."""
    chunks, total = [], 0
    while total <= limit:
        chunk = stream.read(limit + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return None if total > limit else b"".join(chunks)


def read_exactly(stream: IO[bytes], length: int) -> bytes | None:
    """`length` bytes (the Content-Length, already within the limit); None if it ends early."""
    chunks, total = [], 0
    while total < length:
        chunk = stream.read(length - total)
        if not chunk:
            return None
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _response(answer: Answer) -> Response:
    body = answer.body if answer.body or answer.status == 200 else (answer.reason + "\n").encode()
    return Response(body, status=answer.status, content_type=answer.content_type)


def create_witness_app(witness: Witness, max_body: int = MAX_REQUEST_BYTES) -> Flask:
    """The witness's WSGI app."""
    app = Flask("receipts.witness")

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        length = request.content_length
        if length is not None and length > max_body:
            return _response(Answer(413, reason=f"a request is at most {max_body} bytes"))
        if length is None and not request.environ.get("wsgi.input_terminated"):
            return _response(Answer(411, reason="send a Content-Length"))
        stream = request.environ["wsgi.input"]
        # Never read past a Content-Length (PEP 3333): a server that hands over the raw
        # socket (Werkzeug's) would block here until the client gave up.
        body = read_body(stream, max_body) if length is None else read_exactly(stream, length)
        if body is None and length is not None:
            return _response(Answer(400, reason="the body ended before its Content-Length"))
        if body is None:
            return _response(Answer(413, reason=f"a request is at most {max_body} bytes"))
        answer = witness.add_checkpoint(body)
        level = logging.INFO if answer.status in (200, 409) else logging.WARNING
        log.log(level, "add-checkpoint %d: %s", answer.status, answer.reason)
        return _response(answer)

    @app.get("/<origin_hash>/checkpoint")
    def checkpoint(origin_hash: str) -> Response:
        return _response(witness.checkpoint_of(origin_hash))

    @app.errorhandler(404)
    @app.errorhandler(405)
    def plain_error(error) -> Response:
        return Response(f"{error.name}\n", status=error.code, content_type=TEXT_CONTENT_TYPE)

    return app
