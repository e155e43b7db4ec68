"""Who holds which role, read from the Terraform modules without a terraform binary: every
`*_iam_member` resource of terraform/modules, its for_each expanded, its member named by
identity (`local.pipeline` -> "pipeline"), its role (a custom role as "custom:NAME"), what it
is granted on, its IAM condition with locals filled in, and whether it exists only during a
restore window. Also the custom roles' permissions and the database roles' privileges of
receipts/stores/gcp/spanner_roles.sql. tests/test_terraform.py states the rules over these."""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "terraform/modules"
TARGETS = ("bucket", "topic", "subscription", "crypto_key_id", "service_account_id", "repository", "secret_id")


@dataclass(frozen=True)
class Grant:
    identity: str  # "pipeline", "auditor", "restorer", "site", "deployer", "launcher", or a member as written
    role: str  # "roles/…", or "custom:ledger_writer"
    kind: str  # the resource type, e.g. google_storage_bucket_iam_member
    target: str  # "project", "spanner", or the expression naming the bucket, topic, key…
    condition: str  # the IAM condition's expression, "" without one
    restore_window: bool  # exists only while a restore window is open
    where: str  # module/file:resource name


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _bare(value: str) -> str:
    """'${var.x}' -> 'var.x'; a quoted literal -> its text."""
    value = _unquote(value)
    return value[2:-1] if value.startswith("${") and value.endswith("}") else value


@cache
def _parsed(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


def module_locals(folder: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in sorted(folder.glob("*.tf")):
        for block in _parsed(path).get("locals", []):
            found.update(block)
    return found


def _fill(text: str, local_values: dict[str, Any]) -> str:
    """${local.NAME} of string locals replaced by their values, until none is left."""
    for _ in range(5):
        text = re.sub(
            r"\$\{local\.(\w+)\}",
            lambda m: _bare(local_values[m.group(1)]) if isinstance(local_values.get(m.group(1)), str) else m.group(0),
            text,
        )
    return text


def _items(for_each: Any, local_values: dict[str, Any]) -> list[tuple[str, str]]:
    """(each.key, each.value) pairs of a for_each: a map literal, or toset() of list literals
    and list locals (a conditional's empty branch ignored); members of a var list as 'var.NAME'."""
    if isinstance(for_each, dict):
        return [(key, _bare(value)) for key, value in for_each.items()]
    text = _bare(for_each)
    values: list[str] = []
    for name in re.findall(r"local\.(\w+)", text):
        if isinstance(local_values.get(name), list):
            values += [_bare(item) for item in local_values[name]]
    for inside in re.findall(r"\[([^\[\]]+)\]", text):
        values += [_bare(part.strip()) for part in inside.split(",") if part.strip()]
    values += [f"var.{name}" for name in re.findall(r"toset\(var\.(\w+)\)", text)]
    return [(value, value) for value in values]


def _identity(member: str) -> str:
    """A module's service account by its resource name (receipts-pipeline -> "pipeline")."""
    bare = _bare(member)
    if match := re.fullmatch(r"serviceAccount:\$\{google_service_account\.(\w+)\.email\}", bare):
        return match.group(1)
    if bare == "serviceAccount:${var.deployer}":
        return "deployer"
    return bare


def _role(role: str) -> str:
    bare = _bare(role)
    if match := re.fullmatch(r"google_project_iam_custom_role\.(\w+)\.name", bare):
        return f"custom:{match.group(1)}"
    return bare


@cache
def grants() -> tuple[Grant, ...]:
    found = []
    for folder in sorted(path for path in MODULES.iterdir() if path.is_dir()):
        local_values = module_locals(folder)
        for path in sorted(folder.glob("*.tf")):
            for block in _parsed(path).get("resource", []):
                for kind, named in block.items():
                    kind = _unquote(kind)
                    if not kind.endswith("_iam_member"):
                        continue
                    for name, body in named.items():
                        gate = str(body.get("for_each", "")) + str(body.get("count", ""))
                        items = _items(body["for_each"], local_values) if "for_each" in body else [("", "")]
                        [condition] = body.get("condition", [{"expression": '""'}])
                        for key, value in items:

                            def each(text: Any, key: str = key, value: str = value, known=local_values) -> str:
                                text = _fill(str(text), known)
                                return text.replace("${each.value}", value).replace("${each.key}", key)

                            target = next((each(body[field]) for field in TARGETS if field in body), None)
                            if target is None:
                                target = "spanner" if "spanner_database" in kind else "project"
                            found.append(
                                Grant(
                                    identity=_identity(each(body["member"])),
                                    role=_role(each(body["role"])),
                                    kind=kind,
                                    target=_bare(target),
                                    condition=_bare(each(condition["expression"])),
                                    restore_window="local.restoring" in gate,
                                    where=f"{folder.name}/{path.name}:{_unquote(name)}",
                                )
                            )
    return tuple(found)


def held_by(identity: str) -> list[Grant]:
    return [grant for grant in grants() if grant.identity == identity]


@cache
def custom_roles() -> dict[str, set[str]]:
    """custom:NAME -> its permissions."""
    roles = {}
    for path in sorted(MODULES.rglob("*.tf")):
        for block in _parsed(path).get("resource", []):
            for name, body in block.get('"google_project_iam_custom_role"', {}).items():
                roles[f"custom:{_unquote(name)}"] = {_unquote(p) for p in body["permissions"]}
    return roles


def database_role_privileges(statements: list[str]) -> dict[str, dict[str, set[str]]]:
    """role -> table -> privileges, from the GRANT statements of spanner_roles.sql."""
    privileges: dict[str, dict[str, set[str]]] = {}
    for statement in statements:
        if match := re.fullmatch(r"CREATE ROLE (\w+)", statement):
            privileges.setdefault(match.group(1), {})
            continue
        match = re.fullmatch(r"GRANT ([A-Z, ]+) ON TABLE ([\w, ]+) TO ROLE (\w+)", statement)
        assert match, f"not a table grant: {statement}"
        actions = {action.strip() for action in match.group(1).split(",")}
        for table in match.group(2).split(","):
            privileges[match.group(3)].setdefault(table.strip(), set()).update(actions)
    return privileges
