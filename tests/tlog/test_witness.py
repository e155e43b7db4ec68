"""The witness's rules (receipts/tlog/witness.py), status by status as tlog-witness's
table has them: it cosigns what extends what it cosigned before, answers 409 with its
size, refuses a fork with 422, and never rolls a size back, however requests race."""

import base64
import hashlib
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receipts.tlog.checkpoints import Checkpoint, sign_checkpoint
from receipts.tlog.cosignatures import open_witnessed_checkpoint
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.note_keys import NoteSigner, generate_key
from receipts.tlog.notes import with_signature_lines
from receipts.tlog.witness import (
    SIZE_CONTENT_TYPE,
    MemoryWitnessState,
    RequestError,
    Witness,
    parse_add_checkpoint,
)
from tests.tlog.witnessing import ORIGIN, Log, witness_signer


@pytest.fixture
def log() -> Log:
    return Log().grow(10)


@pytest.fixture
def witness(log: Log) -> Witness:
    return Witness.for_vkeys(witness_signer(), [log.signer.verifier.key.vkey], MemoryWitnessState())


def cosigned(log: Log, witness: Witness, old: int) -> bytes:
    answer = witness.add_checkpoint(log.body(old))
    assert answer.status == 200, answer.reason
    return answer.body


def test_it_cosigns_a_first_checkpoint_then_each_that_extends_it(log: Log, witness: Witness) -> None:
    lines = cosigned(log, witness, 0)
    note = with_signature_lines(log.note(), lines)
    witnessed = open_witnessed_checkpoint(note, [log.signer.verifier], [witness.signer.verifier], 1, ORIGIN)
    assert witnessed.checkpoint.size == 10 and witnessed.cosigned_by == {"witness.example/w1": 1767225600}
    log.grow(300)
    cosigned(log, witness, 10)
    assert witness.state.latest(ORIGIN).size == 300
    cosigned(log, witness, 300)  # the same checkpoint again: cosigned again, at a new time


def test_409_names_the_size_it_holds(log: Log, witness: Witness) -> None:
    cosigned(log, witness, 0)
    log.grow(20)
    for old in (0, 5, 11):
        answer = witness.add_checkpoint(log.body(old))
        assert (answer.status, answer.body, answer.content_type) == (409, b"10\n", SIZE_CONTENT_TYPE)
    fresh = Witness.for_vkeys(witness_signer(), [log.signer.verifier.key.vkey], MemoryWitnessState())
    assert fresh.add_checkpoint(log.body(10)).body == b"0\n"  # never cosigned: it holds 0


def test_a_fork_is_refused_with_422(log: Log, witness: Witness) -> None:
    cosigned(log, witness, 0)
    fork = Log(log.signer, salt=b"forked").grow(20)  # the same key signs another history
    assert witness.add_checkpoint(fork.body(10, proof=[])).status == 422
    wrong_proof = Log(log.signer).grow(20).body(10)  # the honest log's proof with the fork's checkpoint
    assert witness.add_checkpoint(wrong_proof.split(b"\n\n")[0] + b"\n\n" + fork.note()).status == 422
    same_size = fork.body(10, size=10, proof=[])
    answer = witness.add_checkpoint(same_size)
    assert answer.status == 422 and "consistent" in answer.reason
    assert witness.state.latest(ORIGIN).size == 10 and witness.state.latest(ORIGIN).root == log.checkpoint().root


def test_the_empty_tree_and_proofs_from_it(log: Log, witness: Witness) -> None:
    """The empty tree's root is SHA-256 of nothing, and the empty tree needs no proof."""
    empty = Log(log.signer)
    assert witness.add_checkpoint(empty.body(0)).status == 200
    not_empty = sign_checkpoint(Checkpoint(ORIGIN, 0, b"\x07" * 32), [log.signer])
    assert witness.add_checkpoint(b"old 0\n\n" + not_empty).status == 422
    proof_from_zero = f"old 0\n{base64.b64encode(EMPTY_ROOT).decode()}\n\n".encode() + log.note()
    assert witness.add_checkpoint(proof_from_zero).status == 422


def test_400_403_404(log: Log, witness: Witness) -> None:
    assert witness.add_checkpoint(log.body(11, size=10, proof=[])).status == 400  # old size past the size
    stranger = Log(NoteSigner(generate_key(ORIGIN))).grow(10)  # the origin's name, another key
    assert witness.add_checkpoint(stranger.body(0)).status == 403
    forged = log.body(0).replace(b"\n10\n", b"\n11\n")
    assert witness.add_checkpoint(forged).status == 403
    other = Log(NoteSigner(generate_key("other.example/log"))).grow(3)
    unknown = other.body(0).replace(b"billing.example/log", b"other.example/log")
    assert witness.add_checkpoint(unknown).status == 404
    for body in (b"", b"old 0\n", b"old 00\n\n" + log.note(), b"new 0\n\n" + log.note(), log.note()):
        assert witness.add_checkpoint(body).status == 400
    not_a_checkpoint = log.body(0).replace(b"\n10\n", b"\nten\n")
    assert witness.add_checkpoint(not_a_checkpoint).status in (400, 403)
    assert witness.state.latest(ORIGIN) is None


def test_request_bodies_parse_strictly(log: Log) -> None:
    body = Log(log.signer).grow(30).body(10)
    request = parse_add_checkpoint(body)
    assert request.old_size == 10 and len(request.proof) >= 1 and request.checkpoint.startswith(b"billing")
    for bad in (
        body.replace(b"old 10", b"old  10"),
        body.replace(b"old 10\n", b"old 10\r\n"),
        body.replace(b"=\n", b"\n", 1),  # unpadded base64
        b"old 1\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\n" + log.note(),  # 64 lines
        b"old 1\nAAAA\n\n" + log.note(),  # not 32 bytes
        b"old 1\n" + b"x" * 20_000,
        b"old 18446744073709551616\n\n" + log.note(),
    ):
        with pytest.raises(RequestError):
            parse_add_checkpoint(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_body_gets_an_answer_from_the_table(data: bytes) -> None:
    log = HOSTILE_LOG
    witness = Witness.for_vkeys(witness_signer(), [log.signer.verifier.key.vkey], MemoryWitnessState())
    for body in (data, b"old 0\n" + data, b"old 0\n\n" + data, b"old 0\n\n" + log.note() + data):
        assert witness.add_checkpoint(body).status in (200, 400, 403, 404, 409, 422)


HOSTILE_LOG = Log().grow(4)


def test_racing_requests_never_roll_back(log: Log) -> None:
    """Many threads offer sizes from one old size: one wins, the others get 409, and the
    state only ever grows (the check and the write are one step)."""
    witness = Witness.for_vkeys(witness_signer(), [log.signer.verifier.key.vkey], MemoryWitnessState())
    cosigned(log, witness, 0)
    bodies = [Log(log.signer).grow(size).body(10) for size in range(11, 41)]
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda b=b: statuses.append(witness.add_checkpoint(b).status)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 29
    assert witness.state.latest(ORIGIN).size > 10


def test_the_monitors_checkpoint(log: Log, witness: Witness) -> None:
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    assert witness.checkpoint_of(origin_hash).status == 404
    lines = cosigned(log, witness, 0)
    answer = witness.checkpoint_of(origin_hash)
    assert answer.status == 200 and answer.body.endswith(lines)
    open_witnessed_checkpoint(answer.body, [log.signer.verifier], [witness.signer.verifier], 1, ORIGIN)
    assert witness.checkpoint_of("0" * 64).status == 404


def test_the_time_never_goes_back(log: Log) -> None:
    clock = [2000]
    signer = witness_signer()
    witness = Witness.for_vkeys(
        type(signer)(signer.key, clock=lambda: clock[0]), [log.signer.verifier.key.vkey], MemoryWitnessState()
    )
    cosigned(log, witness, 0)
    clock[0] = 1000
    cosigned(log, witness, 10)
    assert witness.state.latest(ORIGIN).cosigned_at == 2000
