"""`receipts serve` end to end: gunicorn started by the CLI answers on a free port with
the home's keys and store, and an API key made by the CLI works against it."""

import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from receipts_cli.main import main

START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_serve_runs_the_site_under_gunicorn(home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--home", str(home), "keys", "jwks"]).exit_code == 0
    key = runner.invoke(main, ["--home", str(home), "api-keys", "create", "--customer", "cust_1"]).stdout.strip()
    port = free_port()
    command = [sys.executable, "-c", "from receipts_cli.main import main; main()", "--home", str(home), "serve"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, body = get(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200, f"the server did not answer: exit {server.poll()}"
        assert json.loads(body)["status"] == "ok"
        status, body = get(f"{base}/v1/customers/cust_1/receipts", {"Authorization": f"Bearer {key}"})
        assert status == 200 and json.loads(body)["receipts"] == []
        assert get(f"{base}/v1/customers/cust_1/receipts")[0] == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"open http://127.0.0.1:{port}/" in output
    assert "gunicorn" in output.lower() or "Listening at" in output
    assert stat.S_IMODE(os.stat(home / "site-secret").st_mode) == 0o600


def test_serve_refuses_a_mistyped_log_key_before_starting(home: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(home), "serve", "--log-vkey", "billing.test/log+nope"])
    assert result.exit_code == 2 and "LOG_VKEY is not a verifier key" in result.output
    quorum = CliRunner().invoke(main, ["--home", str(home), "serve", "--log-quorum", "1"])
    assert quorum.exit_code == 2 and "--log-quorum 1 needs" in quorum.output


def test_the_site_serves_the_log_beside_the_homes_archive(home: Path) -> None:
    from receipts_cli.home import Home
    from receipts_cli.site import site_config

    assert site_config(Home(home))["LOG_URL"] == str(home / "archive" / "log")


def test_the_site_names_the_homes_log_key_without_making_one(home: Path) -> None:
    from receipts_cli.home import Home
    from receipts_cli.site import home_log_vkey

    assert home_log_vkey(Home(home)) is None and not (home / "log" / "log.key").exists()
    runner = CliRunner()
    assert runner.invoke(main, ["--home", str(home), "log", "integrate"]).exit_code == 0
    info = json.loads(runner.invoke(main, ["--home", str(home), "log", "info", "--json"]).stdout)
    assert home_log_vkey(Home(home)) == info["vkey"]
