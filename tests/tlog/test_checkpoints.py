"""Checkpoints (receipts/tlog/checkpoints.py): the spec's text, one spelling per value,
our own origins' rules, and signed checkpoints that open only for their log."""

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receipts.tlog.checkpoints import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    origin_problem,
    parse_checkpoint,
    sign_checkpoint,
)
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.note_keys import NoteSigner, generate_key
from receipts.tlog.notes import UnverifiedNote

SPEC = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")


def test_the_specs_checkpoint() -> None:
    checkpoint = parse_checkpoint(SPEC)
    assert checkpoint == Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    assert checkpoint.text == SPEC
    with_extensions = parse_checkpoint(SPEC + "ext one\nExt-2\n")
    assert with_extensions.extensions == ("ext one", "Ext-2") and with_extensions.text == SPEC + "ext one\nExt-2\n"
    assert parse_checkpoint(f"o\n0\n{base64.b64encode(EMPTY_ROOT).decode()}\n").size == 0


@pytest.mark.parametrize(
    "text",
    [
        SPEC[:-1],  # no final newline
        "example.com/behind-the-sofa\n20852163\n",  # no root
        SPEC.replace("20852163", "020852163"),  # a leading zero
        SPEC.replace("20852163", "+20852163"),
        SPEC.replace("20852163", "2085_2163"),
        SPEC.replace("20852163", "２０８"),  # full-width digits: int() reads them
        SPEC.replace("20852163", str(1 << 64)),  # past 64 bits
        SPEC.replace("20852163", "-1"),
        SPEC.replace("=\n", "\n"),  # unpadded base64
        SPEC.replace("2I=", "2J="),  # non-canonical base64
        SPEC.replace("CsUY", "AAAACsUY"),  # not 32 bytes
        "\n" + SPEC.split("\n", 1)[1],  # an empty origin
        SPEC + "\n",  # an empty extension line
        SPEC.replace("\n", "\r\n"),
        SPEC + "ext\x1b[0m\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_only_as_the_checkpoint_it_spells(text: str) -> None:
    try:
        checkpoint = parse_checkpoint(text)
    except CheckpointError:
        return
    assert checkpoint.text == text


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("billing.example/log", True),
        ("billing.example", True),
        ("https://billing.example/log", False),
        ("billing.example/log/", False),
        ("billing example", False),
        ("billing+log", False),
        ("", False),
    ],
)
def test_our_origins(origin: str, ok: bool) -> None:
    assert (origin_problem(origin) is None) is ok


def test_signed_checkpoints_open_for_their_log_only() -> None:
    log = NoteSigner(generate_key("billing.example/log"))
    checkpoint = Checkpoint("billing.example/log", 3, ROOT)
    note = sign_checkpoint(checkpoint, [log])
    assert note.startswith(checkpoint.text.encode() + "\n— billing.example/log ".encode())
    assert open_checkpoint(note, [log.verifier], "billing.example/log")[0] == checkpoint
    with pytest.raises(CheckpointError, match="not of"):
        open_checkpoint(note, [log.verifier], "other.example/log")
    with pytest.raises(UnverifiedNote):
        open_checkpoint(note, [NoteSigner(generate_key("billing.example/log")).verifier])
    with pytest.raises(CheckpointError):
        Checkpoint("o", 1, b"short")
    with pytest.raises(CheckpointError):
        Checkpoint("o\nx", 1, ROOT)
