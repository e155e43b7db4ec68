"""The dispute evidence bundle: a receipt, its JWS, the public key, the neighbouring
receipts' hashes, its proof in the transparency log with the log's key, who submitted its
event through the API (key id, client address, time: the issuer's record, not signed), the
server's verification, and steps to check it with openssl alone.

The steps are data (evidence_steps.py): the same list becomes VERIFY.md, verify.sh (which
the tests run) and the printable page, so the instructions cannot drift from what works.
The files verify.sh reads are written in layouts a POSIX shell reads exactly: receipt.json
as the RFC 8785 export line, jwks.json with one key per line, chain.json with one entry
per line (each still JSON).
"""

import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, render_template

from receipts.canonical import canonical_bytes
from receipts.records import export_line
from verifier_site.checks import ReceiptReport
from verifier_site.evidence_key_steps import key_evidence, key_steps
from verifier_site.evidence_log_steps import log_steps
from verifier_site.evidence_steps import steps
from verifier_site.key_source import KeySource
from verifier_site.log_proofs import log_evidence
from verifier_site.submissions import submission_view
from verifier_site.text import outcome

EVIDENCE_VERSION = 1
FORMATS = ("zip", "json", "html")


def _link(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "receipt_id": record["receipt_id"],
        "sequence": record["sequence"],
        "receipt_hash": record["receipt_hash"],
        "previous_receipt_hash": record["previous_receipt_hash"],
    }


def build(report: ReceiptReport, keys: KeySource) -> dict[str, Any]:
    """The bundle as one JSON document."""
    receipt = report.receipt
    kid = receipt["kid"]
    pem = keys.public_pem(kid) if isinstance(kid, str) else None
    jwks = keys.jwks()  # read once: jwks.json and the steps' list of kids must be the same document
    jwk = next((key for key in jwks["keys"] if key.get("kid") == kid), None)
    chain = {"previous": _link(report.previous), "this": _link(receipt), "next": _link(report.next)}
    kids = [str(key.get("kid")) for key in jwks["keys"]]
    log = log_evidence(receipt)
    delegated = key_evidence(keys, kid)  # a delegated key: its endorsement by the HSM key
    *checks, last = steps(receipt, chain, kids, pem is not None)
    return {
        "evidence_version": EVIDENCE_VERSION,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "receipt": receipt,
        "signature": receipt["signature"],
        "receipt_hash": receipt["receipt_hash"],
        "public_key": {"kid": kid, "pem": pem.decode("ascii"), "jwk": jwk} if pem else None,
        "chain": chain,
        "jwks": jwks,
        "verification": report.as_json(),
        "log": log,
        "key_endorsement": delegated,
        "submission": submission_view(receipt),
        "instructions": [
            {"step": number, "text": step.text, "command": step.command}
            for number, step in enumerate([*checks, *key_steps(delegated), *log_steps(log), last], start=1)
        ],
    }


def jwks_lines(jwks: dict[str, Any]) -> bytes:
    """The JWK Set with one RFC 8785 key per line, as verify.sh reads it."""
    keys = ",\n".join(canonical_bytes(key).decode("utf-8") for key in jwks["keys"])  # JCS escapes newlines
    return ('{"keys":[\n' + (keys + "\n" if keys else "") + "]}\n").encode()


def chain_lines(chain: dict[str, Any]) -> bytes:
    """The neighbours with one entry per line (null or an RFC 8785 object), as verify.sh reads them."""

    def entry(name: str) -> str:
        link = chain[name]
        return f'"{name}": ' + ("null" if link is None else canonical_bytes(link).decode("utf-8"))

    return f"{{\n{entry('previous')},\n{entry('this')},\n{entry('next')}\n}}\n".encode()


def verify_script(bundle: dict[str, Any]) -> str:
    return script(f"Verify receipt {bundle['receipt']['receipt_id']}", bundle["instructions"])


def script(title: str, instructions: list[dict[str, Any]]) -> str:
    """verify.sh: the numbered steps in order, each after a comment saying what it checks."""

    def comment(text: str) -> str:  # one line, whatever a stored value holds
        return "# " + " ".join(text.splitlines())

    lines = [
        "#!/bin/sh",
        comment(f"{title} with openssl alone: sh verify.sh"),
        "# Each step stops the script with FAILED and what failed; the last prints evidence OK.",
        "set -eu",
        'cd "$(dirname "$0")"',
    ]
    for step in instructions:
        lines += ["", comment(f"{step['step']}. {step['text']}"), f"step={step['step']}", step["command"]]
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
        f"Who sent it (the issuer's record of the API request, not signed): {bundle['submission']['summary']}.",
        "",
        "Files: receipt.json (the receipt as exported), receipt.jws (its signature, a JWS), public-key.pem,",
        "jwks.json (every published key), chain.json (the neighbouring receipts' hashes),",
        "receipt.tlog-proof and log.vkey (its inclusion proof in the transparency log, c2sp.org/tlog-proof@v1,",
        "and the log's key; absent while the receipt is not in the log yet), verification.json,",
        "evidence.json (all of it in one document), verify.sh (the steps below); for a receipt signed by a",
        "delegated key, key-endorsement.jws and hsm-key.pem (the HSM key's endorsement of it, and that key).",
        "",
        "## Verify it yourself with openssl (in this folder, any POSIX shell)",
        "",
        "`sh verify.sh` runs the steps below in order. Each checks the files against what the issuer",
        "states (step 2) and against each other, and stops with `FAILED at step N:` and what failed;",
        "only when all hold does it print `evidence OK: ...`. To run them by hand, start `sh` first",
        "and paste them in order: a failing step exits that shell.",
        "",
    ]
    for step in bundle["instructions"]:
        command = "\n".join(f"   {line}" if line else "" for line in step["command"].split("\n"))
        lines += [f"{step['step']}. {step['text']}", "", "   ```sh", command, "   ```", ""]
    return "\n".join(lines)


def zip_bytes(bundle: dict[str, Any]) -> bytes:
    """The bundle as a zip of plain files, ready for `sh verify.sh`."""

    def as_json(value: Any) -> bytes:
        return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    files = {
        "VERIFY.md": readme(bundle).encode("utf-8"),
        "verify.sh": verify_script(bundle).encode("utf-8"),
        "receipt.json": export_line(bundle["receipt"]),
        "receipt.jws": (bundle["signature"] + "\n").encode("ascii"),
        "jwks.json": jwks_lines(bundle["jwks"]),
        "chain.json": chain_lines(bundle["chain"]),
        "verification.json": as_json(bundle["verification"]),
        "evidence.json": as_json(bundle),
    }
    if bundle["public_key"]:
        files["public-key.pem"] = bundle["public_key"]["pem"].encode("ascii")
    if bundle.get("key_endorsement"):
        endorsed = bundle["key_endorsement"]
        files["key-endorsement.jws"] = (endorsed["endorsement"] + "\n").encode("ascii")
        files["hsm-key.pem"] = (endorsed["hsm_pem"] or "").encode("ascii")
        if endorsed["revocation"]:
            files["key-revocation.jws"] = (endorsed["revocation"] + "\n").encode("ascii")
    if bundle["log"]:
        files["receipt.tlog-proof"] = bundle["log"]["tlog_proof"].encode("utf-8")
        files["log.vkey"] = (bundle["log"]["vkey"] + "\n").encode("utf-8")
    return zip_files(f"evidence-{bundle['receipt']['receipt_id']}", files, bundle["generated_at"])


def zip_files(folder: str, files: dict[str, bytes], generated_at: str) -> bytes:
    """A zip of `files` in `folder`, stamped with the bundle's time; scripts executable."""
    buffer = io.BytesIO()
    stamp = datetime.strptime(generated_at, "%Y-%m-%dT%H:%M:%SZ").timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=stamp)
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def respond(bundle: dict[str, Any], kind: str) -> Response:
    """The bundle in one of FORMATS: a zip or JSON download, or the printable page."""
    name = f"evidence-{bundle['receipt']['receipt_id']}"
    if kind == "html":
        return Response(render_template("evidence.html", bundle=bundle), mimetype="text/html")
    if kind == "json":
        response = jsonify(bundle)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    response = Response(zip_bytes(bundle), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    return response
