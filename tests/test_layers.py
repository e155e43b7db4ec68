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
    changed = deepcopy(graph)  # the fixture's graph stays as the code is
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
        ("receipts.money", "apache_beam", "domain-is-pure"),
        ("receipts.verify", "flask", "domain-is-pure"),
        ("receipts.events", "google", "domain-is-pure"),  # google.cloud and google.api_core alike
        ("receipts.ledger", "click", "domain-is-pure"),
        ("receipts.reconciliation.report", "rich", "domain-is-pure"),
        ("receipts.stores.sqlite", "rich", "domain-is-pure"),  # the stores may use cloud clients, nothing else
        ("receipts.reconciliation.customer", "receipts.stores", "receipts-rooms"),
        ("receipts.tlog.tiles", "receipts.stores.sqlite", "receipts-rooms"),
        ("receipts.tlog.notes", "flask", "domain-is-pure"),
        ("receipts.tlog.notes", "receipts.tlog.checkpoints", "no-cycles"),
        ("receipts.canonical", "receipts.producer.publisher", "receipts-rooms"),
        ("receipts.stores.sqlite", "receipts.producer", "receipts-rooms"),
        ("receipts.canonical", "pipelines.batch", "layers"),
        ("receipts.stores.gcp.store", "transforms.sinks", "layers"),
        ("transforms.parse", "pipelines.batch", "layers"),
        ("pipelines.batch", "verifier_site.app", "layers"),
        ("verifier_site.app", "receipts_cli.home", "layers"),
        ("pipelines.batch", "verifier_site.app", "beam-runs-no-site"),
        ("transforms.sinks", "flask", "beam-runs-no-site"),
        ("verifier_site.app", "apache_beam", "site-runs-no-beam"),
        ("verifier_site.checks", "transforms.parse", "site-runs-no-beam"),
        ("receipts.canonical", "receipts.verify", "no-cycles"),
        ("receipts.stores.folder_archive", "receipts.stores.archives", "no-cycles"),
        ("verifier_site.openapi", "verifier_site.blueprints.api", "no-cycles"),
        ("receipts_cli.demo_cloud", "receipts_cli.demo", "no-cycles"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    graph: grimp.ImportGraph, importer: str, imported: str, contract: str
) -> None:
    assert contract in broken_with(graph, [(importer, imported)])


def test_a_module_outside_every_room_breaks_the_rooms_contract(graph: grimp.ImportGraph) -> None:
    """receipts/ is exhaustive: a new module must be placed in the domain, the stores or the producer."""
    changed = deepcopy(graph)
    changed.add_module("receipts.helpers")
    assert broken_with(changed, []) == {"receipts-rooms"}


def test_imports_inside_functions_are_in_the_graph(graph: grimp.ImportGraph) -> None:
    """A lazy import counts: receipts_cli.console loads Beam's batch job only inside run_pipeline."""
    assert graph.direct_import_exists(importer="receipts_cli.console", imported="pipelines.batch")
    assert graph.direct_import_exists(importer="receipts.stores", imported="receipts.stores.gcp.store")


DOMAIN_MAY_IMPORT = {"cryptography", "rfc8785", "joserfc"}


def test_the_domain_imports_only_the_standard_library_cryptography_rfc8785_and_joserfc(
    graph: grimp.ImportGraph,
) -> None:
    domain = {
        module
        for module in graph.find_descendants("receipts")
        if not module.startswith(("receipts.stores", "receipts.producer"))
    }
    external = {
        imported.split(".")[0]
        for module in domain
        for imported in graph.find_modules_directly_imported_by(module)
        if not imported.startswith("receipts")
    }
    assert external - set(sys.stdlib_module_names) - DOMAIN_MAY_IMPORT == set()
