"""The monitor (receipts.tlog.monitor): a log that grows honestly passes; a fork, a
rollback, a tile that does not make the root, and a checkpoint below the witness quorum
are each caught, a fork and a rollback with both signed notes as the proof."""

import pytest

from receipts.tlog.cosignatures import QuorumError
from receipts.tlog.monitor import LogMisbehaved, Seen, look
from receipts.tlog.notes import with_signature_lines
from receipts.tlog.tile_reader import TileError
from receipts.tlog.tiles import read_tile_data
from receipts.tlog.witness import MemoryWitnessState, Witness
from tests.tlog.witnessing import ORIGIN, Log, witness_signer


def fetch(log: Log):
    return lambda tile: read_tile_data(tile, log.hashes)


def checked(log: Log, previous: Seen | None = None, note: bytes | None = None, quorum: int = 0, witnesses=()):
    return look(note or log.note(), fetch(log), [log.signer.verifier], list(witnesses), quorum, ORIGIN, previous)


def test_an_honest_log_is_followed_as_it_grows() -> None:
    log = Log().grow(10)
    first = checked(log)
    assert (first.seen.size, first.grown_by) == (10, 10)
    log.grow(700)
    second = checked(log, first.seen)
    assert (second.seen.size, second.grown_by) == (700, 690)
    assert checked(log, second.seen).grown_by == 0
    assert Seen.from_json(second.seen.as_json()) == second.seen


def test_a_fork_is_reported_with_both_notes() -> None:
    log = Log().grow(300)
    seen = checked(log).seen
    fork = Log(signer=log.signer, salt=b"rewritten").grow(301)
    with pytest.raises(LogMisbehaved, match="fork") as caught:
        checked(fork, seen)
    assert caught.value.earlier == seen.note and caught.value.later == fork.note()


def test_the_same_size_with_another_root_is_a_fork() -> None:
    log = Log().grow(5)
    seen = checked(log).seen
    other = Log(signer=log.signer, salt=b"x").grow(5)
    with pytest.raises(LogMisbehaved, match="fork"):
        checked(other, seen)


def test_a_smaller_tree_than_seen_is_a_rollback() -> None:
    log = Log().grow(20)
    seen = checked(log).seen
    with pytest.raises(LogMisbehaved, match="after one of 20"):
        checked(log, seen, note=log.note(10))


def test_a_tile_that_does_not_make_the_root_is_refused() -> None:
    log = Log().grow(600)
    honest = fetch(log)

    def tampered(tile):
        data = honest(tile)
        return data if tile.level or tile.n != 1 else bytes([data[0] ^ 1]) + data[1:]

    with pytest.raises(TileError):
        look(log.note(), tampered, [log.signer.verifier], [], 0, ORIGIN)


def test_a_checkpoint_below_the_quorum_is_refused() -> None:
    log = Log().grow(4)
    signer = witness_signer()
    with pytest.raises(QuorumError):
        checked(log, quorum=1, witnesses=[signer.verifier])
    witness = Witness.for_vkeys(signer, [log.signer.verifier.key.vkey], MemoryWitnessState())
    line = witness.add_checkpoint(log.body(0)).body
    cosigned = with_signature_lines(log.note(), line)
    assert checked(log, note=cosigned, quorum=1, witnesses=[signer.verifier]).witnessed.cosigned_by
