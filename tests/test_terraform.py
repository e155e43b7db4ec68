"""Terraform without a terraform binary: every .tf parses (python-hcl2), every module
variable and output is documented, every module call names a module that exists, passes
only variables it declares and every one it requires, the files Terraform reads are the
ones the code uses, the alerts watch counters the code really has, and checkov finds
nothing (each skipped check carries its reason next to the resource)."""

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "terraform"
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


def module_dirs() -> list[Path]:
    return sorted({path.parent for path in tf_files()})


def unquote(value: Any) -> Any:
    """python-hcl2 keeps a string literal's quotes ('"x"'); expressions come as '${...}'."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def parsed(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


def blocks(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Every `kind` block (variable, output, module) of a folder's .tf files, by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        for block in parsed(path).get(kind, []):
            for name, body in block.items():
                found[unquote(name)] = body
    return found


def test_terraform_tree_has_every_module_and_both_environments() -> None:
    modules = {path.name for path in (TERRAFORM / "modules").iterdir() if path.is_dir()}
    assert {
        "pubsub", "spanner", "firestore", "storage", "kms", "iam", "dataflow", "cloudrun", "loadbalancer", "monitoring",
    } <= modules  # fmt: skip
    assert {path.name for path in (TERRAFORM / "environments").iterdir()} == {"dev", "prod"}


@pytest.mark.parametrize("path", tf_files(), ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_file_parses(path: Path) -> None:
    assert isinstance(parsed(path), dict)


@pytest.mark.parametrize("folder", module_dirs(), ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_variable_and_output_is_documented(folder: Path) -> None:
    for kind in ("variable", "output"):
        for name, body in blocks(folder, kind).items():
            description = unquote(body.get("description", ""))
            assert isinstance(description, str) and len(description) > 10, f"{kind} {name} in {folder.name}"
    assert blocks(folder, "variable") or folder.name == "services" or blocks(folder, "module")


@pytest.mark.parametrize(
    "folder", [path for path in module_dirs() if blocks(path, "module")], ids=lambda path: path.name
)
def test_module_calls_match_the_modules_they_call(folder: Path) -> None:
    for name, call in blocks(folder, "module").items():
        source = (folder / unquote(call["source"])).resolve()
        assert source.is_dir() and list(source.glob("*.tf")), f"module {name}: no module at {source}"
        declared = blocks(source, "variable")
        passed = {argument for argument in call if argument not in META_ARGUMENTS and not argument.startswith("__")}
        assert passed - declared.keys() == set(), f"module {name} passes undeclared variables"
        required = {variable for variable, body in declared.items() if "default" not in body}
        assert required - passed == set(), f"module {name} misses required variables"


def test_every_file_terraform_reads_exists() -> None:
    for path in tf_files():
        for relative in re.findall(r'\$\{path\.module\}/([^"]+)"', path.read_text()):
            assert (path.parent / relative).resolve().is_file(), f"{path}: {relative}"


def test_spanner_ddl_is_the_file_the_code_uses() -> None:
    from receipts.stores.gcp.schema import spanner_ddl

    [local] = parsed(TERRAFORM / "modules/spanner/main.tf")["locals"]
    ddl_file = unquote(local["ddl_file"]).replace("${path.module}", str(TERRAFORM / "modules/spanner"))
    assert Path(ddl_file).resolve() == ROOT / "receipts/stores/gcp/spanner.sql"
    # Split as schema.py splits it: "--" lines dropped, statements end with ";" at a line end.
    assert 'startswith(trimspace(line), "--")' in local["ddl_lines"]
    assert 'split(";\\n", join("\\n", local.ddl_lines))' in local["tables"]
    assert 'split(";\\n", join("\\n", local.roles_lines))' in local["roles"]
    assert len(spanner_ddl()) == 18 and len(spanner_ddl("spanner_roles.sql")) == 5
    resources = {
        unquote(kind): {unquote(name): body for name, body in named.items()}
        for block in parsed(TERRAFORM / "modules/spanner/main.tf")["resource"]
        for kind, named in block.items()
    }
    assert resources["google_spanner_database"]["this"]["ddl"] == "${local.ddl}"
    assert unquote(local["roles_file"]).endswith("/receipts/stores/gcp/spanner_roles.sql")
    assert local["ddl"] == "${concat(local.tables, local.roles)}"


def test_firestore_rules_and_indexes_are_the_files_the_code_uses() -> None:
    text = (TERRAFORM / "modules/firestore/main.tf").read_text()
    assert '"${path.module}/../../../receipts/stores/gcp/firestore.rules"' in text
    assert '"${path.module}/../../../receipts/stores/gcp/firestore.indexes.json"' in text


def beam_counters() -> set[str]:
    names = set()
    for path in (ROOT / "transforms").glob("*.py"):
        names |= set(re.findall(r'Metrics\.counter\("receipts", "(\w+)"\)', path.read_text()))
    return names


def test_alerts_watch_counters_the_pipeline_has() -> None:
    [local] = parsed(TERRAFORM / "modules/monitoring/main.tf")["locals"]
    watched = set(local["counters"])
    assert watched >= {"receipt_conflicts", "ledger_conflicts", "dead_letters", "idempotency_conflicts"}
    assert watched <= beam_counters()


def test_prod_is_multi_region() -> None:
    text = (TERRAFORM / "environments/prod/main.tf").read_text()
    variables = blocks(TERRAFORM / "environments/prod", "variable")
    assert unquote(variables["spanner_config"]["default"]).startswith("nam")  # a multi-region config
    assert "archive_data_locations" in text and "allowed_persistence_regions" in text
    assert 'for_each = var.site_image == "" ? toset([]) : toset(local.regions)' in text
    assert 'source = "../../modules/loadbalancer"' in text


def checkov_command() -> str:
    for candidate in (os.environ.get("CHECKOV"), str(ROOT / ".venv/checkov/bin/checkov"), shutil.which("checkov")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("checkov is not installed: `make venv` puts it in .venv/checkov (tests/tools/checkov-requirements.txt)")


def json_documents(text: str) -> list[dict]:
    decoder, documents, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        document, at = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
        documents.extend(document if isinstance(document, list) else [document])
    return documents


# checkov keeps a core busy for ~15 s: run it on the emulator tests' worker, after them or
# before them, never beside their timed streaming runs.
@pytest.mark.xdist_group("emulators")
def test_checkov_finds_nothing_and_every_skip_says_why() -> None:
    checkov = checkov_command()
    done = subprocess.run(
        [checkov, "-d", "terraform", "-d", "templates", "-d", "verifier_site", "--framework", "terraform",
         "dockerfile", "--compact", "--quiet", "--skip-download", "--output", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    reports = json_documents(done.stdout)  # one per framework and folder, one after the other
    assert reports, done.stderr[-2000:]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], "\n".join(failed)
    assert sum(report.get("summary", {}).get("passed", 0) for report in reports) > 50
    for path in [*tf_files(), *ROOT.glob("templates/*/Dockerfile"), ROOT / "verifier_site/Dockerfile"]:
        for skip in re.findall(r"#checkov:skip=(.*)", path.read_text()):
            check, _, reason = skip.partition(":")
            assert re.fullmatch(r"CKV2?_[A-Z]+_\d+", check) and len(reason) > 40, f"{path}: {skip}"


def resources_of(path: Path) -> dict[str, dict[str, Any]]:
    """Every resource of a file, by kind and name."""
    found: dict[str, dict[str, Any]] = {}
    for block in parsed(path).get("resource", []):
        for kind, named in block.items():
            found.setdefault(unquote(kind), {}).update({unquote(name): body for name, body in named.items()})
    return found


def test_the_reconciliation_is_scheduled_hourly_and_freezes_intake_on_failure() -> None:
    """Cloud Scheduler launches the reconcile Flex Template through the Dataflow API, with a
    token of a service account allowed to launch, parameters the template declares, and
    freeze_on_failure=true."""
    from pipelines import reconcile

    folder = TERRAFORM / "modules/reconcile_schedule"
    resources = resources_of(folder / "main.tf")
    job = resources["google_cloud_scheduler_job"]["reconcile"]
    assert unquote(blocks(folder, "variable")["schedule"]["default"]) == "0 * * * *"
    assert job["schedule"] == "${var.schedule}"
    [target] = job["http_target"]
    assert unquote(target["http_method"]) == "POST"
    assert unquote(target["uri"]).endswith("/locations/${var.region}/flexTemplates:launch")
    assert unquote(target["uri"]).startswith("https://dataflow.googleapis.com/v1b3/projects/")
    assert target["body"] == "${base64encode(jsonencode(local.launch))}"
    [token] = target["oauth_token"]
    assert token["service_account_email"] == "${google_service_account.launcher.email}"
    assert resources["google_project_iam_member"]["launcher_launches_dataflow"]["role"] == '"roles/dataflow.developer"'
    acts_as = resources["google_service_account_iam_member"]["launcher_acts_as_pipeline"]
    assert (
        unquote(acts_as["role"]) == "roles/iam.serviceAccountUser"
        and "var.service_account" in acts_as["service_account_id"]
    )
    [local] = parsed(folder / "main.tf")["locals"]
    launch = local["launch"]["launchParameter"]
    parameters = {name: unquote(value) for name, value in launch["parameters"].items()}
    assert parameters["freeze_on_failure"] == "true"
    declared = {p["name"] for p in json.loads((ROOT / "templates/reconcile/metadata.json").read_text())["parameters"]}
    assert set(parameters) - {"sdk_container_image"} <= declared
    assert set(reconcile.REQUIRED) <= set(parameters)
    assert unquote(launch["jobName"]) == "${var.job_name}"


def test_a_failed_reconciliation_job_pages_by_its_name() -> None:
    monitoring = TERRAFORM / "modules/monitoring"
    policy = resources_of(monitoring / "main.tf")["google_monitoring_alert_policy"]["reconcile_failed"]
    assert unquote(policy["severity"]) == "CRITICAL"
    [condition] = policy["conditions"]
    [threshold] = condition["condition_threshold"]
    assert 'resource.labels.job_name = \\"${var.reconcile_job_name}\\"' in threshold["filter"]
    assert "job/is_failed" in threshold["filter"]
    schedule = blocks(TERRAFORM / "modules/reconcile_schedule", "variable")
    assert blocks(monitoring, "variable")["reconcile_job_name"]["default"] == schedule["job_name"]["default"]
    for environment in ("dev", "prod"):
        call = blocks(TERRAFORM / "environments" / environment, "module")["reconcile_schedule"]
        assert unquote(call["source"]) == "../../modules/reconcile_schedule"
        assert "var.reconcile_image" in call["count"]
    services = blocks(TERRAFORM / "modules/services", "variable")["services"]["default"]
    assert '"cloudscheduler.googleapis.com"' in services or "cloudscheduler.googleapis.com" in services
