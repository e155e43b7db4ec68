"""Every POST route answers 413 for a body over its limit however it is framed, and never
acts on a prefix (a chunked body used to be cut silently at MAX_CONTENT_LENGTH).

A chunked body is simulated at the WSGI level as servers hand it to the app: no
CONTENT_LENGTH, `Transfer-Encoding: chunked`, `wsgi.input_terminated`, and a stream that
returns less than asked per read. tests/site/test_slow_clients.py sends real chunked
requests over sockets to `receipts serve`.
"""

import io
import json

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.conftest import event_bytes
from tests.site.conftest import Site
from verifier_site.bodies import DEFAULT_SETTING

POST_ROUTES = ["/account/sign-in", "/lookup", "/sign-out", "/v1/events", "/v1/events:batch", "/v1/verify", "/verify"]


class TricklingInput(io.RawIOBase):
    """A WSGI input that hands out at most 1000 bytes per read, as a socket might."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(1000 if size is None or size < 0 else min(size, 1000))


def send(site: Site, path: str, body: bytes, chunked: bool, headers: dict[str, str] | None = None):
    """POST `body` to `path`, with a Content-Length or chunked; (status, JSON or None, text)."""
    builder = EnvironBuilder(path=path, method="POST", data=body, headers=headers or {})
    environ = builder.get_environ()
    if chunked:
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
        environ["wsgi.input"] = TricklingInput(body)
    app_iter, status, _ = run_wsgi_app(site.app, environ, buffered=True)
    text = b"".join(app_iter).decode()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return int(status.split()[0]), data, text


def post_routes(site: Site) -> list[str]:
    return sorted(rule.rule for rule in site.app.url_map.iter_rules() if "POST" in (rule.methods or ()))


def limit_of(site: Site, path: str) -> int:
    rules = site.app.url_map.iter_rules()
    endpoint = next(rule.endpoint for rule in rules if rule.rule == path and "POST" in (rule.methods or ()))
    view = site.app.view_functions[endpoint]
    return int(site.app.config[getattr(view, "body_limit_setting", DEFAULT_SETTING)])


def test_every_post_route_is_known_here(ingest_site: Site) -> None:
    """A new POST route must be added to the limits tests below (and given its limit)."""
    assert post_routes(ingest_site) == POST_ROUTES


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", POST_ROUTES)
def test_a_body_one_byte_over_the_limit_is_413_at_the_limit_it_is_read(ingest_site: Site, path, chunked) -> None:
    limit = limit_of(ingest_site, path)
    headers = {**ingest_site.bearer(), "Content-Type": "application/x-www-form-urlencoded"}
    status, data, text = send(ingest_site, path, b"a" * (limit + 1), chunked, headers)
    assert status == 413, text
    if data is not None:
        assert data["error"]["code"] == "payload_too_large" and str(limit) in data["error"]["message"]
    status, _, text = send(ingest_site, path, b"a" * limit, chunked, headers)
    assert status != 413, text


def test_the_limits_are_the_documented_ones(ingest_site: Site) -> None:
    config = ingest_site.app.config
    assert limit_of(ingest_site, "/v1/verify") == limit_of(ingest_site, "/verify") == config["MAX_CONTENT_LENGTH"]
    assert limit_of(ingest_site, "/v1/events") == 64 * 1024  # the pipeline's own message limit
    assert limit_of(ingest_site, "/v1/events:batch") == config["INGEST_MAX_BATCH_BYTES"]
    assert limit_of(ingest_site, "/lookup") == limit_of(ingest_site, "/sign-out") == config["MAX_FORM_BYTES"]


def jsonl_with_forged_tail(site: Site, limit: int) -> bytes:
    """Genuine receipts up to the limit, then a receipt whose amount was edited."""
    genuine = [json.dumps(receipt).encode() for receipt in site.receipts["cust_1"]]
    lines, size = [], 0
    while size < limit:
        line = genuine[len(lines) % len(genuine)]
        lines.append(line)
        size += len(line) + 1
    forged = dict(site.receipts["cust_2"][0], amount="0.01")
    return b"\n".join([*lines, json.dumps(forged).encode()])


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_verify_never_answers_for_a_prefix(make_site, chunked) -> None:
    site = make_site(MAX_CONTENT_LENGTH=20_000, MAX_VERIFY_RECEIPTS=10_000)
    body = jsonl_with_forged_tail(site, 20_000)
    status, data, text = send(site, "/v1/verify", body, chunked, {"Content-Type": "application/x-ndjson"})
    assert status == 413, text
    assert data["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_batch_over_its_limit_publishes_nothing(make_site, instant, chunked) -> None:
    site = make_site(INGEST_PUBLISHER=instant, INGEST_MAX_BATCH_BYTES=4096)
    events = [event_bytes(customer_id="cust_1", idempotent_key=f"k-{n}") for n in range(40)]
    body = b"\n".join(events)
    assert len(body) > 4096
    headers = {**site.bearer(), "Content-Type": "application/x-ndjson"}
    status, _, text = send(site, "/v1/events:batch", body, chunked, headers)
    assert status == 413, text
    assert instant.messages == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_event_over_64_kib_is_refused_whole(ingest_site: Site, instant, chunked) -> None:
    event = json.loads(event_bytes(customer_id="cust_1"))
    event["usage_description"] = "x" * (64 * 1024)  # the body is valid JSON only as a whole
    body = json.dumps(event).encode()
    status, _, text = send(ingest_site, "/v1/events", body, chunked, ingest_site.bearer())
    assert status == 413, text
    assert instant.messages == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_within_its_limit_is_read_whole_however_framed(ingest_site: Site, instant, chunked) -> None:
    events = [event_bytes(customer_id="cust_1", idempotent_key=f"k-{n}") for n in range(30)]
    headers = {**ingest_site.bearer(), "Content-Type": "application/x-ndjson"}
    status, data, text = send(ingest_site, "/v1/events:batch", b"\n".join(events), chunked, headers)
    assert status == 202, text
    assert data["accepted"] == 30 and len(instant.messages) == 30
    body = b"\n".join(json.dumps(receipt).encode() for receipt in ingest_site.receipts["cust_1"])
    status, data, text = send(ingest_site, "/v1/verify", body, chunked)
    assert status == 200 and data["ok"] is True and data["count"] == 3, text
