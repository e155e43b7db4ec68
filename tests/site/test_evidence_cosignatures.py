"""The evidence bundle's witness step: verify.sh checks each witness's cosignature/v1 of the
checkpoint with openssl, against the witness keys and the quorum the issuer names, under
each POSIX shell; a tampered cosignature is named and counts for nothing, and a count below
the quorum stops it. The statement's bundle runs the same step."""

import base64
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from receipts.tlog.tlog_proof import TlogProof, parse_tlog_proof
from tests.site.conftest import Site
from tests.site.evidence_bundle import SHELLS, Bundle, bundle_of, fetch, refuses, tool_folders, verify
from tests.site.logs import SiteLog, new_log
from tests.site.test_statement_evidence import fails, with_statements
from tests.site.test_statement_evidence import fetch as fetch_statement

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (Debian: openssl)")


@pytest.fixture(scope="module")
def tool_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tool_folders(tmp_path_factory)


@pytest.fixture
def witnessed_log(tmp_path: Path) -> SiteLog:
    return new_log(tmp_path / "archive" / "log", witnesses=2)


def witnessed_site(make_site: Callable[..., Site], log: SiteLog, quorum: int, cosigned_by=None) -> Site:
    site = make_site(**log.config(quorum=quorum))
    assert log.integrate(site.store, cosigned_by) == 5
    site.extra["log"] = log
    return site


def tamper_cosignature(files: dict[str, bytes], name: str, proof_file: str = "receipt.tlog-proof") -> None:
    """One byte of `name`'s Ed25519 cosignature flipped, its line otherwise kept."""
    proof = parse_tlog_proof(files[proof_file])
    lines = proof.checkpoint.decode().split("\n")
    number = next(n for n, line in enumerate(lines) if line.startswith(f"— {name} "))
    raw = bytearray(base64.b64decode(lines[number].split(" ")[2]))
    raw[-1] ^= 1
    lines[number] = f"— {name} {base64.b64encode(bytes(raw)).decode()}"
    files[proof_file] = TlogProof(proof.index, proof.hashes, "\n".join(lines).encode()).text()


@pytest.mark.parametrize("shell", list(SHELLS))
def test_every_cosignature_verifies_under_each_shell(
    make_site: Callable[..., Site], witnessed_log: SiteLog, tmp_path: Path, tool_paths: dict[str, Path], shell: str
) -> None:
    site = witnessed_site(make_site, witnessed_log, quorum=2)
    output = verify(fetch(site, "cust_1", 1), tmp_path / "bundle", tool_paths, shell)
    for name in ("witness1.test", "witness2.test"):
        assert f"witness {name} OK: its cosignature/v1 of the checkpoint (time 1767225600) verifies" in output
    assert "witnesses OK: 2 of 2 cosignatures verify (by witness1.test witness2.test), quorum 2" in output
    assert output.splitlines()[-1].endswith("signed, cosigned by 2 of its 2 witnesses (quorum 2)")


def test_a_tampered_cosignature_is_named_and_counts_for_nothing(
    make_site: Callable[..., Site], witnessed_log: SiteLog, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    site = witnessed_site(make_site, witnessed_log, quorum=1)
    files = fetch(site, "cust_1", 1)
    tamper_cosignature(files, "witness2.test")
    output = verify(files, tmp_path / "bundle", tool_paths)
    assert "witness witness2.test: a cosignature that does not verify: it counts for nothing" in output
    assert "witnesses OK: 1 of 2 cosignatures verify (by witness1.test), quorum 1" in output


def test_a_tampered_cosignature_below_the_quorum_stops_it(
    make_site: Callable[..., Site], witnessed_log: SiteLog, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    site = witnessed_site(make_site, witnessed_log, quorum=2)
    bundle = bundle_of(site, "cust_1", 1)
    tamper_cosignature(bundle.files, "witness1.test")
    said = refuses(bundle, tmp_path / "bundle", tool_paths, "1 of 2 witness cosignatures verify")
    assert "witness witness1.test: a cosignature that does not verify" in said and "needs 2" in said


def test_a_missing_cosignature_below_the_quorum_is_reported(
    make_site: Callable[..., Site], witnessed_log: SiteLog, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    site = witnessed_site(make_site, witnessed_log, quorum=2, cosigned_by=witnessed_log.witnesses[:1])
    bundle = bundle_of(site, "cust_1", 1)
    said = refuses(bundle, tmp_path / "bundle", tool_paths, "1 of 2 witness cosignatures verify")
    assert "witness witness2.test: no cosignature line: it counts for nothing" in said


def test_a_witness_key_the_issuer_did_not_name_cannot_help(
    make_site: Callable[..., Site], witnessed_log: SiteLog, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    site = witnessed_site(make_site, witnessed_log, quorum=2)
    bundle: Bundle = bundle_of(site, "cust_1", 1)
    vkey = witnessed_log.witnesses[1].vkey
    bundle.replace("verify.sh", vkey, vkey.replace("witness2.test", "witness3.test"))  # a key renamed
    refuses(bundle, tmp_path / "bundle", tool_paths, "witness3.test")


def test_the_statement_bundle_checks_its_cosignatures(
    make_site: Callable[..., Site], witnessed_log: SiteLog, signer, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    site = make_site(**witnessed_log.config(quorum=2))
    statements = with_statements(site, signer)
    witnessed_log.integrate(site.store)
    files = fetch_statement(site, statements["2026-02"])
    output = verify(files, tmp_path / "logged", tool_paths)
    assert "witnesses OK: 2 of 2 cosignatures verify" in output
    tamper_cosignature(files, "witness2.test", "statement.tlog-proof")
    fails(files, tmp_path / "tampered", tool_paths, "1 of 2 witness cosignatures verify")
