"""firestore.indexes.json, checked without Firestore (the emulator ignores indexes, so a query
that needs an exempted field would pass every emulator test and fail in production): every
field the code queries, filters or orders by stays indexed, every field that grows with time
is exempt, the composite indexes are the ones queries need, Terraform reads the file's
fieldOverrides, and `receipts init` applies them as it applies the composite indexes."""

import ast
import json
from pathlib import Path
from typing import ClassVar

import pytest

from receipts.stores.gcp.schema import firestore_field_overrides, firestore_indexes
from tests.test_terraform import TERRAFORM, parsed, resources_of, unquote

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = {"RECEIPTS": "receipts", "DEAD_LETTERS": "dead_letters", "STATEMENTS": "statements"}
# Values that increase with time, whatever writes them: an indexed one is a write hotspot.
MONOTONIC = {
    "receipts": {"event_timestamp", "processed_at", "ledger_written_at", "restored_at"},
    "dead_letters": {"recorded_at", "message_id", "idempotent_key"},
    "statements": set(),
}


def query_sources() -> list[Path]:
    """Every module that may query Firestore: the Google Cloud store and the site."""
    return sorted([*(ROOT / "receipts/stores/gcp").glob("*.py"), *(ROOT / "verifier_site").rglob("*.py")])


def _first_string(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def queried_fields(tree: ast.AST) -> set[str]:
    """Field paths in FieldFilter(...), .where("f", ...), .order_by(...) and .select([...])."""
    fields: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        field = _first_string(node)
        if name in {"FieldFilter", "where", "order_by", "start_at", "start_after", "end_at", "end_before"} and field:
            fields.add(field)
        if name == "select" and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            fields |= {element.value for element in node.args[0].elts if isinstance(element, ast.Constant)}
    return fields


def queries_by_collection() -> dict[str, set[str]]:
    """Each function's queried fields, charged to the collections it names (RECEIPTS,
    DEAD_LETTERS, or the literal names); a function naming none is charged to both."""
    found: dict[str, set[str]] = {collection: set() for collection in COLLECTIONS.values()}
    for path in query_sources():
        tree = ast.parse(path.read_text())
        for function in [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]:
            fields = queried_fields(function)
            if not fields:
                continue
            named = {COLLECTIONS[n.id] for n in ast.walk(function) if isinstance(n, ast.Name) and n.id in COLLECTIONS}
            named |= {
                n.value for n in ast.walk(function) if isinstance(n, ast.Constant) and n.value in COLLECTIONS.values()
            }
            for collection in named or COLLECTIONS.values():
                found[collection] |= fields
    return found


def server_timestamp_fields() -> dict[str | None, set[str]]:
    """Keys set to firestore.SERVER_TIMESTAMP in a dict literal, by the collection the
    function names (RECEIPTS, DEAD_LETTERS), or under None when it names neither (a helper
    such as ledger.document_of)."""
    found: dict[str | None, set[str]] = {None: set(), **{collection: set() for collection in COLLECTIONS.values()}}
    for path in query_sources():
        tree = ast.parse(path.read_text())
        for function in [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]:
            keys = {
                key.value
                for node in ast.walk(function)
                if isinstance(node, ast.Dict)
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant)
                and isinstance(value, ast.Attribute)
                and value.attr == "SERVER_TIMESTAMP"
            }
            named = {COLLECTIONS[n.id] for n in ast.walk(function) if isinstance(n, ast.Name) and n.id in COLLECTIONS}
            for collection in named or {None}:
                found[collection] |= keys
    return found


def exempt() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {collection: set() for collection in COLLECTIONS.values()}
    for override in firestore_field_overrides():
        if override["indexes"] == []:
            found.setdefault(override["collectionGroup"], set()).add(override["fieldPath"])
    return found


def test_the_scan_finds_the_queries_the_ledger_makes() -> None:
    """Not vacuous: the ledger's queries by customer and sequence are seen."""
    queried = queries_by_collection()
    assert {"customer_id", "sequence"} <= queried["receipts"]
    stamped = server_timestamp_fields()
    assert stamped[None] >= {"ledger_written_at"} and stamped["receipts"] >= {"restored_at"}
    assert stamped["dead_letters"] >= {"recorded_at"}


@pytest.mark.parametrize("collection", sorted(COLLECTIONS.values()))
def test_no_exempt_field_is_queried_filtered_or_ordered_by(collection: str) -> None:
    assert exempt()[collection] & queries_by_collection()[collection] == set()


@pytest.mark.parametrize("collection", sorted(COLLECTIONS.values()))
def test_every_field_that_grows_with_time_is_exempt(collection: str) -> None:
    assert MONOTONIC[collection] | server_timestamp_fields()[collection] <= exempt()[collection]


def test_every_server_timestamp_is_exempt_where_it_is_written() -> None:
    """A helper's server timestamp (one naming no collection) is exempt in some collection."""
    exempted = set().union(*exempt().values())
    assert server_timestamp_fields()[None] <= exempted


def test_every_field_written_is_exempt_unless_a_query_uses_it() -> None:
    """Keep only the indexes queries use: each field of a ledger document and of a dead
    letter is queried or exempt."""
    from receipts.records import DeadLetter
    from receipts.stores.gcp.ledger import document_of

    body = {name: "x" for name in ("receipt_id", "customer_id", "status", "currency", "event_timestamp")}
    ledger = set(document_of("{}", {**body, "sequence": 1, "processed_at": "x"}, "h", "s")) | {"restored_at"}
    dead = set(DeadLetter("reason", "detail", b"raw", "1").export()) | {"recorded_at"}
    queried, exempted = queries_by_collection(), exempt()
    assert ledger - queried["receipts"] - exempted["receipts"] == set()
    assert dead - queried["dead_letters"] - exempted["dead_letters"] == set()
    from receipts.stores.gcp.statements import statement_document

    made = {"statement_hash": "h", "signature": "s", "statement_id": "s_x", "customer_id": "c", "period": "2026-11"}
    statement = set(statement_document({**made, "closing_sequence": 0}, 1))
    assert statement - queried["statements"] - exempted["statements"] == set()
    assert {"customer_id", "sequence"} - exempted["receipts"] == {"customer_id", "sequence"}


def test_composite_indexes_are_on_queried_fields_only() -> None:
    queried = queries_by_collection()
    for index in firestore_indexes():
        fields = {field["fieldPath"] for field in index["fields"]}
        assert fields <= queried[index["collectionGroup"]], index
        assert not fields & exempt()[index["collectionGroup"]], index


def test_the_file_is_well_formed() -> None:
    document = json.loads((ROOT / "receipts/stores/gcp/firestore.indexes.json").read_text())
    assert set(document) == {"indexes", "fieldOverrides"}
    keys = [(o["collectionGroup"], o["fieldPath"]) for o in document["fieldOverrides"]]
    assert len(keys) == len(set(keys)), "one override per field"
    for override in document["fieldOverrides"]:
        assert set(override) <= {"collectionGroup", "fieldPath", "ttl", "indexes"}
        assert override["collectionGroup"] in COLLECTIONS.values()


def test_terraform_applies_every_field_override_of_the_file() -> None:
    main = TERRAFORM / "modules/firestore/main.tf"
    [local] = parsed(main)["locals"]
    assert local["index_file"] == "${jsondecode(file(local.indexes_file))}"
    assert "local.index_file.fieldOverrides" in local["field_overrides"]
    field = resources_of(main)["google_firestore_field"]["this"]
    assert field["for_each"] == "${local.field_overrides}"
    assert field["collection"] == "${each.value.collectionGroup}"
    assert field["field"] == "${each.value.fieldPath}"
    [config] = field["index_config"]
    [dynamic] = config["dynamic"]
    [(name, block)] = dynamic.items()
    assert unquote(name) == "indexes"
    assert block["for_each"] == "${each.value.indexes}"  # [] gives index_config {}: exempt


class _RecordingAdmin:
    """Records the Firestore Admin API calls `receipts init` makes (no emulator serves that API)."""

    calls: ClassVar[list[tuple[str, dict]]] = []

    def create_index(self, parent: str, index: dict) -> None:
        self.calls.append(("create_index", {"parent": parent, "index": index}))

    def update_field(self, request: dict) -> None:
        self.calls.append(("update_field", request))


def test_init_applies_the_exemptions_as_it_applies_the_indexes(monkeypatch) -> None:
    from google.cloud import firestore_admin_v1

    from receipts.stores.gcp.location import GcpLocation
    from receipts_cli import provision

    location = GcpLocation.parse("gcp://billing-test")
    lines: list[str] = []
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    provision._firestore_indexes(location, lines.append)
    assert lines == [
        f"Firestore emulator: composite indexes and {len(firestore_field_overrides())} index exemption(s) are not"
        " needed (Terraform creates them in production)"
    ]
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST")
    _RecordingAdmin.calls = []
    monkeypatch.setattr(firestore_admin_v1, "FirestoreAdminClient", _RecordingAdmin)
    lines.clear()
    provision._firestore_indexes(location, lines.append)
    database = "projects/billing-test/databases/(default)"
    created = [call for kind, call in _RecordingAdmin.calls if kind == "create_index"]
    assert [call["parent"] for call in created] == [f"{database}/collectionGroups/receipts"] * 2
    updates = {call["field"]["name"]: call for kind, call in _RecordingAdmin.calls if kind == "update_field"}
    for collection, fields in exempt().items():
        for field in fields:
            call = updates[f"{database}/collectionGroups/{collection}/fields/{field}"]
            assert call["field"]["index_config"] == {"indexes": []}
            assert call["update_mask"] == {"paths": ["index_config"]}
    assert len(updates) == len(firestore_field_overrides())
    assert "created Firestore index on receipts (customer_id, sequence)" in lines
    assert "created Firestore index on receipts (customer_id, corrects, sequence)" in lines
    assert any(line.startswith("Firestore single-field index exemptions requested: receipts.") for line in lines)
