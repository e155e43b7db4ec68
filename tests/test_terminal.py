"""Untrusted text on terminals: what `receipts` prints of files, stores and requests is
shown as text. Rich markup in a value is text, never markup (no MarkupError, no fake
colours), and control, format and separator characters (ESC, CR, C1 such as U+009B,
bidi overrides, U+2028) are shown as visible escapes, never written raw, so a crafted
file can neither crash a command nor overwrite its FAIL lines with a fake OK."""

import ast
import base64
import json
import re
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.ledger import Entitlement
from receipts.reconciliation import CustomerResult, Discrepancy, Tally
from receipts.reconciliation.report import Summary
from receipts.records import DeadLetter
from receipts.rows import ApiKeyRecord
from receipts.stores.sqlite import SqliteStore
from receipts_cli.main import main

# What an attacker puts in a value: markup that does not parse, markup that does (a fake
# green OK), a line erase and cursor moves by ESC and CR, CSI as one C1 character, an OSC
# that retitles the window, a bidi override, a zero-width space and a line separator.
FAKE_OK = "\r\x1b[2K\x1b[32mOK\x1b[0m 9 receipt(s) verified\x1b[8m"
HOSTILE = [
    "r_[/bold]boom",
    "r_[green]OK[/green]",
    f"r_fake{FAKE_OK}",
    "r_c1\u009b2J\u009b1A",
    "r_osc\x1b]0;pwned\x07",
    "r_bidi\u202eexe.txt\u202c",
    "r_zero\u200bwidth\u2028next",
]
ESCAPES = ["\\u001b", "\\u000d", "\\u009b", "\\u202e", "\\u200b", "\\u2028", "\\u0007"]


def hidden(text: str) -> list[str]:
    """Characters a terminal would act on or hide instead of showing (newlines are lines)."""
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs"}]


def assert_shown_as_text(output: str) -> None:
    assert hidden(output) == [], sorted(set(hidden(output)))
    assert not re.search(r"^\s*OK\b", output, re.MULTILINE), output


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def store_of(home: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{home / 'receipts.db'}")


def test_verify_shows_crafted_ids_kids_and_reasons_as_text(home: Path, tmp_path: Path) -> None:
    assert invoke(home, "keys", "jwks").exit_code == 0  # a key ring to verify against
    header = b64(json.dumps({"alg": "RS256", "kid": "k[/]\x1b]0;x\x07\u202e", "typ": "receipt+jws"}).encode())
    lines = [
        {"receipt_id": value, "customer_id": f"cust{value}", "sequence": 1, "signature": f"{header}.e30.AAAA"}
        for value in HOSTILE
    ]
    crafted = tmp_path / "crafted.jsonl"
    crafted.write_text("".join(json.dumps(line) + "\n" for line in lines) + "not json [/bold]\n")

    result = invoke(home, "verify", str(crafted))

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert_shown_as_text(result.output)
    assert f"{len(HOSTILE) + 1} of {len(HOSTILE) + 1} receipt(s) failed verification." in result.output
    fails = [line for line in result.output.split("\n") if line.startswith("FAIL ")]
    assert len(fails) >= len(HOSTILE) + 1
    for escape in ESCAPES:
        assert escape in result.output, escape
    assert "r_[/bold]boom" in result.output and "r_[green]OK[/green]" in result.output  # markup shown as text


def test_the_reconciliation_summary_shows_crafted_findings_as_text(capsys: pytest.CaptureFixture) -> None:
    from receipts_cli.reconcile import _print_summary

    found = tuple(
        Discrepancy("stores", f"cust{value}", value, 3, f"field{value}", f"reason quoting {value}", "missing", "ledger")
        for value in HOSTILE
    )
    tally = Tally(customers=1, receipts=3)
    tally.found(found)
    report = (
        Summary()
        .add(CustomerResult("cust", found, tally))
        .report(
            {"store": "sqlite:///s[/]\x1b", "archive": "a\u202e", "source": "both", "as_of": "2026-01-25T13:00:00Z"}
        )
    )

    _print_summary(report, None)

    output = capsys.readouterr().out
    assert_shown_as_text(output)
    assert len([line for line in output.split("\n") if line.startswith("FAIL stores:")]) == len(HOSTILE)
    assert f"{len(HOSTILE)} discrepancies in stores." in output
    for escape in ESCAPES:
        assert escape in output, escape


def test_stored_values_in_tables_are_shown_as_text(home: Path) -> None:
    store = store_of(home)
    for number, value in enumerate(HOSTILE):
        store.set_entitlement(Entitlement(f"cust{value}", f"ent{value}", 100, "USD"))
        store.add_api_key(ApiKeyRecord(f"{number:016x}", f"cust{value}", "0" * 64, value, None))
        store._db.execute("INSERT INTO balances VALUES (?, ?, ?, ?)", (f"cust{value}", "USD", value, number))
    for command in (["balances"], ["entitlements", "list"], ["api-keys", "list"]):
        result = invoke(home, *command)
        assert result.exit_code == 0, (command, result.output, result.exception)
        assert_shown_as_text(result.output)
        assert "\\u001b" in result.output and "\\u202e" in result.output, command


def test_dead_letters_are_ascii_json_that_reads_back_the_same(home: Path) -> None:
    raw = '{"idempotent_key": "caf\u00e9\u202e\u009b2J\u2028\x1b[31m"'.encode()
    store_of(home).add_dead_letters([DeadLetter("malformed_json", "detail \u202e", raw, "m1")])
    result = invoke(home, "dead-letters")
    assert result.exit_code == 0
    assert result.output.isascii() and hidden(result.output) == []
    [letter] = [json.loads(line) for line in result.output.splitlines()]
    assert letter["raw"] == raw.decode() and letter["detail"] == "detail \u202e"


def test_error_messages_quoting_input_show_it_as_text(home: Path) -> None:
    assert invoke(home, "keys", "jwks").exit_code == 0
    for args in (["api-keys", "revoke", "k\x1b[2J\u202e[/bold]"], ["keys", "pem", "kid\x1b]0;x\x07\u009b"]):
        result = invoke(home, *args)
        assert result.exit_code == 1, result.output
        assert hidden(result.output) == [], (args, result.output)
        assert "\\u001b" in result.output


def test_the_consoles_show_any_value_as_text_even_one_not_passed_through_shown(
    capsys: pytest.CaptureFixture,
) -> None:
    from receipts_cli.terminal import err, out, shown

    for value in HOSTILE:
        out.print(f"[red]FAIL[/] {value}")  # forgot shown(): garbled at worst, never raw, never a crash
        err.print(f"[red]FAIL[/] {shown(value)}")
    captured = capsys.readouterr()
    assert hidden(captured.out) == [] and hidden(captured.err) == []
    assert captured.err.count("FAIL") == len(HOSTILE) and "r_[/bold]boom" in captured.err
    assert shown("a[b]\x1b\u202e") == "a\\[b]\\u001b\\u202e"


def test_no_module_makes_a_console_of_its_own_or_prints_around_them() -> None:
    """Every rich Console is receipts_cli.terminal's, so every print goes through its net; no
    module calls the builtin print (or rich's), which would write a value raw."""
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("receipts", "receipts_cli", "pipelines", "transforms", "verifier_site"):
        for path in (root / folder).rglob("*.py"):
            source = path.read_text()
            if path.name != "terminal.py" and re.search(r"\bConsole\(", source):
                offenders.append(f"{path.relative_to(root)}: Console(")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}: print(")
    assert offenders == []
