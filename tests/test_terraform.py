"""Terraform without a terraform binary: every .tf parses (python-hcl2), every module
variable and output is documented, every module call names a module that exists, passes
only variables it declares and every one it requires, the files Terraform reads are the
ones the code uses, the alerts watch counters the code really has, checkov finds nothing
(each skipped check carries its reason next to the resource), and the separation of duties
holds: who holds which role (tests/terraform_grants.py reads them), each Spanner database
role grants exactly what its workload's code does (tests/spanner_access.py), no workload can
change or delete the ledger, the restorer exists only in a restore window, the audit trail
is on and alerted, and the reconciliation is scheduled, private and watched."""

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
    assert len(spanner_ddl()) == 31 and len(spanner_ddl("spanner_roles.sql")) == 41
    # Applied statements never change (Terraform would replace the database): roles only grow.
    assert spanner_ddl("spanner_roles.sql")[:4] == [
        "CREATE ROLE verifier_site",
        "GRANT SELECT ON TABLE ApiKeys TO ROLE verifier_site",
        "GRANT SELECT, INSERT, DELETE ON TABLE Sessions TO ROLE verifier_site",
        "GRANT SELECT ON TABLE Intake TO ROLE verifier_site",
    ]
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
    acts_as = resources["google_service_account_iam_member"]["launcher_acts_as_auditor"]
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


# -- separation of duties (terraform/modules/iam; docs/SECURITY.md) ------------------------
WORKLOADS = {"pipeline", "auditor", "restorer", "statements", "site", "launcher"}
DATABASE_ROLES = {
    "pipeline": "receipts_writer",
    "auditor": "receipts_auditor",
    "restorer": "receipts_restorer",
    "statements": "statements_closer",
    "site": "verifier_site",
}
# Roles that change or delete the ledger or the state, run DDL, or administer anything.
LEDGER_CHANGING = {
    "roles/owner", "roles/editor", "roles/datastore.user", "roles/datastore.owner", "roles/spanner.databaseUser",
    "roles/spanner.databaseAdmin", "roles/spanner.admin", "roles/storage.admin", "roles/storage.objectUser",
}  # fmt: skip


def workload_grants():
    from tests.terraform_grants import grants

    return [grant for grant in grants() if grant.identity in WORKLOADS]


def test_no_workload_holds_a_role_that_can_change_or_delete_the_ledger() -> None:
    """Fails on roles/datastore.user or spanner.databaseUser for any workload, on any admin,
    owner or editor role, and on objectAdmin anywhere but a workload's own staging bucket."""
    from tests.terraform_grants import custom_roles

    for grant in workload_grants():
        assert grant.role not in LEDGER_CHANGING, grant
        if re.search(r"admin|owner|editor", grant.role, re.IGNORECASE):
            assert grant.role == "roles/storage.objectAdmin" and "staging" in grant.target, grant
        permissions = custom_roles().get(grant.role, set())
        assert "datastore.entities.delete" not in permissions, grant
        assert "datastore.entities.update" not in permissions or grant.identity == "restorer", grant
    assert custom_roles()["custom:ledger_writer"] == {
        "datastore.entities.create", "datastore.entities.get", "datastore.entities.list",
    }  # fmt: skip
    firestore = {
        (g.identity, g.role) for g in workload_grants() if "datastore" in g.role or g.role.startswith("custom:")
    }
    assert firestore == {
        ("pipeline", "custom:ledger_writer"), ("auditor", "roles/datastore.viewer"),
        ("restorer", "custom:ledger_restorer"), ("site", "roles/datastore.viewer"),
        ("statements", "custom:ledger_writer"),
    }  # fmt: skip


def test_only_the_streaming_and_statements_jobs_sign_and_neither_can_rewrite_what_it_signed() -> None:
    from tests.terraform_grants import grants

    signing = {g.identity for g in grants() if g.role in ("roles/cloudkms.signerVerifier", "roles/cloudkms.signer")}
    assert signing == {"pipeline", "statements"}
    keys = {g.target for g in grants() if g.identity == "statements" and "cloudkms" in g.role}
    assert keys == {"var.signing_key_id"}  # the receipts' key (a statement names its kid), not the log's
    for identity in ("pipeline", "statements"):
        held = {(g.role, g.target) for g in grants() if g.identity == identity}
        assert ("roles/storage.objectCreator", "var.archive_bucket") in held
        assert not {role for role, target in held if target == "var.archive_bucket"} - {
            "roles/storage.objectCreator", "roles/storage.objectViewer",
        }  # fmt: skip
        assert not any(target in ("var.releases_bucket", "var.reports_bucket") and role != "roles/storage.objectViewer"
                       for role, target in held)  # fmt: skip


def test_each_workload_reaches_spanner_only_through_its_own_database_role() -> None:
    from receipts.stores.gcp.schema import spanner_ddl
    from tests.terraform_grants import database_role_privileges

    roles = database_role_privileges(spanner_ddl("spanner_roles.sql"))
    for identity, database_role in DATABASE_ROLES.items():
        spanner = {g.role: g for g in workload_grants() if g.identity == identity and g.target == "spanner"}
        assert set(spanner) == {"roles/spanner.fineGrainedAccessUser", "roles/spanner.databaseRoleUser"}, identity
        condition = spanner["roles/spanner.databaseRoleUser"].condition
        assert f'endsWith(\\"/databaseRoles/{database_role}\\")' in condition and database_role in roles
    assert not [g for g in workload_grants() if g.target == "spanner" and g.identity not in DATABASE_ROLES]
    for environment in ("dev", "prod"):
        [local] = parsed(TERRAFORM / "environments" / environment / "main.tf")["locals"]
        calls = blocks(TERRAFORM / "environments" / environment, "module")
        assert unquote(local["writer_store"]) == "${local.store_url}&role=receipts_writer"
        assert unquote(local["auditor_store"]) == "${local.store_url}&role=receipts_auditor"
        assert calls["dataflow"]["store_url"] == "${local.writer_store}"
        assert calls["reconcile_schedule"]["store_url"] == "${local.auditor_store}"
        assert unquote(local["closer_store"]) == "${local.store_url}&role=statements_closer"
        assert calls["statements_schedule"]["store_url"] == "${local.closer_store}"
        assert unquote(calls["site"]["store_url"]) == "${local.store_url}&role=verifier_site"


# The functions of receipts/stores/gcp each workload calls on Spanner (transforms/, pipelines/,
# verifier_site/ and `receipts restore`), and tables a loop-variable mutation names.
WORKLOAD_CODE = {
    "receipts_writer": [
        *(("store.py", f) for f in ("load_chain", "_commit_receipts", "_sync_ledger_tail")),
        *(("keyed_reads.py", f) for f in ("lookup_idempotency_many", "entitlement", "charge")),
        *(("archive_outbox.py", f) for f in ("plan_archive", "pending_archive_batches", "archive_lines",
                                             "finish_archive_batch", "archived_through", "unarchived_count")),
        ("intake.py", "intake"),
        *(("log.py", f) for f in ("ensure_log", "log_state", "_unlogged", "_ledger_unlogged", "append_log",
                                  "log_entries", "mark_log_published", "add_checkpoint", "checkpoint",
                                  "latest_checkpoint", "unlogged_count", "logged_through")),
        *(("log_rows.py", f) for f in ("bundle_row", "write_append", "chunk_row", "put_rows", "read_hashes",
                                       "read_marks")),
        *(("delegated_keys.py", f) for f in ("delegated_key", "add_delegated_key", "_add_document",
                                             "key_documents")),
    ],
    "receipts_auditor": [("state_reads.py", "customers"), ("state_reads.py", "customer_state"),
                         ("intake.py", "set_intake"), ("log_rows.py", "read_hashes")]
    + [("log.py", f) for f in ("log_state", "log_leaves", "latest_checkpoint", "log_leaf_index", "logged_through")]
    + [("log_rows.py", "read_marks")]
    + [("statements.py", f) for f in ("period_closed_at", "closed_periods", "statement", "statements")]
    + [("delegated_keys.py", "key_documents")],
    "statements_closer": [("state_reads.py", "customers")]
    + [("statements.py", f) for f in ("begin_close", "period_closed_at", "closed_periods", "add_statement",
                                      "statement", "statements", "previous_statement")],
    "receipts_restorer": [("restore.py", "restore_chain"), ("restore.py", "_restore_keys"),
                          ("restore.py", "_restore_state"), ("state_reads.py", "customer_state"),
                          ("intake.py", "intake"),
                          *(("log_restore.py", f) for f in ("stored_leaves", "restore_log")),
                          ("log.py", "log_state"), ("log.py", "_ledger_unlogged"), ("log_rows.py", "read_hashes")]
    + [("statements.py", f) for f in ("restore_statement", "restore_close", "previous_statement")]
    + [("delegated_keys.py", "restore_key_document")],
    "verifier_site": [("site_records.py", f) for f in ("api_key", "session", "add_session", "end_session")]
    + [("intake.py", "intake")]
    + [("submissions.py", f) for f in ("add_submissions", "submission")]
    + [("log.py", f) for f in ("log_state", "checkpoint", "latest_checkpoint", "log_leaf_index", "log_entries",
                               "log_leaf")]
    + [("log_rows.py", "read_hashes")]
    + [("account.py", f) for f in ("customer_balances", "latest_receipt")]
    + [("statements.py", f) for f in ("statement", "statements", "previous_statement")]
    + [("delegated_keys.py", "key_documents")],
}  # fmt: skip
LOOP_TABLES = {
    ("restore.py", "_restore_state"): {"Balances", "EntitlementUsage", "ChargeCredits"},
    ("store.py", "_commit_receipts"): {"ChainHeads", "Balances", "EntitlementUsage", "ChargeCredits"},  # `state` rows
    ("log_rows.py", "put_rows"): {"LogHashes", "LogBundles"},  # the 256-hash rows
    ("log_restore.py", "restore_log"): {
        "LogHashes",
        "LogBundles",
        "LogLeaves",
        "LogMarks",
        "StatementLogMarks",
        "LogCheckpoints",
    },
}


def test_each_database_role_grants_exactly_what_its_workloads_code_does() -> None:
    """A privilege the code does not use is refused (least privilege), and so is code that
    needs one its role lacks: a new UPDATE in the streaming job's write fails here."""
    from receipts.stores.gcp.schema import spanner_ddl
    from tests.spanner_access import TABLES, merged, needs
    from tests.terraform_grants import database_role_privileges

    roles = database_role_privileges(spanner_ddl("spanner_roles.sql"))
    assert set(roles) == set(WORKLOAD_CODE)
    for role, functions in WORKLOAD_CODE.items():
        wanted = merged(*(needs(module, name, LOOP_TABLES.get((module, name), set())) for module, name in functions))
        if role == "receipts_writer":  # a batch's spans go with it (ON DELETE CASCADE)
            wanted["ArchiveSpans"].add("DELETE")
        assert roles[role] == wanted, role
        assert set(roles[role]) <= TABLES
    # The ledger rule, said plainly: a signed receipt's row is inserted by the writer and
    # changed or removed by the restorer alone; the site and the auditor write no receipt.
    writes = {role: {t for t, p in tables.items() if p - {"SELECT"}} for role, tables in roles.items()}
    assert roles["receipts_writer"]["IdempotencyKeys"] == {"SELECT", "INSERT"}
    assert {r for r, tables in roles.items() if tables.get("IdempotencyKeys", set()) & {"UPDATE", "DELETE"}} == {
        "receipts_restorer"
    }
    assert writes["verifier_site"] == {"Sessions", "Submissions", "SubmissionAddresses"}
    assert writes["receipts_auditor"] == {"Intake"}
    # Who submitted an event: the site inserts a record once and can neither change nor delete
    # it; the addresses go by the table's row deletion policy (or an operator's scrub).
    assert (
        roles["verifier_site"]["Submissions"]
        == roles["verifier_site"]["SubmissionAddresses"]
        == {
            "SELECT",
            "INSERT",
        }
    )


def test_the_restorer_holds_nothing_outside_a_restore_window() -> None:
    from tests.terraform_grants import grants

    restorer = [g for g in grants() if g.identity in ("restorer", "var.restorers") or "restorer.name" in g.target]
    assert {g.role for g in restorer} >= {"custom:ledger_restorer", "roles/spanner.databaseRoleUser"}
    for grant in restorer:
        assert grant.restore_window and "request.time < timestamp(" in grant.condition, grant
    assert "default" in blocks(TERRAFORM / "modules/iam", "variable")["restore_until"]
    assert blocks(TERRAFORM / "modules/iam", "variable")["restore_until"]["default"] is None
    # Nobody but the deployer, the scheduler's launcher and (in a window) the restorers may act as another identity.
    acting = {
        g.identity
        for g in grants()
        if g.role in ("roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator")
    }
    assert acting == {"deployer", "launcher", "var.restorers"}


def test_the_site_reads_publishes_events_and_writes_no_receipt() -> None:
    site = {(g.role, g.target) for g in workload_grants() if g.identity == "site"}
    assert ("roles/pubsub.publisher", "var.events_topic_name") in site  # POST /v1/events, else 503
    assert ("roles/datastore.viewer", "project") in site and "roles/cloudkms.signerVerifier" not in {r for r, _ in site}
    for environment in ("dev", "prod"):
        call = blocks(TERRAFORM / "environments" / environment, "module")["iam"]
        assert call["events_topic_name"] == "${module.pubsub.topic_name}"
    topic = unquote(blocks(TERRAFORM / "modules/pubsub", "variable")["topic_name"]["default"])
    assert topic == "billing-events"


def test_the_auditor_reads_and_only_creates_its_reports() -> None:
    auditor = {(g.role, g.target) for g in workload_grants() if g.identity == "auditor"}
    assert {target for role, target in auditor if role.startswith("roles/storage.")} == {
        "var.archive_bucket", "var.releases_bucket", "var.reports_bucket", 'var.job_staging_buckets["reconcile"]',
    }  # fmt: skip
    assert {role for role, target in auditor if target == "var.reports_bucket"} == {"roles/storage.objectCreator"}
    assert {role for role, target in auditor if target == "var.archive_bucket"} == {"roles/storage.objectViewer"}
    assert not any("cloudkms" in role for role, _ in auditor)
    assert {target for role, target in auditor if role == "roles/pubsub.publisher"} == {
        "var.reconcile_alert_topic_name"
    }
    reports = resources_of(TERRAFORM / "modules/storage/jobs.tf")["google_storage_bucket"]["reports"]
    [retention] = reports["retention_policy"]
    assert retention["is_locked"] == "${var.lock_retention_policy}" and "versioning" not in reports


def test_no_job_can_change_what_it_runs_or_another_jobs_staged_files() -> None:
    staging = {(g.identity, g.target) for g in workload_grants() if g.role == "roles/storage.objectAdmin"}
    assert staging == {
        ("pipeline", "var.staging_bucket"), ("auditor", 'var.job_staging_buckets["reconcile"]'),
        ("restorer", 'var.job_staging_buckets["restore"]'), ("statements", 'var.job_staging_buckets["statements"]'),
    }  # fmt: skip
    assert {g.role for g in workload_grants() if g.target == "var.releases_bucket"} == {"roles/storage.objectViewer"}
    for environment in ("dev", "prod"):
        calls = blocks(TERRAFORM / "environments" / environment, "module")
        for job in ("dataflow", "reconcile_schedule", "statements_schedule"):
            assert unquote(calls[job]["template_spec"]).startswith("gs://${module.storage.releases_bucket}/templates/")


def test_ci_deploys_as_the_deployer_which_holds_no_basic_role_and_cannot_sign() -> None:
    from tests.terraform_grants import held_by

    deployer = {g.role for g in held_by("deployer")}
    assert not deployer & {"roles/owner", "roles/editor", "roles/cloudkms.signerVerifier", "roles/cloudkms.signer"}
    assert {"roles/resourcemanager.projectIamAdmin", "roles/spanner.admin", "roles/storage.admin"} <= deployer
    [ci] = [g for g in held_by("var.deployer_principals")]
    assert ci.role == "roles/iam.workloadIdentityUser" and ci.target == "google_service_account.deployer.name"
    for environment in ("dev", "prod"):
        call = blocks(TERRAFORM / "environments" / environment, "module")["iam"]
        assert call["deployer_principals"] == "${var.deployer_principals}"


def test_the_archive_retention_is_locked_in_prod() -> None:
    archive = resources_of(TERRAFORM / "modules/storage/main.tf")["google_storage_bucket"]["archive"]
    [retention] = archive["retention_policy"]
    assert retention["is_locked"] == "${var.lock_retention_policy}"
    prod = blocks(TERRAFORM / "environments/prod", "module")["storage"]
    assert prod["lock_retention_policy"] == "${var.lock_archive_retention}"
    assert blocks(TERRAFORM / "environments/prod", "variable")["lock_archive_retention"]["default"] is True


# -- the audit trail (terraform/modules/audit) ---------------------------------------------
def test_data_access_audit_logs_cover_signing_and_every_store() -> None:
    [local] = parsed(TERRAFORM / "modules/audit/main.tf")["locals"]
    configured = {unquote(service): str(types) for service, types in local["data_access"].items()}
    assert "DATA_READ" in configured["cloudkms.googleapis.com"]  # every AsymmetricSign
    assert "DATA_WRITE" in configured["cloudkms.googleapis.com"]
    assert "DATA_READ" in configured["storage.googleapis.com"] and "DATA_WRITE" in configured["storage.googleapis.com"]
    for service in ("datastore.googleapis.com", "spanner.googleapis.com"):  # datastore: Firestore's logs
        assert "DATA_WRITE" in configured[service], service
    audit = resources_of(TERRAFORM / "modules/audit/main.tf")
    assert audit["google_project_iam_audit_config"]["data_access"]["for_each"] == "${local.data_access}"
    assert unquote(audit["google_logging_project_sink"]["audit"]["filter"]) == 'logName:\\"cloudaudit.googleapis.com\\"'
    for environment in ("dev", "prod"):
        call = blocks(TERRAFORM / "environments" / environment, "module")["audit"]
        assert call["notification_channels"] == "${module.monitoring.notification_channels}"
        assert "${module.storage.archive_bucket}" in call["retained_buckets"]


def test_changes_of_iam_keys_retention_and_schema_page() -> None:
    [local] = parsed(TERRAFORM / "modules/audit/main.tf")["locals"]
    alerts = {name: unquote(alert["filter"]) for name, alert in local["alerts"].items()}
    assert "SetIamPolicy" in alerts["iam_changed"] and "ServiceAccountKey" in alerts["iam_changed"]
    assert 'serviceName=\\"cloudkms.googleapis.com\\"' in alerts["signing_key_changed"]
    assert "storage\\\\\\\\.buckets" in alerts["retention_changed"] and "local.buckets" in alerts["retention_changed"]
    assert "UpdateDatabaseDdl" in alerts["schema_changed"] and "firebaserules" in alerts["schema_changed"]
    assert "BulkDeleteDocuments" in alerts["schema_changed"]
    assert "Sink" in alerts["audit_trail_changed"]
    for text in alerts.values():
        assert text.startswith("${local.activity} AND ")
    policy = resources_of(TERRAFORM / "modules/audit/main.tf")["google_monitoring_alert_policy"]["audit"]
    [condition] = policy["conditions"]
    assert condition["condition_matched_log"][0]["filter"] == "${each.value.filter}"
    assert "#audit-alerts" in policy["documentation"][0]["content"]
    from tests.test_failover import anchors

    assert "audit-alerts" in anchors((ROOT / "docs/RUNBOOK.md").read_text())


def test_bucket_usage_logs_have_the_grant_they_need() -> None:
    from tests.terraform_grants import grants

    [writer] = [g for g in grants() if g.identity == "group:cloud-storage-analytics@google.com"]
    assert writer.role == "roles/storage.objectCreator" and writer.target == "google_storage_bucket.access_logs.name"
    for path in (TERRAFORM / "modules/storage").glob("*.tf"):
        for name, bucket in resources_of(path).get("google_storage_bucket", {}).items():
            if name != "access_logs":
                assert bucket["logging"][0]["log_bucket"] == "${google_storage_bucket.access_logs.name}", name


def test_the_scheduled_reconciliation_runs_private_as_the_auditor_and_is_watched() -> None:
    """Private workers (no route to the site) verify with the JWKS in the releases bucket,
    create a new report each run, alert on their topic, and fail loudly by their name."""
    [local] = parsed(TERRAFORM / "modules/reconcile_schedule/main.tf")["locals"]
    launch = local["launch"]["launchParameter"]
    assert unquote(launch["environment"]["ipConfiguration"]) == "WORKER_IP_PRIVATE"
    assert launch["environment"]["subnetwork"] == "${var.subnetwork}"
    assert (
        launch["parameters"]["alert_topic"] == "${var.alert_topic}"
        and launch["parameters"]["jwks"] == "${var.jwks_url}"
    )
    metadata = {
        p["name"]: p for p in json.loads((ROOT / "templates/reconcile/metadata.json").read_text())["parameters"]
    }
    for environment in ("dev", "prod"):
        folder = TERRAFORM / "environments" / environment
        calls = blocks(folder, "module")
        call = calls["reconcile_schedule"]
        assert "site_image" not in call["count"]  # the JWKS is in the bucket: no need to wait for the site
        assert call["service_account"] == "${module.iam.auditor_service_account}"
        assert call["subnetwork"].startswith("${module.network.subnetworks[")
        assert unquote(call["jwks_url"]) == "gs://${module.storage.releases_bucket}/keys/jwks.json"
        assert unquote(call["report_url"]) == "gs://${module.storage.reports_bucket}/reconcile/{as_of}.json"
        assert call["alert_topic"] == "${module.pubsub.reconcile_alert_topic}"
        assert call["staging_bucket"] == '${module.storage.job_staging_buckets["reconcile"]}'
        assert call["job_name"] == calls["monitoring"]["reconcile_job_name"] == "${local.reconcile_job}"
        for name, example in (
            ("jwks", "gs://p-receipts-releases/keys/jwks.json"),
            ("report", "gs://p-receipts-reports/reconcile/{as_of}.json"),
        ):
            assert all(re.fullmatch(pattern, example) for pattern in metadata[name]["regexes"]), name


def test_the_statements_close_is_scheduled_monthly_after_the_grace_private_and_watched() -> None:
    """Cloud Scheduler launches the statements Flex Template early on the 1st, past the month's
    end plus the grace, with --period previous (fixed at launch: pipelines/statements.py), as
    receipts-statements on private workers; a failed run pages by the job's name."""
    from datetime import timedelta

    from pipelines import statements
    from receipts.statements import parse_duration

    folder = TERRAFORM / "modules/statements_schedule"
    resources = resources_of(folder / "main.tf")
    job = resources["google_cloud_scheduler_job"]["statements"]
    variables = blocks(folder, "variable")
    minute, hour, day, month, weekday = unquote(variables["schedule"]["default"]).split()
    assert (day, month, weekday) == ("1", "*", "*") and job["schedule"] == "${var.schedule}"
    assert timedelta(hours=int(hour), minutes=int(minute)) > parse_duration(unquote(variables["grace"]["default"]))
    [target] = job["http_target"]
    assert unquote(target["uri"]).endswith("/locations/${var.region}/flexTemplates:launch")
    assert target["body"] == "${base64encode(jsonencode(local.launch))}"
    [token] = target["oauth_token"]
    assert token["service_account_email"] == "${google_service_account.launcher.email}"
    acts_as = resources["google_service_account_iam_member"]["launcher_acts_as_closer"]
    assert "var.service_account" in acts_as["service_account_id"]
    [local] = parsed(folder / "main.tf")["locals"]
    launch = local["launch"]["launchParameter"]
    parameters = {name: unquote(value) for name, value in launch["parameters"].items()}
    assert parameters["period"] == statements.PREVIOUS
    metadata = {
        p["name"]: p for p in json.loads((ROOT / "templates/statements/metadata.json").read_text())["parameters"]
    }
    assert set(parameters) - {"sdk_container_image"} <= set(metadata)
    assert set(statements.REQUIRED) <= set(parameters)
    for name, example in (
        ("period", "previous"), ("period", "2026-11"), ("grace", "1h"),
        ("store", "gcp://billing-receipts-prod?instance=receipts&database=receipts&bucket=b&role=statements_closer"),
        ("signer", "kms://projects/p/locations/us/keyRings/receipts/cryptoKeys/receipt-signing/cryptoKeyVersions/3"),
    ):  # fmt: skip
        assert all(re.fullmatch(pattern, example) for pattern in metadata[name]["regexes"]), (name, example)
    assert not re.fullmatch(metadata["period"]["regexes"][0], "2026-13")
    assert unquote(launch["environment"]["ipConfiguration"]) == "WORKER_IP_PRIVATE"
    assert unquote(launch["jobName"]) == "${var.job_name}"

    monitoring = TERRAFORM / "modules/monitoring"
    policy = resources_of(monitoring / "main.tf")["google_monitoring_alert_policy"]["statements_failed"]
    [condition] = policy["conditions"]
    assert (
        'resource.labels.job_name = \\"${var.statements_job_name}\\"' in condition["condition_threshold"][0]["filter"]
    )
    assert blocks(monitoring, "variable")["statements_job_name"]["default"] == variables["job_name"]["default"]
    for environment in ("dev", "prod"):
        calls = blocks(TERRAFORM / "environments" / environment, "module")
        call = calls["statements_schedule"]
        assert "var.statements_image" in call["count"]
        assert call["service_account"] == "${module.iam.statements_service_account}"
        assert call["staging_bucket"] == '${module.storage.job_staging_buckets["statements"]}'
        assert call["job_name"] == calls["monitoring"]["statements_job_name"] == "${local.closing_job}"
        assert unquote(call["signer"]) == calls["dataflow"]["signer"].strip('"')  # the receipts' key: their kid
        assert unquote(call["template_spec"]) == "gs://${module.storage.releases_bucket}/templates/statements.json"
