"""The layers of docs/LAYOUT.md hold: import-linter's contracts in pyproject.toml are kept by
the code as it is, and an import that breaks a layer breaks its contract (so CI fails)."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from copy import deepcopy
from pathlib import Path

import grimp
import importlinter.api  # noqa: F401  (configures import-linter's settings)
import pytest
from importlinter.application import use_cases
from importlinter.application.app_config import settings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "pyproject.toml")


def lint_imports() -> str:
    return shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"


def test_every_contract_is_kept() -> None:
    """`make lint` runs the same command: this worktree's code, no cache."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [lint_imports(), "--config", CONFIG, "--no-cache"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken" in done.stdout


class GivenGraph:
    """import-linter's graph builder, replaced: the real graph with some imports added."""

    def __init__(self, graph: grimp.ImportGraph) -> None:
        self.graph = graph

    def build(self, **_: object) -> grimp.ImportGraph:
        return deepcopy(self.graph)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    options = use_cases.read_user_options(CONFIG)
    return grimp.build_graph(*options.session_options["root_packages"], include_external_packages=True, cache_dir=None)


def broken_with(graph: grimp.ImportGraph, imports: Iterable[tuple[str, str]]) -> set[str]:
    """The ids of the contracts broken once `imports` (importer, imported) are added."""
    changed = deepcopy(graph)
    for importer, imported in imports:
        changed.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    use_cases._register_built_in_contract_types()  # what lint_imports() does first
    previous = settings.GRAPH_BUILDER
    settings.configure(GRAPH_BUILDER=GivenGraph(changed))
    try:
        report = use_cases.create_report(use_cases.read_user_options(CONFIG), cache_dir=None)
    finally:
        settings.configure(GRAPH_BUILDER=previous)
    assert not report.could_not_run, report.invalid_contract_options
    return {contract.contract_options["id"] for contract, check in report.get_contracts_and_checks() if not check.kept}


def test_the_graph_as_it_is_breaks_nothing(graph: grimp.ImportGraph) -> None:
    assert broken_with(graph, []) == set()


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    [
        ("verifier_site.app", "apache_beam", "site-runs-no-beam"),
        ("verifier_site.checks", "transforms.parse", "site-runs-no-beam"),
        ("transforms.parse", "pipelines.batch", "transforms-below-pipelines"),
        ("pipelines.batch", "verifier_site.app", "pipelines-know-no-site"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    graph: grimp.ImportGraph, importer: str, imported: str, contract: str
) -> None:
    assert contract in broken_with(graph, [(importer, imported)])
