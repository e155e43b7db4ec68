"""What the Google Cloud store's code does to each Spanner table, read from its source: per
function of receipts/stores/gcp/*.py, the tables it reads (a SQL string's FROM or JOIN, a
`read(` or `_read(` of a table, a module constant of table names it uses) and the mutations
it makes (`insert`, `insert_or_update`, `update`, `delete` of a table, called or handed to a
helper with the table: `self._mutate(transaction.insert, "T", …)`), as the privileges
they take under fine-grained access control. tests/test_terraform.py holds each database
role of spanner_roles.sql to what the functions of its workload need."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GCP = ROOT / "receipts/stores/gcp"
TABLES = set(re.findall(r"CREATE TABLE (\w+)", (GCP / "spanner.sql").read_text()))
MUTATIONS = {"insert": {"INSERT"}, "insert_or_update": {"INSERT", "UPDATE"}, "update": {"UPDATE"}, "delete": {"DELETE"}}
READS = {"read", "_read"}


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _module_constants(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level NAME = <strings>: SQL texts, tuples of table names."""
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = _strings(node.value)
    return constants


def needs(module: str, function: str, loop_tables: set[str] = frozenset()) -> dict[str, set[str]]:
    """table -> privileges `function` of receipts/stores/gcp/`module` takes. A mutation whose
    table is not a literal (a loop variable) is taken to be of each of `loop_tables`."""
    tree = ast.parse((GCP / module).read_text())
    constants = _module_constants(tree)
    [body] = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == function]
    wanted: dict[str, set[str]] = {}
    mutated_literals = set()
    for node in ast.walk(body):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        method, first = node.func.attr, node.args[0]
        if isinstance(first, ast.Attribute) and first.attr in MUTATIONS and len(node.args) > 1:
            method, first = first.attr, node.args[1]  # a mutation handed on: self._mutate(transaction.insert, "T", …)
        named = {first.value} if isinstance(first, ast.Constant) else set(loop_tables)
        if method in MUTATIONS:
            for table in named & TABLES:
                wanted.setdefault(table, set()).update(MUTATIONS[method])
            if isinstance(first, ast.Constant):
                mutated_literals.add(id(first))
        elif method in READS:
            for table in named & TABLES:
                wanted.setdefault(table, set()).add("SELECT")
    texts = [
        n.value
        for n in ast.walk(body)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in mutated_literals
    ]
    for name in {n.id for n in ast.walk(body) if isinstance(n, ast.Name)} & constants.keys():
        texts += constants[name]
    for text in texts:
        read = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", text)) | ({text} & TABLES)
        for table in read & TABLES:
            wanted.setdefault(table, set()).add("SELECT")
    return wanted


def merged(*needed: dict[str, set[str]]) -> dict[str, set[str]]:
    total: dict[str, set[str]] = {}
    for one in needed:
        for table, privileges in one.items():
            total.setdefault(table, set()).update(privileges)
    return total
