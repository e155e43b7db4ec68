"""The emulator manager (receipts_cli/emulators.py) on its own: the Cloud Storage emulator
(PyPI, no Cloud SDK needed) keeps its objects in the home however the home is spelled, and
an `up` whose emulator cannot start leaves none of the ones it started running."""

import json
import sys
import urllib.request
from pathlib import Path

import pytest

from receipts_cli.emulators import EmulatorError, Emulators, alive, emulator_command


def request(url: str, data: bytes | None = None, content_type: str = "application/json") -> bytes:
    headers = {"Content-Type": content_type} if data is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as response:
        return response.read()


def test_cloud_storage_keeps_its_objects_however_the_home_is_spelled(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = Emulators(Path("home") / "emulators")  # `--home home`, resolved from the working folder
    base = relative.up(names=["storage"])["storage"].value
    try:
        request(f"{base}/storage/v1/b?project=billing-local", json.dumps({"name": "archive"}).encode())
        request(f"{base}/upload/storage/v1/b/archive/o?uploadType=media&name=kept.jsonl", b"line\n", "text/plain")
    finally:
        stopped = relative.stop("storage")
    assert not alive(stopped.pid)

    for spelling in (tmp_path / "home" / "emulators", Path("./home/../home/emulators")):
        again = Emulators(spelling)
        assert again.folder == relative.folder == (tmp_path / "home" / "emulators").resolve()
        base = again.up(names=["storage"])["storage"].value
        try:
            assert request(f"{base}/storage/v1/b/archive/o/kept.jsonl?alt=media") == b"line\n"
        finally:
            again.stop("storage")


def never_answers(name: str, port: int, admin_port: int, project: str) -> list[str]:
    """Cloud Storage as usual; every other emulator a process that never answers."""
    if name == "storage":
        return emulator_command(name, port, admin_port, project)
    return [sys.executable, "-c", "import time; time.sleep(600)"]


def launches(emulators: Emulators, monkeypatch) -> list[int]:
    """The pids of every process `emulators` launches from now on."""
    pids: list[int] = []
    launch = emulators._launch

    def recorded(*args, **kwargs):
        item = launch(*args, **kwargs)
        pids.append(item.pid)
        return item

    monkeypatch.setattr(emulators, "_launch", recorded)
    return pids


def test_an_emulator_that_does_not_answer_in_time_leaves_none_running(tmp_path: Path, monkeypatch) -> None:
    emulators = Emulators(tmp_path / "emulators", command=never_answers)
    launched = launches(emulators, monkeypatch)
    with pytest.raises(EmulatorError) as raised:
        emulators.up(names=["firestore", "storage"], timeout=3)
    message = str(raised.value)
    assert "the firestore emulator did not answer in 3 s" in message
    assert str(tmp_path / "emulators" / "firestore.log") in message
    assert "stopped the ones it had started (firestore, storage)" in message
    assert len(launched) == 2 and not any(alive(pid) for pid in launched)
    assert emulators.running() == {}


def test_an_emulator_that_cannot_be_launched_stops_the_ones_started_before(tmp_path: Path, monkeypatch) -> None:
    def missing(name: str, port: int, admin_port: int, project: str) -> list[str]:
        if name == "storage":
            return [str(tmp_path / "no-such-emulator")]
        return [sys.executable, "-c", "import time; time.sleep(600)"]

    emulators = Emulators(tmp_path / "emulators", command=missing)
    launched = launches(emulators, monkeypatch)
    with pytest.raises(EmulatorError, match="the storage emulator could not start") as raised:
        emulators.up(names=["pubsub", "storage"], timeout=3)
    assert str(tmp_path / "emulators" / "storage.log") in str(raised.value)
    assert len(launched) == 1 and not alive(launched[0])  # pubsub's stand-in, stopped again
    assert json.loads((tmp_path / "emulators" / "state.json").read_text()) == {}
