"""The dispute evidence bundle: contents, formats, and openssl instructions that work."""

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.site.conftest import Site

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def bundle_files(site: Site, index: int = 1) -> dict[str, bytes]:
    receipt_id = site.receipts["cust_1"][index]["receipt_id"]
    response = site.client.get(f"/v1/receipts/{receipt_id}/evidence", headers=site.bearer())
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="evidence-{receipt_id}.zip"'
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {Path(name).name: archive.read(name) for name in archive.namelist()}


def unpack(files: dict[str, bytes], folder: Path) -> Path:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


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


@needs_openssl
@pytest.mark.parametrize("index", [0, 1, 2])
def test_the_openssl_steps_verify_the_bundle(site: Site, tmp_path: Path, index: int) -> None:
    folder = unpack(bundle_files(site, index), tmp_path / "bundle")
    run = subprocess.run(["sh", "verify.sh"], cwd=folder, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Verified OK" in run.stdout and "receipt_hash OK" in run.stdout
    receipt = site.receipts["cust_1"][index]
    assert json.loads((folder / "payload.json").read_bytes()) == {
        name: value for name, value in receipt.items() if name not in ("receipt_hash", "signature")
    }
    assert f'"previous_receipt_hash":"{receipt["previous_receipt_hash"]}"' in run.stdout


@needs_openssl
def test_the_openssl_steps_catch_a_forged_signature(site: Site, tmp_path: Path) -> None:
    files = bundle_files(site, 1)
    jws = files["receipt.jws"].decode().strip()
    header, payload, signature = jws.split(".")
    forged = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    files["receipt.jws"] = f"{header}.{payload}.{forged}\n".encode()
    folder = unpack(files, tmp_path / "forged")
    run = subprocess.run(["sh", "verify.sh"], cwd=folder, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "Verified OK" not in run.stdout
    assert "Verification failure" in run.stdout + run.stderr


@needs_openssl
def test_the_openssl_steps_catch_a_wrong_receipt_hash(site: Site, tmp_path: Path) -> None:
    files = bundle_files(site, 0)
    files["verify.sh"] = files["verify.sh"].replace(site.receipts["cust_1"][0]["receipt_hash"].encode(), b"0" * 64)
    folder = unpack(files, tmp_path / "wrong-hash")
    run = subprocess.run(["sh", "verify.sh"], cwd=folder, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "receipt_hash MISMATCH" in run.stdout
