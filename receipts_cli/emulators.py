"""Start, find and stop the local Google Cloud: the official Pub/Sub, Spanner and
Firestore emulators from the Cloud SDK, and a Cloud Storage emulator from PyPI.

Each runs as its own process group on a free (or given) port. Their pids, ports and logs
live in one folder (`HOME/emulators/`), so later commands, and `down`, find them without
any variable being exported.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_PROJECT = "billing-local"  # Beam's ReadFromPubSub refuses ids shorter than 6 characters
STATE_FILE = "state.json"
STORAGE_DATA = ".cloudstorage"  # where the Cloud Storage emulator keeps objects (under STORAGE_BASE)
NAMES = ("pubsub", "spanner", "firestore", "storage")
VARIABLES = {
    "pubsub": "PUBSUB_EMULATOR_HOST",
    "spanner": "SPANNER_EMULATOR_HOST",
    "firestore": "FIRESTORE_EMULATOR_HOST",
    "storage": "STORAGE_EMULATOR_HOST",
}
INSTALL_HINT = (
    "install the Google Cloud CLI with its emulators (Debian: apt-get install google-cloud-cli "
    "google-cloud-cli-pubsub-emulator google-cloud-cli-firestore-emulator google-cloud-cli-spanner-emulator, "
    "plus a Java 17 runtime), or `gcloud components install pubsub-emulator cloud-firestore-emulator "
    "cloud-spanner-emulator`"
)


class EmulatorError(RuntimeError):
    """An emulator is missing, did not start, or did not answer."""


@dataclass(frozen=True)
class Running:
    """One started emulator: enough to reach it, read its log and stop it."""

    name: str
    pid: int
    port: int
    value: str  # what its *_EMULATOR_HOST variable holds
    log: str
    admin_port: int | None = None  # Spanner's REST port, used to check it answers

    @property
    def variable(self) -> str:
        return VARIABLES[self.name]


def cloud_sdk_root() -> Path | None:
    """The Cloud SDK's root folder, found from `gcloud` on PATH; None when absent."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    try:
        out = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        out = ""
    root = Path(out) if out else Path(os.path.realpath(gcloud)).parent.parent
    return root if root.is_dir() else None


def missing_tools(names: Collection[str] = NAMES) -> list[str]:
    """What the emulators `names` need and this machine lacks, in words a user can act on.
    Cloud Storage's comes from PyPI with this package: only the others need the Cloud SDK."""
    problems = []
    wanted = set(names) - {"storage"}
    if not wanted:
        return []
    root = cloud_sdk_root()
    if root is None:
        return [f"the Google Cloud CLI (`gcloud`) is not on PATH: {INSTALL_HINT}"]
    if "spanner" in wanted and not (root / "bin" / "cloud_spanner_emulator" / "gateway_main").exists():
        problems.append(f"the Cloud Spanner emulator is not in {root}/bin/cloud_spanner_emulator: {INSTALL_HINT}")
    for name, folder in (("pubsub", "pubsub-emulator"), ("firestore", "cloud-firestore-emulator")):
        if name in wanted and not (root / "platform" / folder).is_dir():
            problems.append(f"{folder} is not in {root}/platform: {INSTALL_HINT}")
    if wanted & {"pubsub", "firestore"} and shutil.which("java") is None:
        problems.append("java is not on PATH: the Pub/Sub and Firestore emulators need a Java 17 runtime")
    return problems


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


Command = Callable[[str, int, int, str], list[str]]  # (name, port, admin port, project) -> argv


def emulator_command(name: str, port: int, admin_port: int, project: str) -> list[str]:
    """How one emulator is started: the Cloud SDK's (Pub/Sub, Spanner, Firestore), PyPI's (Cloud Storage)."""
    if name == "storage":
        return [sys.executable, "-m", "gcp_storage_emulator", "start", "--host=127.0.0.1", f"--port={port}"]
    gcloud = shutil.which("gcloud") or "gcloud"
    if name == "pubsub":
        return [gcloud, "beta", "emulators", "pubsub", "start", f"--host-port=127.0.0.1:{port}", f"--project={project}"]
    if name == "firestore":
        return [gcloud, "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}"]
    gateway = (cloud_sdk_root() or Path("/nonexistent")) / "bin" / "cloud_spanner_emulator" / "gateway_main"
    return [str(gateway), "--hostname", "127.0.0.1", "--grpc_port", str(port), "--http_port", str(admin_port)]


def _probe_url(running: Running) -> str:
    if running.name == "spanner":
        return f"http://127.0.0.1:{running.admin_port}/v1/projects/{DEFAULT_PROJECT}/instanceConfigs"
    if running.name == "storage":
        return f"http://127.0.0.1:{running.port}/storage/v1/b?project={DEFAULT_PROJECT}"
    return f"http://127.0.0.1:{running.port}/"


def answers(running: Running, timeout: float = 2.0) -> bool:
    """Does the emulator answer a real request?"""
    try:
        with urllib.request.urlopen(_probe_url(running), timeout=timeout) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Emulators:
    """The four emulators of one folder: start them, read their state, stop them.

    The folder is made absolute once, here: the processes run in it, and Cloud Storage keeps
    its objects under it, so however a home is spelled (relative, ./x, absolute) a restart
    finds the same objects. `command` says how to start each (tests give one that fails)."""

    def __init__(self, folder: Path, command: Command = emulator_command) -> None:
        self.folder = Path(folder).resolve()
        self.state_path = self.folder / STATE_FILE
        self.command = command

    def running(self) -> dict[str, Running]:
        """The emulators this folder started whose processes are still alive."""
        if not self.state_path.exists():
            return {}
        entries = json.loads(self.state_path.read_text())
        found = {name: Running(**entry) for name, entry in entries.items()}
        return {name: item for name, item in found.items() if alive(item.pid)}

    def environment(self) -> dict[str, str]:
        """`*_EMULATOR_HOST` variables for every running emulator."""
        return {item.variable: item.value for item in self.running().values()}

    def up(
        self,
        project: str = DEFAULT_PROJECT,
        ports: dict[str, int] | None = None,
        timeout: float = 90.0,
        progress: Callable[[str], None] = lambda _: None,
        names: Collection[str] = NAMES,
    ) -> dict[str, Running]:
        """Start whichever of the four (or of `names`) is not running; wait until each answers.
        When one does not start or answer in time, the ones this call started are stopped
        again (none is left running orphaned) and the error names the one that failed and its log."""
        problems = missing_tools(names) if self.command is emulator_command else []
        if problems:
            raise EmulatorError("; ".join(problems))
        self.folder.mkdir(parents=True, exist_ok=True)
        running = self.running()
        started: dict[str, Running] = {}
        try:
            for name in NAMES:
                if name in names and name not in running:
                    started[name] = self._launch(name, (ports or {}).get(name) or free_port(), project)
            self._save({**running, **started})
            self._wait(started.values(), timeout, progress)
        except BaseException as error:  # Ctrl-C too: stop what this call started
            for item in started.values():
                stop_group(item.pid)
            self._save(running)
            if not isinstance(error, (EmulatorError, OSError)):
                raise
            stopped = f"; stopped the ones it had started ({', '.join(started)})" if started else ""
            raise EmulatorError(
                f"{error}{stopped}. Fix the cause (or let a loaded host calm down) and run `up` again"
            ) from error
        return {**running, **started}

    def stop(self, name: str) -> Running:
        """Stop one emulator, keeping its record so `start` brings it back on the same port.
        Cloud Storage keeps its objects on disk; the others lose their data."""
        item = self.running()[name]
        stop_group(item.pid)
        return item

    def start(self, stopped: Running, project: str = DEFAULT_PROJECT, timeout: float = 90.0) -> Running:
        """Start an emulator that `stop` stopped, on its old port."""
        item = self._launch(stopped.name, stopped.port, project, stopped.admin_port)
        self._save({**self.running(), stopped.name: item})
        self._wait([item], timeout)
        return item

    def _launch(self, name: str, port: int, project: str, admin_port: int | None = None) -> Running:
        admin_port = admin_port or free_port()
        command = self.command(name, port, admin_port, project)
        log = self.folder / f"{name}.log"
        environment = {**os.environ, "STORAGE_BASE": str(self.folder)}  # absolute: Cloud Storage objects live here
        with open(log, "ab") as handle:
            try:
                process = subprocess.Popen(
                    command,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: stopping it stops the JVM it spawns too
                    cwd=self.folder,
                    env=environment,
                )
            except OSError as error:
                raise EmulatorError(f"the {name} emulator could not start ({error}); see {log}") from error
        value = f"http://127.0.0.1:{port}" if name == "storage" else f"127.0.0.1:{port}"
        return Running(name, process.pid, port, value, str(log), admin_port if name == "spanner" else None)

    def _wait(self, items: Iterable[Running], timeout: float, progress: Callable[[str], None] = lambda _: None) -> None:
        deadline = time.monotonic() + timeout
        for item in items:
            progress(f"waiting for the {item.name} emulator on port {item.port}")
            while not answers(item):
                if not alive(item.pid):
                    raise EmulatorError(f"the {item.name} emulator exited; see {item.log}")
                if time.monotonic() > deadline:
                    raise EmulatorError(f"the {item.name} emulator did not answer in {timeout:.0f} s; see {item.log}")
                time.sleep(0.3)

    def down(self, timeout: float = 15.0) -> list[str]:
        """Stop every emulator this folder started; return their names."""
        stopped = []
        for item in self.running().values():
            stop_group(item.pid, timeout)
            stopped.append(item.name)
        if self.state_path.exists():
            self.state_path.unlink()
        shutil.rmtree(self.folder / STORAGE_DATA, ignore_errors=True)  # the others forget theirs too
        return stopped

    def _save(self, running: dict[str, Running]) -> None:
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({name: asdict(item) for name, item in running.items()}, indent=2) + "\n")
        temporary.replace(self.state_path)


def stop_group(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM a process group, then SIGKILL what is left after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            _reap(pid)
            time.sleep(0.1)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def export_lines(environment: dict[str, str]) -> list[str]:
    return [f"export {name}={value}" for name, value in sorted(environment.items())]
