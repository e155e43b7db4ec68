"""The schema of the Google Cloud store, read from the data files beside this module: the
Spanner DDL (`spanner.sql`, `spanner_roles.sql`) and the Firestore composite indexes and
single-field index exemptions (`firestore.indexes.json`). Terraform reads the same files (terraform/modules/spanner,
terraform/modules/firestore), so `receipts init` and production cannot differ."""

import json
import re
from importlib import resources


def spanner_ddl(name: str = "spanner.sql") -> list[str]:
    """The statements of `spanner.sql` (or `spanner_roles.sql`): "--" comments dropped,
    split on a ";" ending a line."""
    text = resources.files("receipts.stores.gcp").joinpath(name).read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    statements = "\n".join(lines).split(";\n")
    return [statement.strip().rstrip(";").strip() for statement in statements if statement.strip()]


# IdempotencyKeys, the columns a receipt writes (besides CreatedAt, its commit time): spanner.sql.
KEY_COLUMNS = [
    "CustomerId",
    "IdempotentKey",
    "ReceiptId",
    "EventSha256",
    "Sequence",
    "ReceiptHash",
    "Body",
    "Signature",
]


TABLE_NAME = re.compile(r"CREATE TABLE (\w+)|CREATE (?:UNIQUE )?INDEX \w+ ON (\w+)")
ADDED_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)")


def missing_statements(
    statements: list[str], existing_tables: set[str], existing_columns: set[tuple[str, str]] = frozenset()
) -> list[str]:
    """The CREATE TABLE statements (and their indexes) of tables a database does not have
    yet, and the ALTER TABLE ... ADD COLUMN of columns it lacks (`existing_columns` holds
    (table, column) pairs): the schema only grows (new statements at the end of
    spanner.sql), so this brings an older database up to date."""
    missing = []
    for statement in statements:
        match = TABLE_NAME.match(statement)
        added = ADDED_COLUMN.match(statement)
        if match and (match.group(1) or match.group(2)) not in existing_tables:
            missing.append(statement)
        elif added and added.group(1) not in existing_tables:
            missing.append(statement)  # its table is created just before, without the column
        elif added and (added.group(1), added.group(2)) not in existing_columns:
            missing.append(statement)
    return missing


def _firestore_index_file() -> dict:
    return json.loads(resources.files("receipts.stores.gcp").joinpath("firestore.indexes.json").read_text())


def firestore_indexes() -> list[dict]:
    """The composite indexes the ledger's queries need."""
    return _firestore_index_file()["indexes"]


def firestore_field_overrides() -> list[dict]:
    """Single-field index settings: `"indexes": []` exempts a field from automatic indexing.
    Every field no query uses is exempt, above all the ones whose values increase with time
    (timestamps, server timestamps, Pub/Sub message ids): Firestore caps a collection with
    such an indexed field at about 500 writes/s."""
    return _firestore_index_file()["fieldOverrides"]
