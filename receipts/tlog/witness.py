"""A witness (C2SP tlog-witness): it cosigns a log's checkpoint only if it is consistent
with the last one it cosigned for that log, so that a log showing two histories to two
parties is caught by whoever holds both cosignatures.

`Witness.add_checkpoint(body)` answers an add-checkpoint request as the spec's table says:

    200  cosignature lines                 the checkpoint extends (or equals) the last one
    400  malformed, or old size > size     not a request, or a checkpoint that is not one
    403  no valid signature of the log      or a signature of its key that does not verify
    404  unknown origin                    a log this witness was not configured for
    409  text/x.tlog.size, "<size>\\n"      old size is not the size last cosigned
    422  a fork                            proof fails, same size with another root, a
                                           proof from size 0, an empty tree not empty

The check of the old size and the write of the new state are one atomic step of the
injected WitnessState, finished before the answer: two requests never both advance
from one size, and a cosigned size is never rolled back.
"""

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from receipts.tlog.checkpoints import Checkpoint, CheckpointError, parse_checkpoint
from receipts.tlog.cosignatures import CosignatureSigner
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.note_keys import NoteVerifier
from receipts.tlog.notes import MalformedNote, NoteError, Verifier, decode_base64, open_note
from receipts.tlog.proofs import ConsistencyProofError, verify_consistency
from receipts.tlog.tiles import MAX_TREE_SIZE

MAX_REQUEST_BYTES = 16 * 1024  # a checkpoint, 63 proof lines and a few signatures fit well within
MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
_OLD = re.compile(rb"old (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class LogState:
    """What a witness keeps per log: the last size and root it cosigned, that checkpoint
    (the log's verified signatures and the witness's cosignature) and the time it stated."""

    size: int
    root: bytes
    checkpoint: bytes
    cosigned_at: int


class WitnessState(Protocol):
    """Where a witness keeps its LogStates, by origin."""

    def latest(self, origin: str) -> LogState | None: ...

    def update(self, origin: str, step: Callable[[LogState | None], LogState | None]) -> None:
        """Run `step` on the origin's state and keep what it returns (None: keep the old one),
        atomically (no other update in between, in any process) and durably before returning."""


class MemoryWitnessState:
    """A WitnessState in memory: for tests, and for a witness that may forget."""

    def __init__(self) -> None:
        self._states: dict[str, LogState] = {}
        self._lock = threading.Lock()

    def latest(self, origin: str) -> LogState | None:
        return self._states.get(origin)

    def update(self, origin: str, step: Callable[[LogState | None], LogState | None]) -> None:
        with self._lock:
            new = step(self._states.get(origin))
            if new is not None:
                self._states[origin] = new


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body, content type, and for the operator's log why."""

    status: int
    body: bytes = b""
    content_type: str = TEXT_CONTENT_TYPE
    reason: str = ""


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the log believes the witness holds, the
    consistency proof from it, and the new checkpoint (a signed note)."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes


class RequestError(ValueError):
    """A body that is not an add-checkpoint request."""


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """`old <size>\\n`, at most 63 base64 hash lines, an empty line, the checkpoint."""
    if len(body) > MAX_REQUEST_BYTES:
        raise RequestError(f"a request is at most {MAX_REQUEST_BYTES} bytes")
    old_line, _, rest = body.partition(b"\n")
    match = _OLD.fullmatch(old_line)
    if match is None or int(match.group(1)) > MAX_TREE_SIZE or not rest:
        raise RequestError("the first line is 'old <size>' (no leading zeros)")
    proof_block, separator, checkpoint = (b"\n" + rest).partition(b"\n\n")
    lines = proof_block.split(b"\n")[1:]
    if not separator or not checkpoint:
        raise RequestError("no empty line before the checkpoint")
    if len(lines) > MAX_PROOF_LINES:
        raise RequestError(f"at most {MAX_PROOF_LINES} consistency proof lines")
    try:
        proof = tuple(decode_base64(line.decode("ascii")) for line in lines)
    except (UnicodeDecodeError, ValueError):
        raise RequestError("a consistency proof line is not canonical base64") from None
    if any(len(h) != 32 for h in proof):
        raise RequestError("a consistency proof line is not a 32-byte hash")
    return AddCheckpoint(int(match.group(1)), proof, checkpoint)


@dataclass
class Witness:
    """A witness: its key, the logs it follows (origin -> the log's note verifiers) and its state."""

    signer: CosignatureSigner
    logs: Mapping[str, Sequence[Verifier]]
    state: WitnessState

    @classmethod
    def for_vkeys(cls, signer: CosignatureSigner, vkeys: Iterable[str], state: WitnessState) -> "Witness":
        """A witness of the logs whose vkeys are given: each log's origin is its key's name
        (tlog-checkpoint: the log's key name SHOULD be its origin); two vkeys of one name
        are two keys of one log."""
        logs: dict[str, list[Verifier]] = {}
        for vkey in vkeys:
            verifier = NoteVerifier.from_vkey(vkey)
            logs.setdefault(verifier.name, []).append(verifier)
        return cls(signer, logs, state)

    def add_checkpoint(self, body: bytes) -> Answer:
        """Answer an add-checkpoint request (see the module's table)."""
        try:
            request = parse_add_checkpoint(body)
        except RequestError as error:
            return Answer(400, reason=str(error))
        origin_line = request.checkpoint.partition(b"\n")[0]
        verifiers = self.logs.get(origin_line.decode("utf-8", "replace"))
        if verifiers is None:
            return Answer(404, reason="unknown log origin")
        try:
            note = open_note(request.checkpoint, verifiers)
            checkpoint = parse_checkpoint(note.text)
        except MalformedNote as error:
            return Answer(400, reason=f"not a signed note: {error.reason}")
        except NoteError as error:
            return Answer(403, reason=error.reason)
        except CheckpointError as error:
            return Answer(400, reason=f"not a checkpoint: {error}")
        if request.old_size > checkpoint.size:
            return Answer(400, reason=f"old size {request.old_size} is past the checkpoint's {checkpoint.size}")
        log_lines = "".join(signature.line for signature in note.signatures)
        answers: list[Answer] = []
        self.state.update(
            checkpoint.origin, lambda state: self._advance(state, request, checkpoint, log_lines, answers)
        )
        return answers[0]

    def _advance(
        self, state: LogState | None, request: AddCheckpoint, checkpoint: Checkpoint, log_lines: str, out: list[Answer]
    ) -> LogState | None:
        """The state after this request (None: unchanged), its answer appended to `out`."""
        size, root = (state.size, state.root) if state else (0, EMPTY_ROOT)
        if request.old_size != size:
            out.append(Answer(409, f"{size}\n".encode(), SIZE_CONTENT_TYPE, f"the witness holds size {size}"))
            return None
        if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
            out.append(Answer(422, reason="a checkpoint of size 0 has the empty tree's root"))
            return None
        try:
            verify_consistency(size, checkpoint.size, request.proof, root, checkpoint.root)
        except ConsistencyProofError as error:
            out.append(Answer(422, reason=f"not consistent with size {size}: {error.reason}"))
            return None
        now = max(int(self.signer.clock()), state.cosigned_at if state else 1)  # never back in time
        line = self.signer.cosign(checkpoint.text, now).line
        cosigned = f"{checkpoint.text}\n{log_lines}{line}".encode()
        out.append(Answer(200, line.encode(), reason=f"cosigned size {checkpoint.size}"))
        return LogState(checkpoint.size, checkpoint.root, cosigned, now)

    def checkpoint_of(self, origin_hash: str) -> Answer:
        """GET <origin hash>/checkpoint: the last checkpoint cosigned for the log whose
        origin's SHA-256 is `origin_hash` (lowercase hex), with its signatures."""
        for origin in self.logs:
            if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                state = self.state.latest(origin)
                if state is not None:
                    return Answer(200, state.checkpoint)
        return Answer(404, reason="no checkpoint cosigned for that log")
