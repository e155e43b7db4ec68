"""End to end on the embedded store: `receipts run` with a real `receipts witness serve`
(another process, over a socket) ends with a checkpoint the witness cosigned; with the
witness gone, a run still charges and logs, its checkpoint published flagged below the
quorum."""

import json
from pathlib import Path

import pytest

from receipts.tlog.cosignatures import CosignatureVerifier, open_witnessed_checkpoint
from receipts.tlog.note_keys import NoteVerifier
from tests.conftest import event_bytes
from tests.tlog.test_witness_server import free_port, receipts, start

pytestmark = pytest.mark.beam


def events(path: Path, keys: range) -> Path:
    path.write_bytes(b"".join(event_bytes(idempotent_key=f"evt-{n}") + b"\n" for n in keys))
    return path


def test_a_run_ends_with_a_checkpoint_its_witness_cosigned(tmp_path: Path) -> None:
    home, witness_home = tmp_path / "home", tmp_path / "witness"
    info = json.loads(receipts(home, "log", "info", "--json").stdout)
    witness_vkey = receipts(witness_home, "witness", "key", "--name", "w1.example").stdout.strip()
    port = free_port()
    server = start(witness_home, port, info["vkey"])
    witness = f"{witness_vkey}@http://127.0.0.1:{port}"
    try:
        ran = receipts(home, "--log-witness", witness, "run", "--input", str(events(tmp_path / "a.jsonl", range(3))))
        assert ran.exit_code == 0, ran.output
        assert "Cosigned by 1 witness(es) of the 1 needed." in " ".join(ran.output.split())
        note = json.loads(receipts(home, "log", "info", "--json").stdout)["checkpoint"].encode()
        opened = open_witnessed_checkpoint(
            note, [NoteVerifier.from_vkey(info["vkey"])], [CosignatureVerifier.from_vkey(witness_vkey)], 1
        )
        assert opened.checkpoint.size == 3
    finally:
        server.terminate()
        server.wait(10)
    ran = receipts(home, "--log-witness", witness, "run", "--input", str(events(tmp_path / "b.jsonl", range(3, 5))))
    assert ran.exit_code == 0, ran.output  # charged and logged though the witness is gone
    said = " ".join(ran.output.split())
    assert "holds 5 receipt(s)" in said and "Cosigned by 0 witness(es) of the 1 needed, below the quorum" in said
    integrated = receipts(home, "--log-witness", witness, "log", "integrate")
    said = " ".join(integrated.output.split())
    assert integrated.exit_code == 0 and "checkpoint signed for 5" in said  # kept as it is: the size did not move
