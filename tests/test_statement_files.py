"""The statements' archive in a folder (receipts.stores.statement_files): named by period and
id only, written once (the same bytes again are a replay, other bytes an error naming the
file, never an overwrite), whole and private; names that could leave the folder are refused."""

import stat
from pathlib import Path

import pytest

from receipts.records import export_line
from receipts.statements import statement_id
from receipts.stores.archives import open_statement_archive
from receipts.stores.statement_files import FolderStatements, StatementArchiveConflict, statement_path, statements_url


def statement(customer: str = "cust_a", period: str = "2026-10", **fields) -> dict:
    return {"customer_id": customer, "period": period, "statement_id": statement_id(customer, period), **fields}


def test_where_statements_go_beside_the_receipts_archive() -> None:
    assert statements_url("gs://bucket/receipts") == "gs://bucket/statements"
    assert statements_url("/home/x/archive") == "/home/x/archive/statements"
    one = statement()
    assert statement_path(one) == f"2026-10/{one['statement_id']}.jsonl"
    for bad in ({**one, "statement_id": "../../etc/passwd"}, {**one, "period": "../x"}, {**one, "period": "2026-13"}):
        with pytest.raises(ValueError):
            statement_path(bad)


def test_written_once_whole_and_private(tmp_path: Path) -> None:
    archive = open_statement_archive(str(tmp_path / "archive"))
    assert isinstance(archive, FolderStatements) and archive.paths() == []
    first, second = statement(line_count=1), statement("cust_b", line_count=2)
    files = {statement_path(s): export_line(s) for s in (first, second)}
    assert archive.write_all(files) == 2
    assert archive.write_all(files) == 0 and archive.write_once(statement_path(first), export_line(first)) is False
    assert archive.paths() == sorted(files) and archive.read(statement_path(first)) == export_line(first)
    held = tmp_path / "archive" / "statements" / statement_path(first)
    assert stat.S_IMODE(held.stat().st_mode) == 0o600  # statements hold customers' totals
    assert not [path for path in (tmp_path / "archive").rglob("*") if path.name.endswith(".tmp")]

    other = export_line({**first, "line_count": 9})
    with pytest.raises(StatementArchiveConflict, match=str(held)):
        archive.write_once(statement_path(first), other)
    with pytest.raises(StatementArchiveConflict):  # in a batch too: nothing of it is written
        archive.write_all({statement_path(first): other, statement_path(statement("cust_c")): b"{}\n"})
    assert held.read_bytes() == export_line(first) and len(archive.paths()) == 2
    with pytest.raises(ValueError):
        archive.read("../../outside.jsonl")
