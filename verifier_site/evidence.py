"""The dispute evidence bundle: a receipt, its JWS, the public key, the neighbouring
receipts' hashes, the server's verification, and steps to check it with openssl alone.

The steps are data: the same list becomes VERIFY.md, verify.sh (which the tests run)
and the printable page, so the instructions cannot drift from what works.
"""

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, render_template

from receipts.records import export_line
from verifier_site.checks import ReceiptReport
from verifier_site.key_source import KeySource
from verifier_site.text import outcome

EVIDENCE_VERSION = 1
FORMATS = ("zip", "json", "html")
B64URL_DECODE = (
    "b64url_decode() { s=$(printf %s \"$1\" | tr '_-' '/+'); "
    'while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf %s "$s" | openssl base64 -d -A; }'
)


@dataclass(frozen=True)
class Step:
    text: str
    command: str


def _link(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "receipt_id": record["receipt_id"],
        "sequence": record["sequence"],
        "receipt_hash": record["receipt_hash"],
        "previous_receipt_hash": record["previous_receipt_hash"],
    }


def steps(receipt: dict[str, Any], chain: dict[str, Any], has_key: bool) -> list[Step]:
    """What an auditor runs, in the unzipped bundle's folder, with a POSIX shell and openssl."""
    kid, receipt_hash, previous = receipt["kid"], receipt["receipt_hash"], chain["previous"]
    link_text = (
        f"previous_receipt_hash in payload.json must be {receipt['previous_receipt_hash']}: the receipt_hash of "
        + (
            f"the previous receipt, {previous['receipt_id']} (sequence {previous['sequence']})."
            if previous
            else "nothing: this is the customer's first receipt, so it is 64 zeros."
        )
    )
    if chain["next"]:
        link_text += (
            f" The next receipt, {chain['next']['receipt_id']}, names {chain['next']['previous_receipt_hash']} "
            "as its previous_receipt_hash (chain.json): it must be this receipt's hash."
        )
    key_step = (
        Step(
            f"public-key.pem is key {kid}; it must be the key this site publishes at /v1/keys/{kid}.pem and in "
            "/.well-known/jwks.json (kid = its RFC 7638 thumbprint). It is an RSA key of 2048 bits or more.",
            "openssl pkey -pubin -in public-key.pem -noout -text | head -n 1",
        )
        if has_key
        else Step(f"Key {kid} is not published by this site: the signature cannot be checked.", "false")
    )
    return [
        Step(
            "Define a helper that decodes base64url (the JWS alphabet, without padding) with openssl.",
            B64URL_DECODE,
        ),
        Step("Read the JWS: BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature).", "jws=$(cat receipt.jws)"),
        Step(
            "RS256 signs the ASCII text before the last dot: header.payload.",
            'printf %s "${jws%.*}" > signing-input.txt',
        ),
        Step("Decode the signature into raw bytes.", 'b64url_decode "${jws##*.}" > signature.bin'),
        key_step,
        Step(
            "Check the RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256). openssl must print: Verified OK",
            "openssl dgst -sha256 -verify public-key.pem -signature signature.bin signing-input.txt",
        ),
        Step(
            "Decode the signed payload: the receipt body as RFC 8785 canonical JSON, exactly the bytes signed.",
            'payload=${jws#*.}; payload=${payload%.*}; b64url_decode "$payload" > payload.json',
        ),
        Step(
            f"The SHA-256 of those bytes is the receipt_hash, {receipt_hash}.",
            f'if [ "$(openssl dgst -sha256 -r payload.json | cut -d " " -f 1)" = "{receipt_hash}" ]; '
            'then echo "receipt_hash OK"; else echo "receipt_hash MISMATCH"; exit 1; fi',
        ),
        Step(
            "Every field of receipt.json other than receipt_hash and signature must have the same value in "
            "payload.json: the signed body is what counts.",
            "cat payload.json; echo",
        ),
        Step(link_text, 'grep -o \'"previous_receipt_hash":"[0-9a-f]*"\' payload.json'),
    ]


def build(report: ReceiptReport, keys: KeySource) -> dict[str, Any]:
    """The bundle as one JSON document."""
    receipt = report.receipt
    kid = receipt["kid"]
    pem = keys.public_pem(kid) if isinstance(kid, str) else None
    jwk = next((key for key in keys.jwks()["keys"] if key.get("kid") == kid), None)
    chain = {"previous": _link(report.previous), "this": _link(receipt), "next": _link(report.next)}
    return {
        "evidence_version": EVIDENCE_VERSION,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "receipt": receipt,
        "signature": receipt["signature"],
        "receipt_hash": receipt["receipt_hash"],
        "public_key": {"kid": kid, "pem": pem.decode("ascii"), "jwk": jwk} if pem else None,
        "chain": chain,
        "verification": report.as_json(),
        "instructions": [
            {"step": number, "text": step.text, "command": step.command}
            for number, step in enumerate(steps(receipt, chain, pem is not None), start=1)
        ],
    }


def verify_script(bundle: dict[str, Any]) -> str:
    lines = [
        "#!/bin/sh",
        f"# Verify receipt {bundle['receipt']['receipt_id']} with openssl alone: sh verify.sh",
        "set -eu",
        'cd "$(dirname "$0")"',
    ]
    for step in bundle["instructions"]:
        lines += ["", f"# {step['step']}. {step['text']}", step["command"]]
    return "\n".join(lines) + "\n"


def readme(bundle: dict[str, Any]) -> str:
    receipt = bundle["receipt"]
    verdict = "passed" if bundle["verification"]["ok"] else "FAILED"
    lines = [
        f"# Evidence for receipt {receipt['receipt_id']}",
        "",
        f"Customer {receipt['customer_id']}, sequence {receipt['sequence']}: {outcome(receipt)}; "
        f"balance after {receipt['balance_after']} {receipt['currency']}.",
        f"The issuer's verification {verdict} on {bundle['generated_at']} (verification.json).",
        "",
        "Files: receipt.json (the receipt as exported), receipt.jws (its signature, a JWS), public-key.pem,",
        "jwks.json (every published key), chain.json (the neighbouring receipts' hashes),",
        "verification.json, evidence.json (all of it in one document), verify.sh (the steps below).",
        "",
        "## Verify it yourself with openssl (in this folder, any POSIX shell)",
        "",
    ]
    for step in bundle["instructions"]:
        lines += [f"{step['step']}. {step['text']}", "", "   ```sh", f"   {step['command']}", "   ```", ""]
    return "\n".join(lines)


def zip_bytes(bundle: dict[str, Any], keys: KeySource) -> bytes:
    """The bundle as a zip of plain files, ready for `sh verify.sh`."""

    def as_json(value: Any) -> bytes:
        return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    files = {
        "VERIFY.md": readme(bundle).encode("utf-8"),
        "verify.sh": verify_script(bundle).encode("utf-8"),
        "receipt.json": export_line(bundle["receipt"]),
        "receipt.jws": (bundle["signature"] + "\n").encode("ascii"),
        "jwks.json": as_json(keys.jwks()),
        "chain.json": as_json(bundle["chain"]),
        "verification.json": as_json(bundle["verification"]),
        "evidence.json": as_json(bundle),
    }
    if bundle["public_key"]:
        files["public-key.pem"] = bundle["public_key"]["pem"].encode("ascii")
    buffer = io.BytesIO()
    folder = f"evidence-{bundle['receipt']['receipt_id']}"
    stamp = datetime.strptime(bundle["generated_at"], "%Y-%m-%dT%H:%M:%SZ").timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=stamp)
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def respond(bundle: dict[str, Any], kind: str, keys: KeySource) -> Response:
    """The bundle in one of FORMATS: a zip or JSON download, or the printable page."""
    name = f"evidence-{bundle['receipt']['receipt_id']}"
    if kind == "html":
        return Response(render_template("evidence.html", bundle=bundle), mimetype="text/html")
    if kind == "json":
        response = jsonify(bundle)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    response = Response(zip_bytes(bundle, keys), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    return response
