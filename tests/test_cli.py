"""The `receipts` command end to end on the embedded store: the real Beam pipeline."""

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts_cli.main import main
from tests.conftest import event_bytes

pytestmark = pytest.mark.beam


def invoke(home: Path, *args: str, input: bytes | None = None):
    result = CliRunner().invoke(main, ["--home", str(home), *args], input=input, catch_exceptions=False)
    return result


def write_events(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture
def events(tmp_path: Path) -> Path:
    return write_events(
        tmp_path / "events.jsonl",
        [
            event_bytes(idempotent_key="a", amount="10.00"),
            event_bytes(idempotent_key="b", amount=2.5, timestamp="2026-01-25T09:00:00Z"),
            event_bytes(idempotent_key="a", amount="10.00"),  # retry: duplicate
            event_bytes(idempotent_key="a", amount="12.00"),  # conflict
            event_bytes(
                idempotent_key="j",
                customer_id="cust_jp",
                amount="500",
                currency="JPY",
                usage_description="multi\u2028line </script>",
            ),
            b"{broken",
            event_bytes(idempotent_key="neg", amount="-1.00"),
        ],
    )


def exported(home: Path, *args: str) -> list[dict]:
    result = invoke(home, "export", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout_bytes.split(b"\n") if line]


def test_run_export_verify_and_replay(home: Path, events: Path, tmp_path: Path) -> None:
    result = invoke(home, "run", "--input", str(events))
    assert result.exit_code == 0, result.output
    assert "dead letters" in result.output

    receipts = exported(home)
    assert [(r["customer_id"], r["sequence"], r["idempotent_key"], r["balance_after"]) for r in receipts] == [
        ("cust_1", 1, "b", "2.50"),
        ("cust_1", 2, "a", "12.50"),
        ("cust_jp", 1, "j", "500"),
    ]
    assert receipts[2]["usage_description"] == "multi\u2028line </script>"
    letters = [json.loads(line) for line in invoke(home, "dead-letters").output.splitlines()]
    assert sorted(letter["reason"] for letter in letters) == [
        "idempotency_conflict",
        "invalid_amount",
        "malformed_json",
    ]
    assert {letter["raw"] for letter in letters} >= {"{broken"}

    export_file = tmp_path / "export.jsonl"
    export_file.write_bytes(invoke(home, "export").stdout_bytes)
    verified = invoke(home, "verify", str(export_file))
    assert verified.exit_code == 0, verified.output
    assert "OK 3 receipt(s) verified" in verified.output

    archive_before = {p.name: p.read_bytes() for p in (home / "archive").glob("*.jsonl")}
    assert sum(len(v.splitlines()) for v in archive_before.values()) == 3
    assert invoke(home, "run", "--input", str(events)).exit_code == 0
    assert invoke(home, "export").stdout_bytes == export_file.read_bytes()
    assert {p.name: p.read_bytes() for p in (home / "archive").glob("*.jsonl")} == archive_before
    assert len(invoke(home, "dead-letters").output.splitlines()) == 3


def test_verify_names_the_tampered_receipt(home: Path, events: Path, tmp_path: Path) -> None:
    invoke(home, "run", "--input", str(events))
    receipts = exported(home)
    receipts[1]["amount"] = "1.00"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("".join(json.dumps(r) + "\n" for r in receipts))
    result = invoke(home, "verify", str(tampered))
    assert result.exit_code == 1
    assert receipts[1]["receipt_id"] in result.output and "canonical" in result.output


def test_verify_against_another_jwks_fails_the_signature(home: Path, events: Path, tmp_path: Path) -> None:
    invoke(home, "run", "--input", str(events))
    (tmp_path / "r.jsonl").write_bytes(invoke(home, "export").stdout_bytes)
    (tmp_path / "other.json").write_text(invoke(tmp_path / "other-home", "keys", "jwks").output)
    result = invoke(home, "verify", str(tmp_path / "r.jsonl"), "--jwks", str(tmp_path / "other.json"))
    assert result.exit_code == 1 and "signature" in result.output


def test_verify_reads_the_jwks_from_standard_input_with_a_dash(home: Path, events: Path, tmp_path: Path) -> None:
    invoke(home, "run", "--input", str(events))
    (tmp_path / "r.jsonl").write_bytes(invoke(home, "export").stdout_bytes)
    keyless = tmp_path / "keyless-home"
    jwks = invoke(home, "keys", "jwks").stdout_bytes
    result = invoke(keyless, "verify", str(tmp_path / "r.jsonl"), "--jwks", "-", input=jwks)
    assert result.exit_code == 0 and "OK" in result.output
    assert not (keyless / "keys").exists()


def test_verify_names_a_jwks_it_cannot_read_or_use(home: Path, tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_text("{}\n")
    missing = invoke(home, "verify", str(tmp_path / "r.jsonl"), "--jwks", str(tmp_path / "missing.json"))
    assert missing.exit_code == 2 and "--jwks" in missing.output and "cannot read the JWKS" in missing.output
    (tmp_path / "not.json").write_text('{"no": "keys"}')
    wrong = invoke(home, "verify", str(tmp_path / "r.jsonl"), "--jwks", str(tmp_path / "not.json"))
    assert wrong.exit_code == 1 and "is not a JWKS" in wrong.output


def test_key_rotation_keeps_old_receipts_verifiable(home: Path, events: Path, tmp_path: Path) -> None:
    invoke(home, "run", "--input", str(events))
    old_kid = exported(home)[0]["kid"]
    rotated = invoke(home, "keys", "rotate")
    new_kid = rotated.stdout.strip()
    assert rotated.exit_code == 0 and new_kid != old_kid
    jwks = json.loads(invoke(home, "keys", "jwks").output)
    assert [key["kid"] for key in jwks["keys"]] == [new_kid, old_kid]
    write_events(tmp_path / "more.jsonl", [event_bytes(idempotent_key="c", amount="1.00")])
    invoke(home, "run", "--input", str(tmp_path / "more.jsonl"))
    receipts = exported(home, "--customer", "cust_1")
    assert [r["kid"] for r in receipts] == [old_kid, old_kid, new_kid]
    (tmp_path / "all.jsonl").write_bytes(invoke(home, "export").stdout_bytes)
    assert invoke(home, "verify", str(tmp_path / "all.jsonl")).exit_code == 0
    for path in (home / "keys").glob("*.pem"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_entitlement_limit_produces_signed_rejections(home: Path, tmp_path: Path) -> None:
    assert (
        invoke(
            home,
            "entitlements",
            "set",
            "--customer",
            "cust_1",
            "--entitlement",
            "ent",
            "--limit",
            "20.00",
            "--currency",
            "USD",
        ).exit_code
        == 0
    )
    write_events(
        tmp_path / "e.jsonl",
        [
            event_bytes(
                idempotent_key=f"k{n}", amount="7.50", entitlement_id="ent", timestamp=f"2026-01-25T10:0{n}:00Z"
            )
            for n in range(4)
        ],
    )
    invoke(home, "run", "--input", str(tmp_path / "e.jsonl"))
    receipts = exported(home)
    assert [(r["status"], r["reason"], r["balance_after"], r["quota_remaining"]) for r in receipts] == [
        ("accepted", None, "7.50", "12.50"),
        ("accepted", None, "15.00", "5.00"),
        ("rejected", "quota_exceeded", "15.00", "5.00"),
        ("rejected", "quota_exceeded", "15.00", "5.00"),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--limit", "20.001", "--currency", "USD"], "fraction digits"),
        (["--limit", "-5", "--currency", "USD"], "positive decimal"),
        (["--limit", "5", "--currency", "usd"], "ISO 4217"),
    ],
)
def test_entitlement_set_rejects_bad_input(home: Path, args: list[str], message: str) -> None:
    result = invoke(home, "entitlements", "set", "--customer", "c", "--entitlement", "e", *args)
    assert result.exit_code == 2 and message in result.output


def test_verify_without_keys_asks_for_a_jwks_and_creates_nothing(home: Path, tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_text("{}\n")
    result = invoke(home, "verify", str(tmp_path / "r.jsonl"))
    assert result.exit_code == 2 and "--jwks" in result.output
    assert not (home / "keys").exists()


def test_verify_reports_unreadable_lines(home: Path, tmp_path: Path) -> None:
    invoke(home, "keys", "jwks")
    (tmp_path / "junk.jsonl").write_text('{"receipt_id": "r_x"}\nnot json\n')
    result = invoke(home, "verify", str(tmp_path / "junk.jsonl"))
    assert result.exit_code == 1
    assert "line 2" in result.output and "r_x" in result.output


def test_demo_runs_and_verifies(home: Path) -> None:
    result = invoke(home, "demo")
    assert result.exit_code == 0, result.output
    assert "OK 200 receipt(s) verified" in result.output
    assert "checkpoint signed for 200. Cosigned by 1 witness(es) of the 1 needed." in " ".join(result.output.split())
    receipts = exported(home)
    assert {r["currency"] for r in receipts} == {"USD", "EUR", "JPY", "GBP", "BHD"}
    assert any(r["reason"] == "quota_exceeded" for r in receipts)
    reasons = {json.loads(line)["reason"] for line in invoke(home, "dead-letters").output.splitlines()}
    assert {"idempotency_conflict", "malformed_json", "too_many_fraction_digits"} <= reasons
    replay = invoke(home, "demo")
    assert replay.exit_code == 0 and exported(home) == receipts


def test_a_demo_sample_too_small_for_its_retries_and_conflict_is_a_usage_error(home: Path) -> None:
    result = invoke(home, "demo", "--events-per-customer", "2")
    assert result.exit_code == 2 and "--events-per-customer" in result.output


def test_a_second_run_on_a_busy_home_is_refused(home: Path, events: Path) -> None:
    from receipts_cli.home import Home

    with Home(home).exclusive_run():
        result = invoke(home, "run", "--input", str(events))
    assert result.exit_code == 1
    assert "is already running the pipeline on" in result.output and "wait for it to finish" in result.output
    assert exported(home) == []
    assert invoke(home, "run", "--input", str(events)).exit_code == 0  # the lock is released with its holder


def test_a_run_over_a_file_whose_name_holds_markup_and_controls(home: Path, events: Path) -> None:
    """The name is shown (status, summary) as text: no MarkupError, no raw control character."""
    crafted = events.parent / "events[" / "bold]\u202e\x1b[2J.jsonl"  # the path holds "events[/bold]"
    crafted.parent.mkdir()
    crafted.write_bytes(events.read_bytes())
    result = CliRunner().invoke(main, ["--home", str(home), "run", "--input", str(crafted)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "\u202e" not in result.output and "\x1b" not in result.output
    assert [r["idempotent_key"] for r in exported(home)] == ["b", "a", "j"]
