"""The images' supply chain, read from their Dockerfiles and locks (no docker needed): every
base image pinned by digest, the site running as a non-root user, every Python package
installed from a hash-locked requirements file that holds exactly pyproject.toml's
dependency set for that image, and the site's image without Beam, emulators or test tools.
What runs without a registry is checked here; the build itself is docs/DEPLOY.md's."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# image -> (Dockerfile, its lock, the extras of pyproject.toml it runs)
IMAGES = {
    "streaming": (ROOT / "templates/streaming/Dockerfile", ROOT / "templates/requirements.txt", ("pipelines",)),
    "reconcile": (ROOT / "templates/reconcile/Dockerfile", ROOT / "templates/requirements.txt", ("pipelines",)),
    "statements": (ROOT / "templates/statements/Dockerfile", ROOT / "templates/requirements.txt", ("pipelines",)),
    "site": (ROOT / "verifier_site/Dockerfile", ROOT / "verifier_site/requirements.txt", ("site",)),
}
# Images that must run as root, each with the reason beside its checkov skip (CKV_DOCKER_3).
ROOT_BY_NECESSITY = {"streaming", "reconcile", "statements"}  # Dataflow runs the SDK harness as root
NOT_IN_THE_SITE = {"apache-beam", "gcp-storage-emulator"} | {
    canonicalize_name(Requirement(spec).name) for spec in PYPROJECT["project"]["optional-dependencies"]["test"]
} - {"verifiable-receipts"}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def locked(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a requirements file; fails on any line that is not
    `name==version` followed by its hashes."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = re.sub(r"\\\n", " ", lock.read_text())
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        assert match, f"{lock.name}: not a pinned, hashed requirement: {line[:120]}"
        hashes = re.findall(r"sha256:[0-9a-f]{64}", match.group(3))
        entries[canonicalize_name(match.group(1))] = (match.group(2), hashes)
    return entries


def dependency_set(extras: tuple[str, ...]) -> list[Requirement]:
    """The core, the extras named and the image-build group: what an image must hold."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    specs = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["dependency-groups"]["image-build"]]
    for extra in extras:
        specs += optional[extra]
    return [Requirement(spec) for spec in specs]


@pytest.mark.parametrize("image", IMAGES)
def test_every_base_image_is_pinned_by_digest(image: str) -> None:
    """FROM image[:tag]@sha256:<64 hex>, or @${ARG} of an ARG declared before the first FROM
    with no default (the build stops without it) or a default that is such a digest."""
    dockerfile = IMAGES[image][0]
    steps = instructions(dockerfile)
    first_from = next(at for at, (kind, _) in enumerate(steps) if kind == "FROM")
    declared = [value for kind, value in steps[:first_from] if kind == "ARG"]
    arguments = dict(re.fullmatch(r"(\w+)(?:=(.*))?", value).groups() for value in declared)
    stages: set[str] = set()
    froms = [value for kind, value in steps if kind == "FROM"]
    assert froms
    for value in froms:
        reference, *alias = value.split()
        if reference in stages:
            continue
        name, at, digest = reference.partition("@")
        assert at, f"{dockerfile}: FROM {reference} is not pinned by digest"
        if variable := re.fullmatch(r"\$\{(\w+)\}", digest):
            assert variable.group(1) in arguments, f"{dockerfile}: {digest} is not a global ARG"
            default = arguments[variable.group(1)]
            assert default is None or DIGEST.fullmatch(default), f"{dockerfile}: {variable.group(1)}={default}"
        else:
            assert DIGEST.fullmatch(digest), f"{dockerfile}: {reference}"
        assert "latest" not in name, reference
        if alias:
            stages.add(alias[-1])


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_runs_as_a_non_root_user_or_says_why_not(image: str) -> None:
    dockerfile = IMAGES[image][0]
    steps = instructions(dockerfile)
    last_from = max(at for at, (kind, _) in enumerate(steps) if kind == "FROM")
    users = [value for kind, value in steps[last_from:] if kind == "USER"]
    if image in ROOT_BY_NECESSITY:
        assert users == [], f"{image}: runs as root on purpose; a USER here would fail on Dataflow"
        [reason] = re.findall(r"#checkov:skip=CKV_DOCKER_3:(.+)", dockerfile.read_text())
        assert "root" in reason and len(reason) > 60
        return
    assert users, f"{image}: no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"{image}: USER {users[-1]} (numeric, non-zero: checkable by a runtime)"
    after = [kind for kind, _ in steps[last_from:]][[kind for kind, _ in steps[last_from:]].index("USER") :]
    assert "RUN" not in after, f"{image}: a RUN after USER: the user is set too early"


@pytest.mark.parametrize("image", IMAGES)
def test_every_pip_install_is_the_hashed_lock_or_the_project_without_dependencies(image: str) -> None:
    dockerfile, lock, _ = IMAGES[image]
    runs = [value for kind, value in instructions(dockerfile) if kind == "RUN" and "pip install" in value]
    relative = str(lock.relative_to(ROOT))
    assert any(f"--require-hashes --no-deps -r {relative}" in run for run in runs), (
        f"{image} does not install {relative} with --require-hashes"
    )
    copies = [value.split() for kind, value in instructions(dockerfile) if kind == "COPY"]
    assert [relative, relative] in copies, f"{image} does not copy {relative}"
    for run in runs:
        for command in re.findall(r"pip install ([^&;]+)", run):
            hashed = f"--require-hashes --no-deps -r {relative}" in command
            project = re.fullmatch(r"--no-cache-dir --no-deps --no-build-isolation --no-index \.\s*", command)
            assert hashed or project, f"{image}: pip install {command}"


@pytest.mark.parametrize("lock", sorted({lock for _, lock, _ in IMAGES.values()}), ids=lambda path: path.parent.name)
def test_every_locked_requirement_is_pinned_with_hashes(lock: Path) -> None:
    entries = locked(lock)
    assert len(entries) > 20
    assert all(hashes for _, hashes in entries.values())
    header = lock.read_text().splitlines()[:2]
    assert "uv pip compile pyproject.toml" in header[1] and "--generate-hashes" in header[1], header


@pytest.mark.parametrize("image", IMAGES)
def test_the_lock_holds_what_pyproject_asks_for_that_image(image: str) -> None:
    """Every requirement of the core, the image's extras and image-build is locked at a
    version it allows: a changed pyproject.toml fails here until the lock is compiled again
    (docs/DEPLOY.md, "Dependency locks")."""
    _, lock, extras = IMAGES[image]
    entries = locked(lock)
    for requirement in dependency_set(extras):
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{lock.name} lacks {requirement}"
        assert requirement.specifier.contains(entries[name][0], prereleases=True), f"{requirement}: {entries[name][0]}"


def test_the_site_lock_has_no_beam_no_emulator_and_no_test_tool() -> None:
    site = locked(IMAGES["site"][1])
    assert NOT_IN_THE_SITE & site.keys() == set()
    assert {"apache-beam", "pytest", "gcp-storage-emulator"} <= NOT_IN_THE_SITE
    assert {"flask", "gunicorn", "waitress"} <= site.keys()
    pipelines = locked(IMAGES["streaming"][1])
    assert (NOT_IN_THE_SITE - {"apache-beam"}) & pipelines.keys() == set()
    assert {"flask", "gunicorn"} & pipelines.keys() == set()


def test_shared_packages_have_one_version_across_the_images() -> None:
    """The site's lock is compiled against the pipelines' (-c templates/requirements.txt)."""
    site, pipelines = locked(IMAGES["site"][1]), locked(IMAGES["streaming"][1])
    differing = {name: (site[name][0], pipelines[name][0]) for name in site.keys() & pipelines.keys()}
    assert {name: versions for name, versions in differing.items() if versions[0] != versions[1]} == {}
    assert "-c templates/requirements.txt" in IMAGES["site"][1].read_text().splitlines()[1]


def test_beam_is_one_version_in_pyproject_the_lock_and_the_dockerfiles() -> None:
    [pin] = PYPROJECT["project"]["optional-dependencies"]["pipelines"]
    version = pin.split("==")[1]
    assert locked(IMAGES["streaming"][1])["apache-beam"][0] == version
    for image in ("streaming", "reconcile"):
        assert f"ARG BEAM_VERSION={version}\n" in IMAGES[image][0].read_text()


BLOCK_BEAM = """
import importlib.abc, sys
class NoBeam(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("apache_beam", "gcp_storage_emulator"):
            raise ModuleNotFoundError(f"No module named {name!r} (not in the site image)")
sys.meta_path.insert(0, NoBeam())
"""


def test_the_site_command_runs_without_beam_or_emulators() -> None:
    """What `receipts serve` loads imports neither (the site image has neither installed)."""
    script = BLOCK_BEAM + (
        "from click.testing import CliRunner\n"
        "from receipts_cli.main import main\n"
        "import verifier_site.app, verifier_site.server, verifier_site.worker\n"
        "result = CliRunner().invoke(main, ['serve', '--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'apache_beam' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
