"""The dispute evidence bundle: contents, formats, and openssl instructions that work."""

import io
import json
import zipfile
from pathlib import Path

from receipts.canonical import canonical_bytes
from tests.site.conftest import Site


def bundle_files(site: Site, index: int = 1) -> dict[str, bytes]:
    receipt_id = site.receipts["cust_1"][index]["receipt_id"]
    response = site.client.get(f"/v1/receipts/{receipt_id}/evidence", headers=site.bearer())
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="evidence-{receipt_id}.zip"'
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {Path(name).name: archive.read(name) for name in archive.namelist()}


def test_the_bundle_holds_receipt_jws_key_neighbours_checks_and_steps(site: Site) -> None:
    first, second, third = site.receipts["cust_1"]
    files = bundle_files(site)
    assert set(files) == {
        "VERIFY.md",
        "verify.sh",
        "receipt.json",
        "receipt.jws",
        "public-key.pem",
        "jwks.json",
        "chain.json",
        "verification.json",
        "evidence.json",
    }
    assert json.loads(files["receipt.json"]) == second
    assert files["receipt.jws"].decode().strip() == second["signature"]
    assert files["public-key.pem"].startswith(b"-----BEGIN PUBLIC KEY-----")
    assert [key["kid"] for key in json.loads(files["jwks.json"])["keys"]] == [second["kid"]]
    chain = json.loads(files["chain.json"])
    assert chain["previous"]["receipt_hash"] == first["receipt_hash"] == second["previous_receipt_hash"]
    assert chain["next"]["previous_receipt_hash"] == second["receipt_hash"]
    assert chain["next"]["receipt_id"] == third["receipt_id"]
    verification = json.loads(files["verification.json"])
    assert verification["ok"] is True and verification["summary"]["chain_link"] is True
    assert ("next receipt: chain_link", True) in {(c["label"], c["ok"]) for c in verification["checks"]}
    readme = files["VERIFY.md"].decode()
    assert "openssl dgst -sha256 -verify public-key.pem" in readme and second["receipt_hash"] in readme
    assert json.loads(files["evidence.json"])["jwks"] == json.loads(files["jwks.json"])


def test_the_files_verify_sh_reads_have_a_layout_a_shell_reads_exactly(site: Site) -> None:
    """receipt.json is the export line; jwks.json has one RFC 8785 key per line; chain.json one
    entry per line, null or an RFC 8785 object. All three are still JSON."""
    files = bundle_files(site, 1)
    receipt = json.loads(files["receipt.json"])
    assert files["receipt.json"] == canonical_bytes(receipt) + b"\n"
    jwks = json.loads(files["jwks.json"])
    assert files["jwks.json"].decode().splitlines() == [
        '{"keys":[',
        *[
            canonical_bytes(key).decode() + ("," if n < len(jwks["keys"]) else "")
            for n, key in enumerate(jwks["keys"], 1)
        ],
        "]}",
    ]
    chain = json.loads(files["chain.json"])
    assert files["chain.json"].decode().splitlines() == [
        "{",
        f'"previous": {canonical_bytes(chain["previous"]).decode()},',
        f'"this": {canonical_bytes(chain["this"]).decode()},',
        f'"next": {canonical_bytes(chain["next"]).decode()}',
        "}",
    ]
    first = json.loads(bundle_files(site, 0)["chain.json"])
    assert first["previous"] is None and b'"previous": null,\n' in bundle_files(site, 0)["chain.json"]


def test_the_steps_say_what_the_script_checks(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][1]["receipt_id"]
    bundle = site.client.get(f"/v1/receipts/{receipt_id}/evidence?format=json", headers=site.bearer()).json
    texts = " ".join(step["text"] for step in bundle["instructions"])
    for claim in (
        "RFC 7638 thumbprint is the JWS kid",
        "jwks.json (one key per line) lists the JWS kid once",
        "Verified OK",
        "receipt.json must be byte for byte the signed payload",
        "chain.json (one entry per line)",
        "sequences are consecutive",
    ):
        assert claim in texts
    script = bundle_files(site, 1)["verify.sh"].decode()
    assert [line for line in script.splitlines() if line.startswith("step=")] == [
        f"step={step['step']}" for step in bundle["instructions"]
    ]
    for banned in ("python", "jq ", "xxd", "| base64", "base64 -d", "head ", "grep -o"):
        assert banned not in script.replace("openssl base64 -d", "")
    html = site.client.get(f"/v1/receipts/{receipt_id}/evidence?format=html", headers=site.bearer()).get_data(
        as_text=True
    )
    assert "RFC 7638 thumbprint is the JWS kid" in html and "evidence OK" in html


def test_json_and_printable_formats(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    bundle = site.client.get(f"/v1/receipts/{receipt_id}/evidence?format=json", headers=site.bearer()).json
    assert bundle["receipt"]["receipt_id"] == receipt_id and bundle["chain"]["previous"] is None
    assert bundle["public_key"]["kid"] == bundle["receipt"]["kid"]
    assert [step["step"] for step in bundle["instructions"]] == list(range(1, len(bundle["instructions"]) + 1))
    page = site.client.get(f"/v1/receipts/{receipt_id}/evidence?format=html", headers=site.bearer())
    html = page.get_data(as_text=True)
    assert page.mimetype == "text/html" and "Verify it yourself with openssl" in html
    assert "The issuer's verification passed" in html and bundle["signature"] in html


def test_hostile_text_in_the_printable_bundle_is_inert(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][1]["receipt_id"]
    html = site.client.get(f"/v1/receipts/{receipt_id}/evidence?format=html", headers=site.bearer()).get_data(
        as_text=True
    )
    assert "<img src=x" not in html and "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_evidence_errors(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    assert site.client.get(f"/v1/receipts/{receipt_id}/evidence").status_code == 401
    bad_format = site.client.get(f"/v1/receipts/{receipt_id}/evidence?format=pdf", headers=site.bearer())
    assert bad_format.status_code == 400 and bad_format.json["error"]["code"] == "invalid_parameter"
    foreign = site.client.get(f"/v1/receipts/{receipt_id}/evidence", headers=site.bearer("cust_2"))
    assert foreign.status_code == 404
    assert site.client.get("/v1/receipts/r_bad/evidence", headers=site.bearer()).status_code == 400


def test_the_pages_evidence_links_use_the_session(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][2]["receipt_id"]
    assert site.client.get(f"/receipts/{receipt_id}/evidence.zip").status_code == 401
    site.sign_in()
    printable = site.client.get(f"/receipts/{receipt_id}/evidence")
    assert printable.status_code == 200 and "Evidence for receipt" in printable.get_data(as_text=True)
    download = site.client.get(f"/receipts/{receipt_id}/evidence.zip")
    assert download.status_code == 200 and zipfile.is_zipfile(io.BytesIO(download.data))
