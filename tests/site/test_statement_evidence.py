"""GET /v1/statements/<id>/evidence: the statement evidence bundle, and its verify.sh run
under each POSIX shell with only POSIX tools and openssl: a real bundle verifies (lines,
root, totals in two currencies with credits, rejected and late lines, the close, the link
to the previous statement, the log's proof); a tampered line, a forged total, a missing
line and the other edits below each fail with their own message."""

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from receipts.api_keys import OPERATOR, issue_api_key
from receipts.canonical import canonical_bytes, receipt_id, sha256_hex
from receipts.credits import ChargeBook
from receipts.jws import STATEMENT_TYP, b64url, b64url_decode, sign_payloads
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.statements import Period, Previous, build_statement, exported_statement
from tests.conftest import make_event
from tests.site.conftest import Site
from tests.site.evidence_bundle import SHELLS, run, tool_folders, verify

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (Debian: openssl)")
CUSTOMER = "cust_s"
CLOSES = {"2026-01": "2026-02-01T02:00:00Z", "2026-02": "2026-03-01T02:00:00Z"}
CHARGE = receipt_id(CUSTOMER, "c-1")
# (fields, processed_at): January's lines (two currencies, a credit, a refused credit), a late
# January charge processed after January closed, February's own, and one after February's close.
EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"idempotent_key": "c-1", "amount": "40.00", "timestamp": "2026-01-10T10:00:00Z"}, "2026-01-10T10:00:01Z"),
    (
        {
            "idempotent_key": "r-1",
            "amount": "15.00",
            "type": "credit",
            "corrects": CHARGE,
            "timestamp": "2026-01-12T10:00:00Z",
        },
        "2026-01-12T10:00:01.5Z",
    ),
    (
        {"idempotent_key": "y-1", "amount": "5", "currency": "JPY", "timestamp": "2026-01-15T10:00:00Z"},
        "2026-01-15T10:00:01Z",
    ),
    (
        {
            "idempotent_key": "r-2",
            "amount": "100.00",
            "type": "credit",
            "corrects": CHARGE,
            "timestamp": "2026-01-20T10:00:00Z",
        },
        "2026-01-20T10:00:01Z",
    ),
    ({"idempotent_key": "late", "amount": "7.25", "timestamp": "2026-01-31T23:30:00.25Z"}, "2026-02-01T03:00:00Z"),
    ({"idempotent_key": "c-2", "amount": "3.00", "timestamp": "2026-02-10T10:00:00Z"}, "2026-02-10T10:00:01Z"),
    ({"idempotent_key": "c-3", "amount": "1.00", "timestamp": "2026-03-02T10:00:00Z"}, "2026-03-02T10:00:01Z"),
]


@pytest.fixture(scope="module")
def tool_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tool_folders(tmp_path_factory)


def close(site: Site, signer, period: str) -> dict[str, Any]:
    chain = list(site.store.receipts(CUSTOMER))
    previous = Previous.of(site.store.previous_statement(CUSTOMER, period))
    unsigned = build_statement(CUSTOMER, Period.parse(period), CLOSES[period], chain, previous, signer.kid)
    [jws] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
    return site.store.add_statement(exported_statement(unsigned, jws))


def with_statements(site: Site, signer) -> dict[str, dict[str, Any]]:
    state, book, signed = ChainState(CUSTOMER), ChargeBook(), []
    for fields, processed_at in EVENTS:
        chained = state.append(make_event(customer_id=CUSTOMER, **fields), None, signer.kid, processed_at, book)
        signed.append(SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0]))
    site.store.write_receipts(signed)
    site.api_keys[CUSTOMER] = issue_api_key(site.store, CUSTOMER)[0]
    site.receipts[CUSTOMER] = list(site.store.receipts(CUSTOMER))
    return {period: close(site, signer, period) for period in CLOSES}


@pytest.fixture
def statements(site: Site, signer) -> dict[str, dict[str, Any]]:
    return with_statements(site, signer)


def fetch(site: Site, statement: dict[str, Any], customer: str = CUSTOMER) -> dict[str, bytes]:
    response = site.client.get(f"/v1/statements/{statement['statement_id']}/evidence", headers=site.bearer(customer))
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        assert {Path(name).parent.name for name in names} == {f"statement-evidence-{statement['statement_id']}"}
        return {Path(name).name: archive.read(name) for name in names}


def fails(files: dict[str, bytes], folder: Path, tool_paths: dict[str, Path], message: str) -> str:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    result = run(folder, tool_paths)
    assert result.returncode != 0, result.stdout
    assert "evidence OK" not in result.stdout
    assert "FAILED at step " in result.stderr and message in result.stderr, result.stdout + result.stderr
    return result.stderr


@pytest.mark.parametrize("shell", list(SHELLS))
def test_a_real_bundle_verifies_under_each_shell(
    site: Site, statements, tmp_path: Path, tool_paths: dict[str, Path], shell: str
) -> None:
    february = statements["2026-02"]
    files = fetch(site, february)
    assert {"closing.jws", "next.jws", "previous.jws", f"key-{february['kid']}.pem", "lines.jsonl"} <= set(files)
    output = verify(files, tmp_path / "february", tool_paths, shell)
    assert "lines OK: 2 signed receipts" in output and f"lines_root OK: {february['lines_root']}" in output
    assert f'totals OK: "USD":{json.dumps(february["totals"]["USD"], separators=(",", ":"))}' in output
    assert february["totals"]["USD"]["late_lines"] == 1 and february["totals"]["USD"]["late_net"] == "7.25"
    assert "previous OK: statement " + statements["2026-01"]["statement_id"] in output
    assert f"the next, {receipt_id(CUSTOMER, 'c-3')}, was processed after it" in output
    assert output.splitlines()[-1].startswith(f"evidence OK: statement {february['statement_id']} (cust_s, 2026-02)")


def test_januarys_bundle_re_adds_credits_rejections_and_two_currencies(
    site: Site, statements, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    january = statements["2026-01"]
    assert january["totals"] == {
        "JPY": {
            "accepted": 1,
            "charged": "5",
            "credited": "0",
            "late_lines": 0,
            "late_net": "0",
            "net": "5",
            "rejected": 0,
        },
        "USD": {
            "accepted": 2,
            "charged": "40.00",
            "credited": "15.00",
            "late_lines": 0,
            "late_net": "0.00",
            "net": "25.00",
            "rejected": 1,
        },
    }
    files = fetch(site, january)
    assert "previous.jws" not in files
    output = verify(files, tmp_path / "january", tool_paths)
    assert "previous OK: this is cust_s's first statement" in output and "lines OK: 4 signed receipts" in output
    assert '"net":"25.00"' in output and '"JPY":{"accepted":1,"charged":"5"' in output


def test_an_empty_statement_verifies(site: Site, signer, tmp_path: Path, tool_paths: dict[str, Path]) -> None:
    """cust_2's receipts are of 2026-01-25: after its January statement, February's has no lines
    (an empty root, no totals); as a first statement, February's would hold them as late lines."""
    chain, previous, issued = site.receipts["cust_2"], None, {}
    for period in ("2026-01", "2026-02"):
        unsigned = build_statement("cust_2", Period.parse(period), CLOSES[period], chain, previous, signer.kid)
        [jws] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
        issued[period] = site.store.add_statement(exported_statement(unsigned, jws))
        previous = Previous.of(issued[period])
    assert issued["2026-02"]["line_count"] == 0 and issued["2026-02"]["totals"] == {}
    output = verify(fetch(site, issued["2026-02"], "cust_2"), tmp_path / "empty", tool_paths)
    assert "lines OK: 0 signed receipts" in output and "no receipt after it yet" in output
    assert "previous OK: statement " + issued["2026-01"]["statement_id"] in output


def test_late_lines_of_a_first_statement_verify(
    site: Site, signer, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    chain = site.receipts["cust_2"]
    unsigned = build_statement("cust_2", Period.parse("2026-02"), CLOSES["2026-02"], chain, None, signer.kid)
    [jws] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
    statement = site.store.add_statement(exported_statement(unsigned, jws))
    output = verify(fetch(site, statement, "cust_2"), tmp_path / "late", tool_paths)
    assert '"late_lines":2,"late_net":"3.50"' in output


def forge(site: Site, signer, statement: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The stored statement replaced by one with `changes`, signed by the issuer's own key (an
    issuer that mis-adds): only re-adding the lines can catch it."""
    body = {name: value for name, value in statement.items() if name not in ("statement_hash", "signature")}
    canonical = canonical_bytes({**body, **changes})
    [jws] = sign_payloads(signer, [canonical], STATEMENT_TYP)
    site.store._db.execute(
        "UPDATE statements SET body = ?, statement_hash = ?, signature = ? WHERE statement_id = ?",
        (canonical.decode(), sha256_hex(canonical), jws, statement["statement_id"]),
    )
    return site.store.statement(statement["statement_id"])


def _edit_line(files: dict[str, bytes], number: int, old: bytes, new: bytes) -> None:
    lines = files["lines.jsonl"].split(b"\n")
    assert old in lines[number]
    lines[number] = lines[number].replace(old, new)
    files["lines.jsonl"] = b"\n".join(lines)


def _drop_line(files: dict[str, bytes], number: int) -> None:
    for name in ("lines.jws", "lines.jsonl"):
        kept = files[name].split(b"\n")
        del kept[number]
        files[name] = b"\n".join(kept)


def _swap_jws_payload(files: dict[str, bytes], name: str, number: int, edit) -> None:
    lines = files[name].split(b"\n")
    header, payload, signature = lines[number].decode().split(".")
    lines[number] = ".".join([header, b64url(edit(b64url_decode(payload))), signature]).encode()
    files[name] = b"\n".join(lines)


def test_tampering_fails_each_with_its_message(
    site: Site, statements, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    january = statements["2026-01"]
    genuine = fetch(site, january)
    cases = {
        "a tampered line amount": (
            lambda f: _swap_jws_payload(f, "lines.jws", 0, lambda p: p.replace(b'"40.00"', b'"4.00"')),
            "the RS256 signature of line 1 of lines.jws does not verify",
        ),
        "a tampered export line": (
            lambda f: _edit_line(f, 0, b'"40.00"', b'"4.00"'),
            "line 1 of lines.jsonl is not the signed payload of line 1 of lines.jws",
        ),
        "a missing line": (
            lambda f: _drop_line(f, 1),
            "lines.jws holds 3 receipts, but the statement signs line_count 4",
        ),
        "a changed statement.json": (
            lambda f: f.__setitem__("statement.json", f["statement.json"].replace(b'"25.00"', b'"2.00"')),
            "statement.json is not the signed statement",
        ),
        "another statement's JWS": (
            lambda f: f.__setitem__("statement.jws", fetch(site, statements["2026-02"])["statement.jws"]),
            "not statement_hash " + january["statement_hash"],
        ),
        "no closing receipt": (lambda f: f.pop("closing.jws"), "closing.jws is missing from the bundle"),
        "the receipt after the close left out": (lambda f: f.pop("next.jws"), "next.jws is missing from the bundle"),
        "another receipt as the close": (
            lambda f: f.__setitem__("closing.jws", genuine["lines.jws"].split(b"\n")[0] + b"\n"),
            "closing.jws's receipt hashes to",
        ),
        "no key": (lambda f: f.pop(f"key-{january['kid']}.pem"), f"key-{january['kid']}.pem is missing"),
        "no lines": (lambda f: f.pop("lines.jws"), "lines.jws is missing from the bundle"),
    }
    for index, (edit, message) in enumerate(cases.values()):
        files = dict(genuine)
        edit(files)
        fails(files, tmp_path / f"case-{index}", tool_paths, message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"USD": {"net": "40.00"}}, 'the lines add up to "USD":{"accepted":2,"charged":"40.00","credited":"15.00"'),
        (
            {"USD": {"credited": "0.00"}},
            'but the statement signs "USD":{"accepted":2,"charged":"40.00","credited":"0.00"',
        ),
        ({"JPY": {"charged": "6"}}, 'the lines add up to "JPY":{"accepted":1,"charged":"5"'),
        ({"USD": {"rejected": 0}}, '"rejected":1}, but the statement signs'),
        ({"USD": {"late_lines": 1}}, '"late_lines":0,'),
        ({"EUR": {}}, "the statement signs totals of 3 currencies, but its lines are in 2"),
    ],
    ids=["net", "credited", "yen", "rejected count", "late lines", "a currency too many"],
)
def test_a_forged_total_signed_by_the_issuer_fails(
    site: Site, statements, signer, tmp_path: Path, tool_paths: dict[str, Path], change, message
) -> None:
    totals = json.loads(json.dumps(statements["2026-01"]["totals"]))
    for currency, fields in change.items():
        totals[currency] = {**totals.get(currency, totals["USD"]), **fields}
    forged = forge(site, signer, statements["2026-01"], totals=totals)
    fails(fetch(site, forged), tmp_path / "forged", tool_paths, message)


def test_a_forged_line_count_or_root_signed_by_the_issuer_fails(
    site: Site, statements, signer, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    forged = forge(site, signer, statements["2026-01"], lines_root="ab" * 32)
    fails(fetch(site, forged), tmp_path / "root", tool_paths, "but the statement signs lines_root " + "ab" * 32)
    forged = forge(site, signer, statements["2026-01"], line_count=3)
    fails(fetch(site, forged), tmp_path / "count", tool_paths, "but the statement signs line_count 3")


def test_a_line_swapped_for_a_later_receipt_fails(
    site: Site, statements, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    """A line replaced by another signed receipt of the customer (February's late line): the
    count holds, and the line is past the close."""
    files = fetch(site, statements["2026-01"])
    february = fetch(site, statements["2026-02"])
    for name in ("lines.jws", "lines.jsonl"):
        lines = files[name].split(b"\n")
        lines[3] = february[name].split(b"\n")[0]
        files[name] = b"\n".join(lines)
    fails(files, tmp_path / "swapped", tool_paths, "line 4 of lines.jws is sequence 5, past the close at 4")


def test_the_previous_statement_must_be_the_one_linked(
    site: Site, statements, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    files = fetch(site, statements["2026-02"])
    files["previous.jws"] = files["statement.jws"]
    fails(files, tmp_path / "previous", tool_paths, "previous.jws hashes to")
    files = fetch(site, statements["2026-02"])
    del files["previous.jws"]
    fails(files, tmp_path / "no-previous", tool_paths, "previous.jws is missing from the bundle")


def test_the_route_is_scoped_linked_and_documented(site: Site, statements) -> None:
    january = statements["2026-01"]
    path = f"/v1/statements/{january['statement_id']}/evidence"
    assert site.client.get(path, headers=site.bearer("cust_1")).status_code == 404
    assert site.client.get(path).status_code == 401
    operator, _ = issue_api_key(site.store, None, OPERATOR)
    assert site.client.get(path, headers={"Authorization": f"Bearer {operator}"}).status_code == 200
    as_json = site.client.get(path + "?format=json", headers=site.bearer(CUSTOMER))
    assert as_json.status_code == 200 and as_json.json["statement"] == january
    assert [line["receipt"]["sequence"] for line in as_json.json["lines"]] == [1, 2, 3, 4]
    assert as_json.json["verification"]["ok"] is True
    assert site.client.get(path + "?format=pdf", headers=site.bearer(CUSTOMER)).status_code == 400
    plain = site.client.get(f"/v1/statements/{january['statement_id']}", headers=site.bearer(CUSTOMER))
    assert plain.headers["Link"] == f'<{path}>; rel="evidence"'
    full = site.client.get(f"/v1/statements/{january['statement_id']}?lines=true", headers=site.bearer(CUSTOMER))
    assert full.json["evidence_url"] == path
    document = site.client.get("/openapi.json").json
    assert "/v1/statements/{statement_id}/evidence" in document["paths"]


def test_a_logged_statement_bundle_checks_its_inclusion_proof(
    log_site: Site, signer, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    statements = with_statements(log_site, signer)
    log_site.extra["log"].integrate(log_site.store)
    files = fetch(log_site, statements["2026-02"])
    assert {"statement.tlog-proof", "log.vkey"} <= set(files)
    output = verify(files, tmp_path / "logged", tool_paths)
    assert "inclusion OK: SHA-256(0x00 || " + statements["2026-02"]["statement_hash"] in output
    assert "; it is leaf " in output.splitlines()[-1]
    tampered = dict(files)
    tampered["statement.tlog-proof"] = tampered["statement.tlog-proof"].replace(b"index ", b"index 1", 1)
    fails(tampered, tmp_path / "bad-proof", tool_paths, "second line is not: index")


@pytest.mark.parametrize("shell", ["dash", "posh", "busybox sh"])
def test_hostile_usage_descriptions_on_lines_verify(
    site: Site, signer, tmp_path: Path, tool_paths: dict[str, Path], shell: str
) -> None:
    """Line bodies whose text holds quotes, member-like text, escapes, bidi and control
    characters are read as the signed JSON they are: the bundle verifies, an edit of one fails."""
    from tests.site.conftest import signed_chain
    from tests.site.test_evidence_script import HOSTILE_TEXTS

    site.store.write_receipts(signed_chain(signer, "cust_h", [*HOSTILE_TEXTS, ',"sequence":9,"status":"x",']))
    site.api_keys["cust_h"] = issue_api_key(site.store, "cust_h")[0]
    chain = list(site.store.receipts("cust_h"))
    unsigned = build_statement("cust_h", Period.parse("2026-01"), CLOSES["2026-01"], chain, None, signer.kid)
    [jws] = sign_payloads(signer, [unsigned.canonical], STATEMENT_TYP)
    statement = site.store.add_statement(exported_statement(unsigned, jws))
    files = fetch(site, statement, "cust_h")
    output = verify(files, tmp_path / "hostile", tool_paths, shell)
    assert f"lines OK: {len(chain)} signed receipts" in output
    edited = dict(files)
    edited["lines.jsonl"] = edited["lines.jsonl"].replace(b"end", b"END", 1)
    fails(edited, tmp_path / "edited", tool_paths, "lines.jsonl is not the signed payload")


def test_a_line_the_issuer_left_out_is_caught_by_the_receipts_since_the_previous_close(
    site: Site, statements, signer, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    """An issuer that signs January without its credit (line 2), with count, root and totals
    consistent with the three lines left: only since.jws shows the receipt it left out."""
    from receipts.statements import lines_root, select_lines, totals

    january = statements["2026-01"]
    genuine = fetch(site, january)
    chain = site.receipts[CUSTOMER]
    kept = [line for line in select_lines(chain, Period.parse("2026-01"), 4, 0) if line.sequence != 2]
    forged = forge(
        site,
        signer,
        january,
        line_count=3,
        lines_root=lines_root(line.receipt_hash for line in kept),
        totals=totals(kept),
    )
    files = fetch(site, forged)
    _drop_line(files, 1)
    stderr = fails(files, tmp_path / "left-out", tool_paths, "line 2 of since.jws (sequence 2) is of 2026-01")
    assert "the statement leaves it out" in stderr
    for name, edit, message in [
        ("since.jws", lambda data: data.split(b"\n", 1)[1], "since.jws holds 3 receipts, but 4 came between"),
        ("since.jws", lambda data: b"", "since.jws holds 0 receipts"),
        ("since.jws", lambda data: data.replace(data.split(b"\n")[0], data.split(b"\n")[1], 1), "line 1 of since.jws"),
    ]:
        edited = {**genuine, name: edit(genuine[name])}
        fails(edited, tmp_path / f"since-{len(message)}", tool_paths, message)
