"""The log's shared vectors through the browser's tlog.js in real headless Chromium: the
RFC 6962 inclusion and consistency vectors (tests/vectors/rfc6962, which
tests/tlog/test_proof_vectors.py runs through receipts.tlog) and the signed-note vectors
(tests/vectors/tlog_notes.json, tests/tlog/test_note_vectors.py): WebCrypto's SHA-256 and
Ed25519 must accept exactly what Python accepts, and refuse with a TlogError, never a crash."""

import base64
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from receipts.stores.keyring import KeyRing
from tests.site.conftest import run_in_verify_page, serve_empty_site
from tests.vectors.tlog_notes import VECTORS as NOTE_VECTORS

pytestmark = pytest.mark.browser

RFC6962 = Path(__file__).resolve().parents[1] / "vectors" / "rfc6962"

RUN = """async (document) => {
  const tlog = await import("/static/tlog.js");
  const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const hexOf = (data) => Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
  async function attempt(work) {
    try {
      return { ok: true, ...(await work()) };
    } catch (error) {
      return { ok: false, error: error instanceof tlog.TlogError ? "TlogError" : `${error.name}: ${error.message}` };
    }
  }
  const answers = { inclusion: {}, consistency: {}, notes: {} };
  for (const c of document.inclusion) {
    answers.inclusion[c.name] = await attempt(async () => {
      const path = c.path.map(tlog.hex);
      await tlog.verifyInclusion(tlog.hex(c.leaf), BigInt(c.index), BigInt(c.size), path, tlog.hex(c.root));
      return {};
    });
  }
  for (const c of document.consistency) {
    answers.consistency[c.name] = await attempt(async () => {
      const [path, root1, root2] = [c.path.map(tlog.hex), tlog.hex(c.root1), tlog.hex(c.root2)];
      await tlog.verifyConsistency(BigInt(c.size1), BigInt(c.size2), path, root1, root2);
      return {};
    });
  }
  for (const v of document.notes) {
    answers.notes[v.name] = await attempt(async () => {
      const logs = [await tlog.noteVerifier(v.log_vkey)];
      const witnesses = await Promise.all(v.witness_vkeys.map(tlog.cosignatureVerifier));
      const opened = await tlog.openWitnessedCheckpoint(bytes(v.note), logs, witnesses, v.quorum, v.origin);
      const { size, root } = opened.checkpoint;
      return { size: String(size), root: hexOf(root), cosigned_by: opened.cosignedBy };
    });
  }
  return answers;
}"""


def _hex(text: str | None) -> str:
    return base64.b64decode(text or "").hex()


@cache
def rfc6962(kind: str) -> list[dict[str, Any]]:
    cases = []
    for path in sorted((RFC6962 / kind).rglob("*.json")):
        case = json.loads(path.read_text())
        name = f"{path.parent.name}/{path.stem}"
        proof = [_hex(h) for h in case["proof"] or []]
        if kind == "inclusion":
            found = {"leaf": _hex(case["leafHash"]), "index": case["leafIdx"], "size": case["treeSize"]}
            cases.append(
                {"name": name, **found, "path": proof, "root": _hex(case["root"]), "want": not case["wantErr"]}
            )
        else:
            found = {"size1": case["size1"], "size2": case["size2"], "root1": _hex(case["root1"])}
            cases.append(
                {"name": name, **found, "path": proof, "root2": _hex(case["root2"]), "want": not case["wantErr"]}
            )
    return cases


@cache
def notes() -> list[dict[str, Any]]:
    return json.loads(NOTE_VECTORS.read_text(encoding="ascii"))["notes"]


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory, keyring: KeyRing) -> Iterator[str]:
    yield from serve_empty_site(tmp_path_factory.mktemp("tlog-site"), keyring.folder)


@pytest.fixture(scope="module")
def answers(browser: Any, origin: str) -> dict[str, Any]:
    document = {"inclusion": rfc6962("inclusion"), "consistency": rfc6962("consistency"), "notes": notes()}
    found = run_in_verify_page(browser, origin, {"checks": (RUN, document)})
    return {**found["checks"], "problems": found["problems"]}


@pytest.mark.parametrize("kind", ["inclusion", "consistency"])
def test_the_browser_checks_the_rfc6962_vectors_as_python_does(answers: dict[str, Any], kind: str) -> None:
    assert len(rfc6962(kind)) > 50
    wrong = {
        case["name"]: answers[kind][case["name"]]
        for case in rfc6962(kind)
        if answers[kind][case["name"]]["ok"] != case["want"]
    }
    assert wrong == {}
    crashed = {
        name: answer for name, answer in answers[kind].items() if answer.get("error", "TlogError") != "TlogError"
    }
    assert crashed == {}


@pytest.mark.parametrize("vector", notes(), ids=lambda vector: vector["name"])
def test_the_browser_opens_each_signed_note_vector_as_receipts_tlog_does(
    answers: dict[str, Any], vector: dict[str, Any]
) -> None:
    found = dict(answers["notes"][vector["name"]])
    assert found.pop("error", "TlogError") == "TlogError", found
    assert found == vector["expect"]


def test_the_vectors_ran_without_a_script_error(answers: dict[str, Any]) -> None:
    assert answers["problems"] == []
