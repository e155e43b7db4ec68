"""The log's side of C2SP tlog-witness: after each checkpoint the log submits it to its
witnesses, each with the consistency proof from the size that witness last cosigned,
collects their `cosignature/v1` lines and publishes the checkpoint with them.

- A witness is named `VKEY@URL` (`--witness`, repeatable): its vkey checks what it answers
  and the URL is where `POST <URL>/add-checkpoint` goes.
- A 409 answers the size the witness holds (`text/x.tlog.size`); the request is made again
  with the proof from that size (at most twice more: a witness that keeps moving is
  recorded as failed, not chased).
- Every cosignature is verified before it is kept: a witness that answers 200 with a bad or
  foreign line is a failure, and its line is dropped.
- The policy is a quorum (`--witness-quorum K`): a checkpoint cosigned by fewer than K is
  still published (the log must not stop charging because a witness is down) and flagged,
  for the metric and the alert.
"""

import base64
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from receipts.tlog.cosignatures import CosignatureVerifier
from receipts.tlog.notes import MalformedNote, NoteError, open_note, with_signature_lines
from receipts.tlog.proving import prove_consistency
from receipts.tlog.stored import HashReader

log = logging.getLogger("receipts.log")
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 64 * 1024
ATTEMPTS = 3  # the first request, and two more after 409s


class WitnessError(RuntimeError):
    """A witness that did not cosign: unreachable, refused, or answered something unusable."""


@dataclass(frozen=True)
class WitnessEndpoint:
    """One witness: its cosignature key and where it listens."""

    vkey: str
    url: str

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier.from_vkey(self.vkey)

    @property
    def name(self) -> str:
        return self.verifier.name


def parse_witness(spec: str) -> WitnessEndpoint:
    """`VKEY@URL`: a vkey (`name+hash+base64`, which holds no '@') and an http(s) URL."""
    vkey, at, url = spec.partition("@")
    if not at or not url.startswith(("http://", "https://")):
        raise ValueError(f"a witness is VKEY@URL with an http(s) URL, not {spec!r}")
    CosignatureVerifier.from_vkey(vkey)  # refuses what is not a vkey
    return WitnessEndpoint(vkey, url.rstrip("/"))


@dataclass(frozen=True)
class WitnessPolicy:
    """The log's witnesses and how many of them must cosign a checkpoint."""

    witnesses: tuple[WitnessEndpoint, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise ValueError(f"a quorum of {self.quorum} cannot be met by {len(self.witnesses)} witness(es)")

    @classmethod
    def parse(cls, specs: Sequence[str], quorum: int | None = None) -> "WitnessPolicy":
        """From `--witness` values; the quorum defaults to every witness."""
        witnesses = tuple(parse_witness(spec) for spec in specs)
        return cls(witnesses, len(witnesses) if quorum is None else quorum)

    def describe(self) -> dict:
        return {"witnesses": [w.vkey for w in self.witnesses], "quorum": self.quorum}


@dataclass
class Witnessing:
    """What the witnesses made of one checkpoint."""

    note: bytes  # the checkpoint with every cosignature collected
    cosigned_by: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # witness name -> why
    quorum: int = 0

    @property
    def quorum_met(self) -> bool:
        return len(self.cosigned_by) >= self.quorum


Post = Callable[[str, bytes], tuple[int, str, bytes]]  # (url, body) -> (status, content type, body)


def http_post(url: str, body: bytes) -> tuple[int, str, bytes]:
    """POST with a timeout; an HTTP error status is an answer, not an exception."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.headers.get_content_type(), response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read(MAX_ANSWER_BYTES + 1)


class Witnesses:
    """Submits checkpoints to a policy's witnesses, remembering the size each last cosigned
    (a first request assumes 0; a 409 corrects it)."""

    def __init__(self, policy: WitnessPolicy, post: Post = http_post) -> None:
        self.policy, self.post = policy, post
        self.sizes: dict[str, int] = {}

    def cosign(self, note: bytes, size: int, hashes: HashReader) -> Witnessing:
        """`note` (the log-signed checkpoint of `size`) with each witness's verified
        cosignature line appended; failures recorded by witness name, never raised."""
        result = Witnessing(note, quorum=self.policy.quorum)
        lines = b""
        for witness in self.policy.witnesses:
            try:
                lines += self._cosignature(witness, note, size, hashes)
                result.cosigned_by.append(witness.name)
            except WitnessError as error:
                result.failures[witness.name] = str(error)
                log.warning("witness %s did not cosign size %d: %s", witness.name, size, error)
        if lines:
            result.note = with_signature_lines(note, lines)
        if not result.quorum_met:
            log.error(
                "checkpoint %d cosigned by %d of %d witnesses, below the quorum of %d: published flagged",
                size,
                len(result.cosigned_by),
                len(self.policy.witnesses),
                self.policy.quorum,
            )
        return result

    def _cosignature(self, witness: WitnessEndpoint, note: bytes, size: int, hashes: HashReader) -> bytes:
        old = min(self.sizes.get(witness.vkey, 0), size)
        for _ in range(ATTEMPTS):
            proof = prove_consistency(old, size, hashes)
            body = f"old {old}\n".encode() + b"".join(base64.b64encode(h) + b"\n" for h in proof) + b"\n" + note
            try:
                status, content_type, answer = self.post(witness.url + "/add-checkpoint", body)
            except (OSError, ValueError) as error:  # refused, unreachable, timed out, a bad URL
                raise WitnessError(f"unreachable: {error}") from None
            if len(answer) > MAX_ANSWER_BYTES:
                raise WitnessError("answered more than a cosignature")
            if status == 409 and content_type == SIZE_CONTENT_TYPE:
                old = _size(answer, size)
                continue
            if status != 200:
                raise WitnessError(f"answered {status}: {_shown(answer)}")
            line = _verified_line(witness, note, answer)
            self.sizes[witness.vkey] = size
            return line
        raise WitnessError(f"still answered 409 after {ATTEMPTS} requests")


def cosigners(note: bytes, policy: WitnessPolicy) -> list[str]:
    """The names of the policy's witnesses whose cosignature in `note` verifies (none when
    any of their signatures does not: receipts.tlog.notes.open_note decides)."""
    try:
        opened = open_note(note, [witness.verifier for witness in policy.witnesses])
    except NoteError:
        return []
    return [signature.name for signature in opened.signatures]


def witnessed_line(note: bytes, policy: WitnessPolicy) -> str:
    """What a person is told of a checkpoint's witnesses: none configured, or K of Q."""
    if not policy.witnesses:
        return ""
    names = cosigners(note, policy)
    line = f" Cosigned by {len(names)} witness(es) of the {policy.quorum} needed"
    return line + ("." if len(names) >= policy.quorum else ", below the quorum: the checkpoint is published flagged.")


def _size(answer: bytes, size: int) -> int:
    text = answer.decode("ascii", "replace").strip()
    if not text.isdigit() or len(text) > 20 or int(text) > size:
        raise WitnessError(f"answered 409 with size {_shown(answer)}, not one of this log's sizes up to {size}")
    return int(text)


def _verified_line(witness: WitnessEndpoint, note: bytes, answer: bytes) -> bytes:
    """The witness's cosignature line in `answer`, checked over the checkpoint as a client
    will check it: the note with the line added, opened with the witness's key."""
    try:
        opened = open_note(with_signature_lines(note, answer), [witness.verifier])
    except MalformedNote as error:
        raise WitnessError(f"answered no signature line: {error}") from None
    except NoteError:
        raise WitnessError("answered no valid cosignature of its key") from None
    return opened.signatures[0].line.encode()


def _shown(answer: bytes) -> str:
    return repr(answer[:200].decode("utf-8", "replace"))
