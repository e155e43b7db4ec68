"""The evidence bundle's transparency-log steps: receipt.tlog-proof and log.vkey are in the
bundle, and verify.sh checks the checkpoint's Ed25519 signature with openssl and the
receipt's inclusion proof up to its root, with a POSIX shell (dash, posh, bash --posix,
busybox) and openssl alone; any edit of the proof or the key stops it, naming what failed;
a receipt not logged yet still verifies, and says so."""

import base64
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from receipts.api_keys import issue_api_key
from receipts.tlog.checkpoints import Checkpoint, sign_checkpoint
from receipts.tlog.note_keys import NoteSigner, generate_key
from receipts.tlog.tlog_proof import TlogProof, parse_tlog_proof
from tests.site.conftest import Site, signed_chain
from tests.site.evidence_bundle import SHELLS, Bundle, Edit, bundle_of, fetch, refuses, tool_folders, verify
from tests.site.logs import ORIGIN, SiteLog

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (Debian: openssl)")


@pytest.fixture(scope="module")
def tool_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tool_folders(tmp_path_factory)


@pytest.fixture
def grown_site(make_site: Callable[..., Site], site_log: SiteLog, signer) -> Site:
    """A log of 13 leaves (cust_1's 3, cust_2's 2, cust_3's 8): proofs of 1 to 4 hashes."""
    site = make_site(**site_log.config())
    site.store.write_receipts(signed_chain(signer, "cust_3", [f"use {n}" for n in range(8)]))
    site.api_keys["cust_3"] = issue_api_key(site.store, "cust_3")[0]
    site.receipts["cust_3"] = list(site.store.receipts("cust_3"))
    assert site_log.integrate(site.store) == 13
    site.extra["log"] = site_log
    return site


@pytest.mark.parametrize("shell", list(SHELLS))
def test_the_logged_bundle_passes_under_each_shell(
    log_site: Site, tmp_path: Path, tool_paths: dict[str, Path], shell: str
) -> None:
    receipt = log_site.receipts["cust_1"][1]
    files = fetch(log_site, "cust_1", 1)
    assert files["log.vkey"] == (log_site.extra["log"].vkey + "\n").encode()
    assert parse_tlog_proof(files["receipt.tlog-proof"]).index == 1
    output = verify(files, tmp_path / "bundle", tool_paths, shell)
    for line in ("log.vkey OK", "receipt.tlog-proof OK: leaf 1", "checkpoint OK: the log billing.test/log signed"):
        assert line in output, output
    assert f"inclusion OK: SHA-256(0x00 || {receipt['receipt_hash']}) is leaf 1" in output
    assert output.splitlines()[-1].endswith("it is leaf 1 of the tree of 5 leaves the log billing.test/log signed")


@pytest.mark.parametrize("customer, index", [("cust_1", 0), ("cust_2", 1), ("cust_3", 0), ("cust_3", 5), ("cust_3", 7)])
def test_every_shape_of_proof_verifies(
    grown_site: Site, tmp_path: Path, tool_paths: dict[str, Path], customer: str, index: int
) -> None:
    leaf = grown_site.store.log_leaf_index(grown_site.receipts[customer][index]["receipt_id"])
    output = verify(fetch(grown_site, customer, index), tmp_path / "bundle", tool_paths)
    assert f"is leaf {leaf} of the tree of 13 leaves" in output.splitlines()[-1]


def test_a_receipt_not_logged_yet_still_verifies_and_says_so(
    site: Site, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    files = fetch(site, "cust_1", 0)
    assert "receipt.tlog-proof" not in files and "log.vkey" not in files
    output = verify(files, tmp_path / "bundle", tool_paths)
    assert output.splitlines()[-1].endswith("it was not in the transparency log yet when this bundle was made")


def test_the_json_bundle_carries_the_proof_and_the_key(log_site: Site) -> None:
    receipt_id = log_site.receipts["cust_2"][0]["receipt_id"]
    bundle = log_site.client.get(f"/v1/receipts/{receipt_id}/evidence?format=json", headers=log_site.bearer("cust_2"))
    log = bundle.json["log"]
    assert (log["origin"], log["vkey"], log["leaf_index"], log["tree_size"]) == (
        ORIGIN,
        log_site.extra["log"].vkey,
        3,
        5,
    )
    proof = log_site.client.get(f"/v1/receipts/{receipt_id}/proof", headers=log_site.bearer("cust_2")).data
    assert log["tlog_proof"].encode() == proof and log["cosigned_by"] == []


def _proof(bundle: Bundle) -> TlogProof:
    return parse_tlog_proof(bundle.files["receipt.tlog-proof"])


def _with(bundle: Bundle, **changes) -> None:
    proof = _proof(bundle)
    fields = {"index": proof.index, "hashes": proof.hashes, "checkpoint": proof.checkpoint, **changes}
    bundle.files["receipt.tlog-proof"] = TlogProof(**fields).text()


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def _forged_checkpoint(bundle: Bundle) -> None:
    """A checkpoint of another root, signed by another key of the same name."""
    proof = _proof(bundle)
    text = proof.checkpoint.decode().partition("\n\n")[0].split("\n")
    forged = Checkpoint(ORIGIN, int(text[1]), b"\x07" * 32)
    _with(bundle, checkpoint=sign_checkpoint(forged, [NoteSigner(generate_key(ORIGIN))]))


def _other_root(bundle: Bundle) -> None:
    """The checkpoint's root line replaced, its signature kept."""
    root = _proof(bundle).checkpoint.decode().split("\n")[2]
    bundle.replace(
        "receipt.tlog-proof", f"\n{root}\n", f"\n{base64.b64encode(_flip(base64.b64decode(root))).decode()}\n"
    )


def _bad_signature(bundle: Bundle) -> None:
    note = _proof(bundle).checkpoint.decode()
    text, _, line = note.partition("\n\n")
    name, encoded = line.removeprefix("— ").split(" ")
    raw = base64.b64decode(encoded)
    tampered = raw[:10] + bytes([raw[10] ^ 1]) + raw[11:]
    _with(bundle, checkpoint=f"{text}\n\n— {name} {base64.b64encode(tampered).decode()}\n".encode())


PROOF_EDITS = [
    Edit("index", lambda b: _with(b, index=_proof(b).index + 1), "second line is not: index 1"),
    Edit("a hash flipped", lambda b: _with(b, hashes=(_flip(_proof(b).hashes[0]), *_proof(b).hashes[1:])), "root"),
    Edit("a hash dropped", lambda b: _with(b, hashes=_proof(b).hashes[:-1]), "shorter than a tree of 5"),
    Edit("a hash added", lambda b: _with(b, hashes=(*_proof(b).hashes, b"\x01" * 32)), "longer than a tree of 5"),
    Edit("hashes swapped", lambda b: _with(b, hashes=tuple(reversed(_proof(b).hashes))), "root"),
    Edit("blank line", lambda b: b.replace("receipt.tlog-proof", "\n\nbilling", "\n\n\nbilling"), "is not of the log"),
    Edit("not base64", lambda b: b.replace("receipt.tlog-proof", "index 1\n", "index 1\nnot-base64!\n"), "is not a"),
    Edit("header", lambda b: b.replace("receipt.tlog-proof", "tlog-proof@v1", "tlog-proof@v2"), "does not start"),
    Edit("size", lambda b: b.replace("receipt.tlog-proof", "\n5\n", "\n6\n"), "the checkpoint's tree size is not 5"),
    Edit("root", _other_root, "signature of the checkpoint does not verify"),
    Edit("signature", _bad_signature, "signature of the checkpoint does not verify"),
    Edit("another key", _forged_checkpoint, "no signature line by the log's key"),
    Edit("origin", lambda b: b.replace("receipt.tlog-proof", "\nbilling.test/log\n5", "\nbilling.test/lag\n5"), "log"),
    Edit("no proof", lambda b: b.files.pop("receipt.tlog-proof"), "receipt.tlog-proof is missing"),
    Edit("no key", lambda b: b.files.pop("log.vkey"), "log.vkey is missing"),
    Edit("key", lambda b: b.files.update({"log.vkey": b"x+00000000+AA==\n"}), "not the log key the issuer names"),
    Edit("other proof", lambda b: b.files.update({"receipt.tlog-proof": b.other["receipt.tlog-proof"]}), "index 1"),
]


@pytest.mark.parametrize("edit", PROOF_EDITS, ids=lambda edit: edit.name)
def test_any_edit_of_the_log_files_fails(log_site: Site, tmp_path: Path, tool_paths: dict[str, Path], edit) -> None:
    bundle = bundle_of(log_site, "cust_1", 1)
    edit.apply(bundle)
    refuses(bundle, tmp_path / "edited", tool_paths, edit.message)


def test_another_receipts_proof_with_its_index_does_not_lead_to_the_root(
    log_site: Site, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    bundle = bundle_of(log_site, "cust_1", 1)
    bundle.files["receipt.tlog-proof"] = bundle.other["receipt.tlog-proof"]
    bundle.replace("verify.sh", "log_index=1;", "log_index=2;")  # as if the issuer had named leaf 2
    refuses(bundle, tmp_path / "swapped", tool_paths, "does not lead from this receipt's leaf hash")


def test_a_key_the_issuer_does_not_name_is_refused(log_site: Site, tmp_path: Path, tool_paths: dict[str, Path]) -> None:
    bundle = bundle_of(log_site, "cust_1", 1)
    other = NoteSigner(generate_key(ORIGIN)).verifier.key.vkey
    bundle.files["log.vkey"] = (other + "\n").encode()
    bundle.replace("verify.sh", log_site.extra["log"].vkey, other)  # the statement too: then the signature fails
    refuses(bundle, tmp_path / "rekeyed", tool_paths, "no signature line by the log's key")
