"""Go's reference packages read what we write, and we read what they write: a small Go
program (tests/tlog/go/interop, built here against Debian's golang-golang-x-mod-dev in
GOPATH mode) opens our cosigned checkpoint with note.Open (the cosignature through a
note.Verifier of its own: x/mod 0.7 has no cosignature key type), checks our proofs with
tlog.CheckRecord and tlog.CheckTree, reads our C2SP tiles through tlog.TileHashReader to
recompute the root and the proofs, signs with our private key string through
note.NewSigner, and signs a note with a key of note.GenerateKey for us to open."""

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from receipts.tlog.hashing import leaf_hash
from receipts.tlog.integrate import integrate
from receipts.tlog.note_keys import NoteSigner, NoteVerifier, generate_key
from receipts.tlog.notes import open_note, sign_note, with_signature_lines
from receipts.tlog.proving import prove_consistency, prove_inclusion
from receipts.tlog.stored import MemoryHashes, tree_hash
from receipts.tlog.witness import MemoryWitnessState, Witness
from tests.tlog.naive import entry
from tests.tlog.witnessing import ORIGIN, Log, witness_signer

GOPATH = Path("/usr/share/gocode")
X_MOD = GOPATH / "src/golang.org/x/mod/sumdb"
PROGRAM = Path(__file__).resolve().parent / "go" / "interop"
SIZE = 70_000


@pytest.fixture(scope="module")
def interop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed (Debian package golang-go; .ci/run installs it)")
    if not (X_MOD / "note").is_dir() or not (X_MOD / "tlog").is_dir():
        pytest.skip(f"no golang.org/x/mod sources in {GOPATH} (Debian package golang-golang-x-mod-dev)")
    build = tmp_path_factory.mktemp("go")
    environment = {
        **os.environ,
        "GOPATH": str(GOPATH),
        "GO111MODULE": "off",
        "GOCACHE": str(build / "cache"),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
        "HOME": str(build),
    }
    binary = build / "interop"
    done = subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=PROGRAM, env=environment, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    return binary


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A log of 70,000 entries published as C2SP tiles, its checkpoint cosigned by our witness."""
    hashes, size = MemoryHashes(), 0
    tiles = tmp_path_factory.mktemp("log")
    for batch in (300, 65_300, SIZE - 65_600):
        partial = [entry(i) for i in range(size - size % 256, size)]
        result = integrate(size, hashes, [entry(i) for i in range(size, size + batch)], partial)
        hashes.hashes.update(result.stored_hashes)
        for path, data in result.files().items():
            (tiles / path).parent.mkdir(parents=True, exist_ok=True)
            (tiles / path).write_bytes(data)
        size = result.size
    log = Log()
    log.hashes, log.size = hashes, size
    witness = Witness.for_vkeys(witness_signer(), [log.signer.verifier.key.vkey], MemoryWitnessState())
    answer = witness.add_checkpoint(log.body(0))
    assert answer.status == 200, answer.reason
    indexes = [0, 1, 255, 256, 65_535, 65_536, 69_999]
    sizes = [1, 2, 255, 256, 300, 65_536, 65_600, SIZE]
    return {
        "log": log,
        "witness": witness,
        "request": {
            "log_vkey": log.signer.verifier.key.vkey,
            "witness_vkey": witness.signer.vkey,
            "checkpoint": with_signature_lines(log.note(), answer.body).decode(),
            "size": SIZE,
            "root": b64(tree_hash(SIZE, hashes)),
            "inclusion": [
                {
                    "index": i,
                    "leaf": b64(leaf_hash(entry(i))),
                    "proof": [b64(h) for h in prove_inclusion(i, SIZE, hashes)],
                }
                for i in indexes
            ]
            + [
                {
                    "index": 5,
                    "leaf": b64(leaf_hash(entry(6))),
                    "proof": [b64(h) for h in prove_inclusion(5, SIZE, hashes)],
                }
            ],
            "consistency": [
                {
                    "size1": m,
                    "root1": b64(tree_hash(m, hashes)),
                    "proof": [b64(h) for h in prove_consistency(m, SIZE, hashes)],
                }
                for m in sizes
            ],
            "tiles_dir": str(tiles),
            "private_key": log.signer.key.private_key_string,
            "text_to_sign": "signed in Python, through Go\n",
        },
    }


@pytest.fixture(scope="module")
def report(interop: Path, artifacts: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    request = tmp_path_factory.mktemp("request") / "request.json"
    request.write_text(json.dumps(artifacts["request"]))
    done = subprocess.run([str(interop), str(request)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["errors"] == []
    return result


def test_go_opens_our_cosigned_checkpoint(report: dict, artifacts: dict) -> None:
    log, witness = artifacts["log"], artifacts["witness"]
    assert report["checkpoint_text"] == log.checkpoint().text
    assert sorted(report["verified_by"]) == sorted(
        [f"{ORIGIN}+{log.signer.key_id.hex()}", f"{witness.signer.name}+{witness.signer.key_id.hex()}"]
    )


def test_go_checks_our_proofs(report: dict) -> None:
    *good, forged = report["inclusion_errors"]
    assert good == [""] * 7 and forged == "invalid transparency proof"  # leaf 6's hash claimed at index 5
    assert report["consistency_errors"] == [""] * 8


def test_go_reads_our_tiles(report: dict, artifacts: dict) -> None:
    request = artifacts["request"]
    assert report["tree_hash_from_tiles"] == request["root"]
    assert report["proofs_from_tiles"] == [case["proof"] for case in request["inclusion"]]
    assert {"tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"} <= set(report["tiles_read"])
    assert all(Path(request["tiles_dir"], path).is_file() for path in report["tiles_read"])


def test_go_signs_with_our_private_key_string(report: dict, artifacts: dict) -> None:
    signer = artifacts["log"].signer
    text = artifacts["request"]["text_to_sign"]
    assert report["signed_with_our_key"].encode() == sign_note(text, [signer])  # Ed25519 is deterministic
    assert open_note(report["signed_with_our_key"].encode(), [signer.verifier]).text == text


def test_we_open_a_note_go_signed_with_a_key_go_made(report: dict) -> None:
    verifier = NoteVerifier.from_vkey(report["go_vkey"])
    assert verifier.name == "go.example/interop"
    note = open_note(report["go_note"].encode(), [verifier])
    assert note.text == "signed in Go\n"
    other = NoteSigner(generate_key("go.example/interop")).verifier
    with pytest.raises(ValueError):
        open_note(report["go_note"].encode(), [other])
