"""The witness's state file (receipts/stores/witness_state.py): a restarted witness keeps
every size it cosigned, the file is replaced whole with mode 0600, two processes take
turns, and a file it cannot read is refused, never overwritten."""

import json
import multiprocessing
import stat
from pathlib import Path

import pytest

from receipts.stores.witness_state import FileWitnessState, WitnessStateError
from receipts.tlog.witness import LogState, Witness
from tests.tlog.witnessing import ORIGIN, Log, witness_signer


def test_a_restarted_witness_keeps_its_state(tmp_path: Path) -> None:
    log = Log().grow(10)
    path = tmp_path / "witness" / "state.json"
    first = Witness.for_vkeys(witness_signer(), [log.signer.verifier.key.vkey], FileWitnessState(path))
    assert first.add_checkpoint(log.body(0)).status == 200
    restarted = Witness.for_vkeys(first.signer, [log.signer.verifier.key.vkey], FileWitnessState(path))
    assert restarted.state.latest(ORIGIN).size == 10
    assert restarted.add_checkpoint(log.body(0)).body == b"10\n"  # 409: it remembers
    log.grow(12)
    assert restarted.add_checkpoint(log.body(10)).status == 200
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["v"] == 1 and document["logs"][ORIGIN]["size"] == 12
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_an_unchanged_state_is_not_written(tmp_path: Path) -> None:
    state = FileWitnessState(tmp_path / "state.json")
    state.update(ORIGIN, lambda current: None)
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize("content", [b"{", b"[]", b'{"v": 2, "logs": {}}', b'{"v": 1}'])
def test_a_file_it_cannot_read_is_refused_and_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(WitnessStateError):
        FileWitnessState(path).update(ORIGIN, lambda current: LogState(1, b"r" * 32, b"note\n", 1))
    assert path.read_bytes() == content


def _increment(path: str, times: int) -> None:
    state = FileWitnessState(path)
    for _ in range(times):
        state.update(
            ORIGIN, lambda s: LogState((s.size if s else 0) + 1, b"r" * 32, b"n\n", 1)
        )  # read, decide, write: lost updates would show as a smaller count


def test_processes_take_turns(tmp_path: Path) -> None:
    path = str(tmp_path / "state.json")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(path, 40)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert all(worker.exitcode == 0 for worker in workers)
    assert FileWitnessState(path).latest(ORIGIN).size == 120
