"""The edges of the deployment, read from the Terraform (beside checkov, which knows none of
these rules): Cloud Armor's OWASP rules and tighter sign-in and ingest limits, backups that
no workload can reach, a restored database the services can be pointed at, the CMEK decision
made in prod, depends_on so a first apply on an empty project succeeds, the VPC Service
Controls perimeter, images by digest and scanned. Where the terraform binary is on the PATH,
the module's own expressions are evaluated with it (variables and locals need no provider)."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_terraform import ROOT, TERRAFORM, blocks, parsed, resources_of, tf_files, unquote

ENVIRONMENTS = [TERRAFORM / "environments/dev", TERRAFORM / "environments/prod"]
# They run as identities the iam module grants.
WORKLOADS = {"dataflow", "site", "reconcile_schedule", "statements_schedule"}
OWASP_CORE = {"sqli", "xss", "lfi", "rfi", "rce", "methodenforcement", "scannerdetection", "protocolattack"}
# Roles that delete or shorten backups, restore over data, drop a database or turn recovery off.
BACKUP_REACHING_ROLES = {
    "roles/owner", "roles/editor", "roles/spanner.admin", "roles/spanner.databaseAdmin",
    "roles/spanner.backupAdmin", "roles/spanner.backupWriter", "roles/spanner.restoreAdmin",
    "roles/datastore.owner", "roles/datastore.backupsAdmin", "roles/datastore.backupSchedulesAdmin",
    "roles/datastore.restoreAdmin", "roles/datastore.importExportAdmin", "roles/firebase.admin",
}  # fmt: skip
BACKUP_REACHING_PERMISSIONS = re.compile(
    r"spanner\.(backups\.(delete|update)|backupSchedules\.(delete|update)|databases\.(drop|update|updateDdl))"
    r"|datastore\.(backups\.(delete|update)|backupSchedules\.(delete|update)|databases\.(delete|update))"
)


def terraform(files: dict[str, str], variables: dict[str, str], tmp_path: Path, *command: str, stdin: str = ""):
    """Run terraform over variables and locals alone: no provider, no network."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("no terraform binary: the expression is checked by reading it only")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1", "NO_COLOR": "1"}
    if not (tmp_path / ".terraform").exists():
        subprocess.run([binary, "init", "-backend=false", "-input=false"], cwd=tmp_path, env=env, check=True,
                       capture_output=True, timeout=120)  # fmt: skip
    flags = [f"-var={name}={value}" for name, value in variables.items()]
    return subprocess.run([binary, *command, *flags], cwd=tmp_path, env=env, input=stdin, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def terraform_eval(files: dict[str, str], expression: str, variables: dict[str, str], tmp_path: Path) -> object:
    """An expression's value, by `terraform console`."""
    done = terraform(files, variables, tmp_path, "console", stdin=f"jsonencode({expression})\n")
    assert done.returncode == 0 and "Error:" not in done.stderr, done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith('"')]
    return json.loads(json.loads(line))


def locals_text(path: Path) -> str:
    text = path.read_text()
    start = text.index("locals {")
    end = text.index("\n}\n", start) + 3
    return text[start:end]


def test_cloud_armor_refuses_owasp_attacks_and_log4j_before_any_rate_limit() -> None:
    folder = TERRAFORM / "modules/loadbalancer"
    policy = resources_of(folder / "armor.tf")["google_compute_security_policy"]["site"]
    [log4j] = [rule for rule in policy["rule"] if rule["priority"] == 1000]
    assert "cve-canary" in log4j["match"][0]["expr"][0]["expression"] and unquote(log4j["action"]) == "deny(403)"
    [waf, throttled] = [block['"rule"'] for block in policy["dynamic"]]
    assert waf["for_each"] == "${local.owasp_rules}" and unquote(waf["content"][0]["action"]) == "deny(403)"
    assert "evaluatePreconfiguredWaf('${rule.key}'" in waf["content"][0]["match"][0]["expr"][0]["expression"]
    assert unquote(policy["advanced_options_config"][0]["json_parsing"]) == "STANDARD"
    [local] = parsed(folder / "armor.tf")["locals"]
    sets = {unquote(name) for name in local["owasp_rules"]}
    assert {name.split("-")[0] for name in sets} >= OWASP_CORE and all(name.endswith("-v33-stable") for name in sets)
    variables = blocks(folder, "variable")
    assert int(variables["waf_sensitivity"]["default"]) == 1 and variables["waf_preview"]["default"] is False
    assert throttled["for_each"] == "${local.throttled}"


def test_cloud_armor_rules_render_with_unique_priorities_waf_first(tmp_path: Path) -> None:
    folder = TERRAFORM / "modules/loadbalancer"
    rendered = terraform_eval(
        {"variables.tf": (folder / "variables.tf").read_text(), "locals.tf": locals_text(folder / "armor.tf")},
        "{options = local.waf_options, priorities = local.owasp_priorities, throttled = local.throttled}",
        {"project_id": "p", "domain": "d", "services": "{}",
         "waf_opt_out_rule_ids": '{"sqli-v33-stable" = ["owasp-crs-v030301-id942200-sqli"]}'},
        tmp_path,
    )  # fmt: skip
    assert rendered["options"]["xss-v33-stable"] == "{'sensitivity': 1}"
    assert rendered["options"]["sqli-v33-stable"] == (
        "{'sensitivity': 1, 'opt_out_rule_ids': ['owasp-crs-v030301-id942200-sqli']}"
    )
    priorities = [
        1000,
        *rendered["priorities"].values(),
        *(rule["priority"] for rule in rendered["throttled"].values()),
    ]
    assert len(set(priorities)) == len(priorities) and max(priorities) < 2000  # all before the general ceiling
    assert max(rendered["priorities"].values()) < min(rule["priority"] for rule in rendered["throttled"].values())


def test_sign_in_and_ingest_have_tighter_limits_on_the_routes_the_site_has() -> None:
    from flask import Flask

    from verifier_site.blueprints import account, ingest, lookup

    def posts(*blueprints) -> set[str]:
        app = Flask(__name__)
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
        return {rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}

    assert "/lookup" in posts(lookup.blueprint)  # the forms that take an API key
    assert posts(account.blueprint) == {"/account/sign-in"}
    ingest_routes = posts(ingest.blueprint)
    assert ingest_routes == {"/v1/events", "/v1/events:batch"}
    folder = TERRAFORM / "modules/loadbalancer"
    [local] = parsed(folder / "armor.tf")["locals"]
    signin, ingest_rule = local["throttled"]["signin"], local["throttled"]["ingest"]
    assert unquote(signin["expression"]) == (
        "request.method == 'POST' && (request.path == '/lookup' || request.path == '/account/sign-in')"
    )
    prefix = re.fullmatch(
        r"request\.method == 'POST' && request\.path\.startsWith\('(.+)'\)", unquote(ingest_rule["expression"])
    )
    assert prefix and all(route.startswith(prefix.group(1)) for route in ingest_routes)
    limits = {name: body["default"] for name, body in blocks(folder, "variable").items() if name.endswith("_per_ip")}
    assert limits["signin_requests_per_minute_per_ip"] < limits["ingest_requests_per_minute_per_ip"]
    assert limits["ingest_requests_per_minute_per_ip"] < limits["requests_per_minute_per_ip"]


def seconds(duration: str) -> int:
    return int(re.fullmatch(r'"?(\d+)s"?', duration).group(1))


def test_both_databases_have_point_in_time_recovery_and_scheduled_backups() -> None:
    spanner = resources_of(TERRAFORM / "modules/spanner/backups.tf")["google_spanner_backup_schedule"]
    assert set(spanner) == {"daily", "incremental", "monthly"}
    assert all(schedule["database"] == "${local.serving_database}" for schedule in spanner.values())
    assert "incremental_backup_spec" in spanner["incremental"] and "full_backup_spec" in spanner["monthly"]
    database = resources_of(TERRAFORM / "modules/spanner/main.tf")["google_spanner_database"]["this"]
    assert database["enable_drop_protection"] is True and database["deletion_protection"] is True
    variables = blocks(TERRAFORM / "modules/spanner", "variable")
    assert seconds(variables["monthly_backup_retention"]["default"]) <= 366 * 86400  # Spanner's longest
    prod = blocks(TERRAFORM / "environments/prod", "module")
    assert unquote(prod["spanner"]["version_retention_period"]) == "7d" and prod["spanner"]["incremental_backup_hours"]
    assert unquote(prod["spanner"]["edition"]).startswith("ENTERPRISE")  # incremental backups need it
    firestore = resources_of(TERRAFORM / "modules/firestore/main.tf")["google_firestore_database"]["this"]
    assert unquote(firestore["point_in_time_recovery_enablement"]) == "POINT_IN_TIME_RECOVERY_ENABLED"
    assert unquote(firestore["delete_protection_state"]) == "DELETE_PROTECTION_ENABLED"
    schedules = resources_of(TERRAFORM / "modules/firestore/backups.tf")["google_firestore_backup_schedule"]
    assert "daily_recurrence" in schedules["daily"] and "weekly_recurrence" in schedules["weekly"]
    weekly = blocks(TERRAFORM / "modules/firestore", "variable")["weekly_backup_retention"]["default"]
    assert seconds(weekly) <= 14 * 7 * 86400  # Firestore's longest


def iam_grants() -> list[tuple[Path, str, dict]]:
    return [
        (path, f"{kind}.{name}", body)
        for path in tf_files()
        for kind, named in resources_of(path).items()
        if re.search(r"_iam_(member|binding|policy)$", kind)
        for name, body in named.items()
    ]


def test_no_workload_identity_can_delete_a_backup_restore_over_data_or_turn_recovery_off() -> None:
    """Every grant, its for_each expanded (tests/terraform_grants.py: the deployer's and a
    restore window's roles are for_each lists), the restorer's restore-window grants among
    them: rewriting rows from the archive is not reaching a backup, and no workload identity
    holds a role or custom role that deletes or shortens one, edits a schedule, restores,
    drops a database or turns recovery off. The deployer (Terraform in CI) is no workload:
    it creates the instance, the databases and their backup schedules, so it administers
    Spanner and Firestore and can; only CI acts as it, and a deleted or changed backup or
    schedule pages (the audit module's backups_changed)."""
    from tests.terraform_grants import custom_roles, grants

    for path, name, _ in iam_grants():  # each one a module's *_iam_member, which grants() reads
        assert name.split(".")[0].endswith("_iam_member") and path.parent.parent.name == "modules", name
    found = grants()
    workloads = {"pipeline", "auditor", "restorer", "site", "launcher"}
    assert {grant.identity for grant in found} >= workloads | {"deployer"}
    assert any(grant.identity == "restorer" and grant.restore_window for grant in found)
    reaching: dict[str, set[str]] = {}
    for grant in found:
        permissions = custom_roles().get(grant.role, set())
        if grant.role in BACKUP_REACHING_ROLES or any(BACKUP_REACHING_PERMISSIONS.search(p) for p in permissions):
            reaching.setdefault(grant.identity, set()).add(grant.role)
    assert reaching.keys() <= {"deployer"}, reaching  # no workload, no person or group we grant to
    assert reaching["deployer"] == {"roles/spanner.admin", "roles/datastore.owner"}
    for name, permissions in custom_roles().items():
        assert not any(BACKUP_REACHING_PERMISSIONS.search(p) for p in permissions), name
    [audit] = parsed(TERRAFORM / "modules/audit/main.tf")["locals"]
    backups = unquote(audit["alerts"]["backups_changed"]["filter"])
    for method in ("DeleteBackup", "UpdateBackup", "DeleteBackupSchedule", "UpdateBackupSchedule"):
        assert method in backups
    assert "spanner.googleapis.com" in backups and "firestore.googleapis.com" in backups


def test_a_restored_spanner_database_takes_over_every_use_of_the_database() -> None:
    """serving_database is the one switch: the module's output, so the grants (iam) and the
    store URL of the job, the site and the reconciliation all follow it."""
    outputs = blocks(TERRAFORM / "modules/spanner", "output")
    assert outputs["database"]["value"] == "${local.serving_database}"
    assert "local.serving_database" in outputs["database_id"]["value"]
    assert (
        "coalesce(var.serving_database, google_spanner_database.this.name)"
        in (TERRAFORM / "modules/spanner/backups.tf").read_text()
    )
    for environment in ENVIRONMENTS:
        modules = blocks(environment, "module")
        assert modules["spanner"]["serving_database"] == "${var.spanner_serving_database}"
        assert modules["iam"]["spanner_database"] == "${module.spanner.database}"
        assert modules["iam"]["restore_database"] == "${var.restore_database}"  # step 4's roll-forward
        [local] = parsed(environment / "main.tf")["locals"]
        assert "database=${module.spanner.database}" in local["store_url"]
        # each workload's store URL is store_url with its database role (&role=…), directly
        # or through a local of its own (writer_store, auditor_store)
        for call in ("dataflow", "site", "reconcile_schedule", "statements_schedule"):
            url = unquote(modules[call]["store_url"])
            named = re.fullmatch(r"\$\{local\.(\w+)\}", url)
            url = unquote(local[named.group(1)]) if named else url
            assert url.startswith("${local.store_url}&role="), call
        assert "local.store_url" in (environment / "outputs.tf").read_text()  # restorer_store_url, store_url
    elsewhere = [p for p in tf_files() if "google_spanner_database.this" in p.read_text()]
    assert {p.name for p in elsewhere} == {"outputs.tf", "backups.tf"}  # the switch, and created_database
    assert blocks(TERRAFORM / "modules/spanner", "output")["created_database"]["value"] == (
        "${google_spanner_database.this.name}"
    )
    # a restore window's Spanner grants: the serving database, or the restored one being rolled forward
    restorer = resources_of(TERRAFORM / "modules/iam/restorer.tf")["google_spanner_database_iam_member"]
    assert {body["database"] for body in restorer.values()} == {"${local.restore_database}"}
    assert "coalesce(var.restore_database, var.spanner_database)" in (TERRAFORM / "modules/iam/restorer.tf").read_text()


def test_encryption_at_rest_is_decided_in_prod_and_written_down() -> None:
    database = resources_of(TERRAFORM / "modules/spanner/main.tf")["google_spanner_database"]["this"]
    assert database["dynamic"][0]['"encryption_config"']["for_each"].startswith("${length(var.kms_key_names)")
    firestore = resources_of(TERRAFORM / "modules/firestore/main.tf")["google_firestore_database"]["this"]
    assert "var.kms_key_name" in firestore["dynamic"][0]['"cmek_config"']["for_each"]
    prod = blocks(TERRAFORM / "environments/prod", "module")
    assert prod["spanner"]["kms_key_names"] == [] and prod["firestore"]["kms_key_name"] is None  # Google-managed
    text = (TERRAFORM / "environments/prod/main.tf").read_text()
    assert text.count("decided before the first apply: docs/SECURITY.md, Encryption at rest") == 2
    security = (ROOT / "docs/SECURITY.md").read_text()
    section = security[security.index("## Encryption at rest") :]
    assert "before the first production apply" in section and "Reasons" in section and "only at creation" in section


def depends_on(call: dict) -> set[str]:
    return {re.fullmatch(r"\$\{module\.(\w+)\}", entry).group(1) for entry in call.get("depends_on", [])}


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda path: path.name)
def test_a_first_apply_waits_for_the_apis_and_workloads_for_their_grants(environment: Path) -> None:
    """Module depends_on orders every resource of one module after every resource of the
    other (references to outputs order only what uses them): each module reaches services
    through depends_on, each workload reaches iam."""
    modules = blocks(environment, "module")

    def closure(name: str) -> set[str]:
        seen, todo = set(), [name]
        while todo:
            for other in depends_on(modules[todo.pop()]) - seen:
                seen.add(other)
                todo.append(other)
        return seen

    for name in modules.keys() - {"services"}:
        assert "services" in closure(name), f"{environment.name}: module {name} does not wait for the APIs"
    for name in WORKLOADS & modules.keys():
        assert "iam" in closure(name), f"{environment.name}: {name} may start before its grants exist"
    assert "time_sleep" in resources_of(TERRAFORM / "modules/services/propagation.tf")
    providers = parsed(environment / "versions.tf")["terraform"][0]["required_providers"][0]
    assert unquote(providers["time"]["source"]) == "hashicorp/time"


def test_the_perimeter_is_designed_dry_run_first_and_applied_where_the_organisation_allows() -> None:
    folder = TERRAFORM / "modules/perimeter"
    perimeter = resources_of(folder / "main.tf")["google_access_context_manager_service_perimeter"]["receipts"]
    assert perimeter["use_explicit_dry_run_spec"] == "${!var.enforce}"
    assert blocks(folder, "variable")["enforce"]["default"] is False
    [local] = parsed(folder / "main.tf")["locals"]
    restricted = {unquote(service) for service in local["restricted_services"]}
    holding_data = {"spanner", "firestore", "datastore", "storage", "pubsub", "cloudkms", "artifactregistry",
                    "secretmanager", "dataflow", "logging"}  # fmt: skip
    assert {f"{name}.googleapis.com" for name in holding_data} <= restricted
    assert "google.pubsub.v1.Publisher.Publish" in local["ingress"]  # producers may publish, nothing else
    dns = resources_of(folder / "main.tf")["google_dns_record_set"]
    assert unquote(dns["every_api"]["rrdatas"][0]) == "restricted.googleapis.com."
    call = blocks(TERRAFORM / "environments/prod", "module")["perimeter"]
    assert call["count"] == '${var.access_policy == "" ? 0 : 1}'
    # CI's deployer is always let in (else an enforced perimeter locks CI out); the restorer in its window
    assert "module.iam.deployer_service_account" in call["operator_members"]
    assert "var.restore_until == null" in call["operator_members"]
    assert "module.iam.restorer_service_account" in call["operator_members"]
    assert blocks(TERRAFORM / "environments/prod", "variable")["access_policy"]["default"] == '""'
    enabled = blocks(TERRAFORM / "modules/services", "variable")["services"]["default"]
    assert '"accesscontextmanager.googleapis.com"' in enabled and '"dns.googleapis.com"' in enabled


def image_variables() -> list[tuple[Path, str, dict]]:
    folders = [*ENVIRONMENTS, TERRAFORM / "modules/dataflow", TERRAFORM / "modules/cloudrun"]
    return [
        (f, n, b) for f in folders for n, b in blocks(f, "variable").items() if n == "image" or n.endswith("_image")
    ]


def test_every_image_variable_refuses_a_tag() -> None:
    found = image_variables()
    assert len(found) == 10
    for folder, name, body in found:
        [validation] = body["validation"]
        assert "@sha256:[0-9a-f]{64}$" in validation["condition"], f"{folder.name} {name}"


def test_terraform_takes_an_image_by_digest_and_refuses_a_tag(tmp_path: Path) -> None:
    digest = "us-docker.pkg.dev/p/receipts/site@sha256:" + "0" * 64
    prod = TERRAFORM / "environments/prod/variables.tf"
    required = {"project_id": "p", "site_domain": "d", "notification_emails": "[]", "runbook_url": "u",
                "log_origin": "billing.example/log"}  # fmt: skip
    assert terraform_eval({"variables.tf": prod.read_text()}, "var.site_image", {**required, "site_image": digest},
                          tmp_path) == digest  # fmt: skip
    refused = terraform({"variables.tf": prod.read_text()}, {**required, "site_image": digest.split("@")[0] + ":v1"},
                        tmp_path, "plan", "-input=false", "-no-color")  # fmt: skip
    assert refused.returncode != 0 and "pinned by digest" in refused.stderr, refused.stderr


def test_artifact_registry_scans_every_image() -> None:
    repository = resources_of(TERRAFORM / "modules/registry/main.tf")["google_artifact_registry_repository"]["images"]
    assert unquote(repository["vulnerability_scanning_config"][0]["enablement_config"]) == "INHERITED"
    assert repository["docker_config"][0]["immutable_tags"] is True
    assert (
        '"containerscanning.googleapis.com"'
        in blocks(TERRAFORM / "modules/services", "variable")["services"]["default"]
    )


def test_the_restore_runbook_ends_with_the_services_on_the_restored_database() -> None:
    runbook = (ROOT / "docs/RUNBOOK.md").read_text()
    section = runbook[runbook.index("## Restoring a database") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    steps = re.findall(r"^\d+\. \*\*(.+?)\*\*", section, re.MULTILINE)
    assert len(steps) >= 5 and "spanner_serving_database" in section and "terraform apply" in section
    assert "pointing at" in steps[-1].lower() or "point" in steps[-1].lower(), steps[-1]
    for claim in ("RPO", "RTO"):
        assert re.search(rf"{claim}[^\n]*\|[^\n]*(measured|derived|from)", section), claim
