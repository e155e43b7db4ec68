"""A home held by another run refuses at once: `run`, `demo`, `reconcile` and `stream` check
the home's run lock before they load Beam (which takes seconds), so the refusal names the
holder without that wait. Each command runs in a fresh interpreter while this process
holds the lock, and reports whether apache_beam was imported by the time it refused."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import receipts
from receipts.stores.keyring import KeyRing
from receipts_cli.home import Home
from tests.conftest import event_bytes

ROOT = Path(receipts.__file__).resolve().parents[1]
SCRIPT = """
import json, sys
from click.testing import CliRunner
from receipts_cli.main import main
result = CliRunner().invoke(main, sys.argv[1:])
print(json.dumps({"exit_code": result.exit_code, "output": result.output, "beam": "apache_beam" in sys.modules}))
"""


def refused(*args: str) -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "command, exit_code",
    [
        (["run", "--input", "{events}"], 1),
        (["demo"], 1),
        (["reconcile"], 2),
        (["--store", "gcp://billing-local", "stream", "--run-for", "1"], 1),
    ],
)
def test_a_busy_home_refuses_before_loading_beam(home: Path, tmp_path: Path, command: list, exit_code: int) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(event_bytes() + b"\n")
    KeyRing(home / "keys").ensure_current()  # reconcile asks for keys before anything else
    args = [part.format(events=events) for part in command]
    with Home(home).exclusive_run():
        answer = refused("--home", str(home), *args)
    assert answer["exit_code"] == exit_code, answer["output"]
    assert f"pid {os.getpid()} is already running the pipeline on {home}" in answer["output"]
    assert answer["beam"] is False
