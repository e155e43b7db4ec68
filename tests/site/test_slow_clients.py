"""Slow and idle clients cannot stall `receipts serve`: real sockets against the real server.

Under gunicorn's threaded worker, four connections that sent half a request head held
all four threads and nobody, /healthz included, got an answer. The site's worker
(verifier_site/worker.py) reads every connection in an event loop and gives a thread only
a request that has arrived whole.
"""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts_cli.main import main
from tests.site.test_serve import START_TIMEOUT_S, free_port, get

THREADS = 4
ANSWER_TIMEOUT_S = 20  # a hang guard for each answer, not a performance bound


@pytest.fixture
def server(home: Path) -> Iterator[str]:
    """`receipts serve --threads 4` on a free port; its base URL."""
    assert CliRunner().invoke(main, ["--home", str(home), "keys", "jwks"]).exit_code == 0
    port = free_port()
    command = [sys.executable, "-c", "from receipts_cli.main import main; main()", "--home", str(home), "serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--threads", str(THREADS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"the server did not start: exit {process.poll()}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=ANSWER_TIMEOUT_S)
    return connection


def exchange(base: str, request: bytes) -> tuple[int, bytes]:
    """Send one whole request on a new connection; the status and body of the answer."""
    with connect(base) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_the_site_answers_while_slow_clients_hold_many_more_connections_than_threads(server: str) -> None:
    held = []
    try:
        for _ in range(10 * THREADS):  # half a request head, then nothing
            connection = connect(server)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            held.append(connection)
        for _ in range(5 * THREADS):  # a whole head promising a body that never comes
            connection = connect(server)
            connection.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n[{")
            held.append(connection)
        held += [connect(server) for _ in range(5 * THREADS)]  # connected, silent
        for _ in range(3):
            status, body = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        for connection in held:
            connection.close()


def chunked(body: bytes, size: int = 4096) -> bytes:
    parts = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


@pytest.mark.parametrize("over", [1, 1000], ids=["one-byte-over", "far-over"])
def test_a_chunked_body_over_the_limit_is_413_over_a_real_socket(server: str, over: int) -> None:
    limit = 1024 * 1024
    head = b"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    status, _ = exchange(server, head + chunked(b" " * (limit + over)))
    assert status == 413
    status, body = exchange(server, head + chunked(b" " * (limit - 2) + b"{}"))
    assert status == 200 and json.loads(body)["count"] == 1  # read whole; an empty object fails its checks
