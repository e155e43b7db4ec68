"""`receipts witness key|serve` (receipts_cli/witness.py, witness_server.py): the key in the
home, mode 0600, printed as its vkey; the HTTP answers of tlog-witness through Flask's test
client; and the real server over a socket, with a chunked body past the limit refused and
a restart that keeps the witness's state."""

import hashlib
import http.client
import os
import socket
import stat
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.stores.witness_state import FileWitnessState
from receipts.tlog.cosignatures import CosignatureVerifier, open_witnessed_checkpoint
from receipts.tlog.notes import with_signature_lines
from receipts.tlog.witness import MAX_REQUEST_BYTES, MemoryWitnessState, Witness
from receipts_cli.main import main
from receipts_cli.witness_server import create_witness_app
from tests.tlog.witnessing import ORIGIN, Log, witness_signer

ROOT = Path(__file__).resolve().parents[2]


def receipts(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_the_witness_key_is_made_once_and_kept_secret(tmp_path: Path) -> None:
    made = receipts(tmp_path, "witness", "key", "--name", "witness.example/w1")
    assert made.exit_code == 0, made.output
    vkey = made.stdout.strip()
    assert CosignatureVerifier.from_vkey(vkey).name == "witness.example/w1"
    key = tmp_path / "witness" / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert key.read_text().startswith("PRIVATE+KEY+witness.example/w1+")
    again = receipts(tmp_path, "witness", "key")
    assert again.exit_code == 0 and again.stdout.strip() == vkey
    bad = receipts(tmp_path / "other", "witness", "key", "--name", "has space")
    assert bad.exit_code == 2 and "--name" in bad.output


def test_serve_needs_a_key_and_log_vkeys(tmp_path: Path) -> None:
    no_key = receipts(tmp_path, "witness", "serve", "--log", Log().signer.verifier.key.vkey)
    assert no_key.exit_code == 1 and "receipts witness key" in no_key.output
    receipts(tmp_path, "witness", "key")
    not_a_vkey = receipts(tmp_path, "witness", "serve", "--log", "billing.example/log+00000000+AAAA")
    assert not_a_vkey.exit_code == 2 and "--log" in not_a_vkey.output


@pytest.fixture
def log() -> Log:
    return Log().grow(10)


@pytest.fixture
def client(log: Log):
    witness = Witness.for_vkeys(witness_signer(), [log.signer.verifier.key.vkey], MemoryWitnessState())
    return create_witness_app(witness).test_client()


def test_the_http_answers(client, log: Log) -> None:
    answer = client.post("/add-checkpoint", data=log.body(0))
    assert answer.status_code == 200 and answer.data.startswith("— witness.example/w1 ".encode())
    conflict = client.post("/add-checkpoint", data=log.body(0))
    assert (conflict.status_code, conflict.data, conflict.content_type) == (409, b"10\n", "text/x.tlog.size")
    other = Log(salt=b"x").grow(3)
    assert client.post("/add-checkpoint", data=other.body(0)).status_code == 403
    assert client.post("/add-checkpoint", data=b"nonsense").status_code == 400
    assert client.get("/add-checkpoint").status_code == 405
    assert client.get("/nothing").status_code == 404
    monitored = client.get(f"/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint")
    assert monitored.status_code == 200 and monitored.data.endswith(answer.data)
    assert monitored.content_type == "text/plain; charset=utf-8"


def without_length(client, body: bytes, terminated: bool):
    """A POST as a chunked body reaches the app: no Content-Length, the stream ending (or not)."""
    return client.post(
        "/add-checkpoint",
        input_stream=BytesIO(body),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": terminated},
    )


def test_bodies_past_the_limit_are_refused_however_framed(client, log: Log) -> None:
    big = log.body(0) + b"x" * MAX_REQUEST_BYTES
    assert client.post("/add-checkpoint", data=big).status_code == 413  # by its Content-Length
    assert without_length(client, big, True).status_code == 413  # read to the limit and a byte past it
    assert without_length(client, log.body(0), True).status_code == 200
    assert without_length(client, log.body(0), False).status_code == 411  # nothing to bound it by


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(home: Path, port: int, vkey: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = "from receipts_cli.main import main; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", command, "--home", str(home), "witness", "serve", "--port", str(port), "--log", vkey],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            assert server.poll() is None, server.stderr.read().decode()
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the witness did not listen within 30 s")


def post(port: int, body: bytes, chunked: bool = False) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    if chunked:
        connection.putrequest("POST", "/add-checkpoint")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        try:
            for start_at in range(0, len(body), 4096):
                piece = body[start_at : start_at + 4096]
                connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413) and closed before the rest arrived: read its answer
    else:
        connection.request("POST", "/add-checkpoint", body=body)
    response = connection.getresponse()
    result = response.status, response.read()
    connection.close()
    return result


def test_the_server_over_a_socket_and_across_a_restart(tmp_path: Path, log: Log) -> None:
    witness_vkey = receipts(tmp_path, "witness", "key", "--name", "witness.example/w1").stdout.strip()
    vkey, port = log.signer.verifier.key.vkey, free_port()
    server = start(tmp_path, port, vkey)
    try:
        status, lines = post(port, log.body(0))
        assert status == 200
        cosigned = with_signature_lines(log.note(), lines)
        verifier = CosignatureVerifier.from_vkey(witness_vkey)
        open_witnessed_checkpoint(cosigned, [log.signer.verifier], [verifier], 1, ORIGIN)
        assert post(port, log.body(0) + b"x" * MAX_REQUEST_BYTES, chunked=True)[0] == 413
        assert post(port, Log(log.signer).grow(12).body(10), chunked=True)[0] == 200
    finally:
        server.terminate()
        server.wait(10)
    assert FileWitnessState(tmp_path / "witness" / "state.json").latest(ORIGIN).size == 12
    server = start(tmp_path, port, vkey)
    try:
        assert post(port, log.body(0)) == (409, b"12\n")
    finally:
        server.terminate()
        server.wait(10)
