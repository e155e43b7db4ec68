"""The statement evidence bundle: a statement and its JWS, its lines (each line receipt's JWS
and export line), the chain around its close (the receipt at the close and the one after
it), the previous statement, the published keys, the statement's inclusion proof in the
transparency log with the log's key, the site's own check of it (verify_statement against
the stored chain), and verify.sh: the same steps as VERIFY.md, run with openssl alone
(statement_evidence_steps.py, evidence_log_steps.py).
"""

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify

from receipts.records import export_line
from receipts.statements import Period, select_lines, verify_statement
from verifier_site.evidence import jwks_lines, script, zip_files
from verifier_site.evidence_log_steps import log_steps
from verifier_site.evidence_shell import Step
from verifier_site.key_source import KeySource
from verifier_site.log_proofs import log_evidence
from verifier_site.statement_evidence_steps import ALL_HELD, steps

EVIDENCE_VERSION = 1
FORMATS = ("zip", "json")


def build(store: Any, statement: dict[str, Any], keys: KeySource, jwks_trusted: Any) -> dict[str, Any]:
    """The bundle as one JSON document, from the stored statement and the customer's chain."""
    customer, closing = statement["customer_id"], statement["closing_sequence"]
    chain = [receipt for receipt in store.receipts(customer) if receipt["sequence"] <= closing + 1]
    previous = store.previous_statement(customer, statement["period"])
    previous_closing = statement["previous_closing_sequence"]
    lines = select_lines(chain, Period.parse(statement["period"]), closing, previous_closing)
    since = [receipt for receipt in chain if previous_closing < receipt["sequence"] <= closing]
    closing_receipt = chain[closing - 1] if 0 < closing <= len(chain) else None
    following = chain[closing] if len(chain) > closing else None
    result = verify_statement(statement, jwks_trusted, chain, previous)
    jwks = keys.jwks()  # read once: jwks.json and the steps' list of kids are the same document
    kids = [str(key.get("kid")) for key in jwks["keys"]]
    signed = [statement, *(line.receipt for line in lines), *since, closing_receipt, following, previous]
    pems = {}
    for record in signed:
        kid = record.get("kid") if record else None
        if isinstance(kid, str) and kid not in pems:
            pem = keys.public_pem(kid)
            if pem is not None:
                pems[kid] = pem.decode("ascii")
    log = log_evidence({"receipt_id": statement["statement_id"], "receipt_hash": statement["statement_hash"]})
    bundle: dict[str, Any] = {
        "evidence_version": EVIDENCE_VERSION,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "statement": statement,
        "lines": [{"sequence": line.sequence, "late": line.late, "receipt": dict(line.receipt)} for line in lines],
        "since": since,
        "closing_receipt": closing_receipt,
        "next": following,
        "previous": previous,
        "jwks": jwks,
        "public_keys": pems,
        "verification": {
            "ok": result.ok,
            "checks": [{"check": c.check, "ok": c.ok, "reason": c.reason} for c in result.checks],
        },
        "log": log,
    }
    numbered = [*steps(bundle, kids), *log_steps(log, "statement"), Step("Every check held.", ALL_HELD)]
    bundle["instructions"] = [
        {"step": number, "text": step.text, "command": step.command} for number, step in enumerate(numbered, start=1)
    ]
    return bundle


def readme(bundle: dict[str, Any]) -> str:
    statement = bundle["statement"]
    verdict = "passed" if bundle["verification"]["ok"] else "FAILED"
    lines = [
        f"# Evidence for statement {statement['statement_id']}",
        "",
        f"Customer {statement['customer_id']}, period {statement['period']}: {statement['line_count']} lines, "
        f"closed at {statement['closed_at']} at chain sequence {statement['closing_sequence']}.",
        f"The issuer's check of it against the stored chain {verdict} on {bundle['generated_at']} (verification.json).",
        "",
        "Files: statement.json (the statement as exported) and statement.jws (its signature), lines.jws (each",
        "line's receipt JWS, one a line) and lines.jsonl (their export lines), closing.jws (the receipt at the",
        "close), next.jws (the receipt after it, if any), previous.jws (the previous statement, if any),",
        "since.jws (every receipt after the previous close up to this one: none is left off the statement),",
        "jwks.json (every published key), key-<kid>.pem (each signing key), statement.tlog-proof and log.vkey",
        "(its inclusion proof in the transparency log and the log's key; absent while it is not in the log),",
        "verification.json, evidence.json (all of it in one document), verify.sh (the steps below).",
        "",
        "## Verify it yourself with openssl (in this folder, any POSIX shell)",
        "",
        "`sh verify.sh` runs the steps below in order; each stops with `FAILED at step N:` and what failed;",
        "only when all hold does it print `evidence OK: ...`. Amounts are added as integer minor units.",
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

    statement = bundle["statement"]
    receipts = [line["receipt"] for line in bundle["lines"]]
    files = {
        "VERIFY.md": readme(bundle).encode("utf-8"),
        "verify.sh": script(f"Verify statement {statement['statement_id']}", bundle["instructions"]).encode("utf-8"),
        "statement.json": export_line(statement),
        "statement.jws": (statement["signature"] + "\n").encode("ascii"),
        "lines.jws": "".join(receipt["signature"] + "\n" for receipt in receipts).encode("ascii"),
        "lines.jsonl": b"".join(export_line(receipt) for receipt in receipts),
        "since.jws": "".join(receipt["signature"] + "\n" for receipt in bundle["since"]).encode("ascii"),
        "jwks.json": jwks_lines(bundle["jwks"]),
        "verification.json": as_json(bundle["verification"]),
        "evidence.json": as_json(bundle),
    }
    for name, record in (
        ("closing", bundle["closing_receipt"]),
        ("next", bundle["next"]),
        ("previous", bundle["previous"]),
    ):
        if record is not None:
            files[f"{name}.jws"] = (record["signature"] + "\n").encode("ascii")
    for kid, pem in bundle["public_keys"].items():
        files[f"key-{kid}.pem"] = pem.encode("ascii")
    if bundle["log"]:
        files["statement.tlog-proof"] = bundle["log"]["tlog_proof"].encode("utf-8")
        files["log.vkey"] = (bundle["log"]["vkey"] + "\n").encode("utf-8")
    return zip_files(f"statement-evidence-{statement['statement_id']}", files, bundle["generated_at"])


def respond(bundle: dict[str, Any], kind: str) -> Response:
    """The bundle as a zip (default) or one JSON document, as a download."""
    name = f"statement-evidence-{bundle['statement']['statement_id']}"
    if kind == "json":
        response = jsonify(bundle)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    response = Response(zip_bytes(bundle), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    return response
