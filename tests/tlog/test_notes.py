"""Signed notes and their keys (receipts/tlog/notes.py, note_keys.py): the examples of the
C2SP spec and of Go's sumdb/note documentation open, keys round-trip in Go's string
forms, and hostile notes fail as MalformedNote, never otherwise."""

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receipts.tlog.note_keys import (
    COSIGNATURE_V1,
    ED25519,
    NoteKeyError,
    NoteSigner,
    NoteVerifier,
    PrivateKey,
    generate_key,
    key_id,
    parse_private_key,
    parse_vkey,
)
from receipts.tlog.notes import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    InvalidSignature,
    MalformedNote,
    NoteError,
    Signature,
    UnverifiedNote,
    is_valid_key_name,
    open_note,
    parse_signature_lines,
    sign_note,
    with_signature_lines,
)

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n— example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
GO_NOTE = f"{GO_TEXT}\n— PeterNeumann {GO_SIGNATURE}\n".encode()


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner(generate_key("billing.example/log"))


def test_the_specs_example_opens() -> None:
    note = open_note(SPEC_NOTE, [NoteVerifier.from_vkey(SPEC_VKEY)])
    assert note.text == "This is an example message.\n"
    assert [(s.name, s.key_id.hex()) for s in note.signatures] == [("example.com/foo", "530d903a")]


def test_gos_documented_key_signs_gos_documented_note() -> None:
    """note.NewSigner's example key: our private key format is Go's, and Ed25519 is deterministic."""
    key = parse_private_key(GO_SKEY)
    assert key.private_key_string == GO_SKEY and key.public.vkey == GO_VKEY
    assert sign_note(GO_TEXT, [NoteSigner(key)]) == GO_NOTE
    assert open_note(GO_NOTE, [NoteVerifier.from_vkey(GO_VKEY)]).text == GO_TEXT


def test_keys_round_trip(signer: NoteSigner) -> None:
    key = signer.key
    assert parse_private_key(key.private_key_string) == key
    assert parse_vkey(key.public.vkey) == key.public
    assert key.key_id == key_id("billing.example/log", ED25519, key.public.public_key)
    assert repr(key.seed) not in repr(key) and "seed" not in repr(key)
    witness = generate_key("w.example", COSIGNATURE_V1)
    assert parse_vkey(witness.public.vkey).key_type == COSIGNATURE_V1
    with pytest.raises(NoteKeyError):
        NoteVerifier(witness.public)  # a cosignature key does not verify note signatures


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "example.com/foo",
        "example.com/foo+530d903a",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # upper-case hex
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # another key's ID
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",  # short
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l",  # non-canonical base64
        "example.com/foo+530d903a+BekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # another type byte
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "x" * 2000,
    ],
)
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteKeyError):
        parse_vkey(vkey)


@pytest.mark.parametrize(
    "skey",
    [
        GO_SKEY.replace("PRIVATE+KEY", "PUBLIC+KEY"),
        GO_SKEY.replace("c74f20a3", "c74f20a4"),
        GO_SKEY[:-1],
        GO_SKEY.replace("+AYEK", "+BYEK"),
    ],
)
def test_malformed_private_keys_are_refused(skey: str) -> None:
    with pytest.raises(NoteKeyError):
        parse_private_key(skey)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("example.com/log", True),
        ("é.example", True),
        ("", False),
        ("a+b", False),
        ("a b", False),
        ("a\u00a0b", False),
        ("a\u2003b", False),
        ("a\u3000b", False),
        ("a\tb", False),
        ("a\x01b", False),
        ("a\x1fb", False),
    ],
)
def test_key_names(name: str, valid: bool) -> None:
    assert is_valid_key_name(name) is valid
    if not valid:
        with pytest.raises(NoteKeyError):
            PrivateKey(name, ED25519, bytes(32))


def test_signers_known_unknown_and_forged(signer: NoteSigner) -> None:
    other = NoteSigner(generate_key("other.example"))
    impostor = NoteSigner(generate_key("billing.example/log"))  # the same name, another key (ID)
    message = sign_note("hello\n\nworld\n", [signer, other, impostor])
    note = open_note(message, [signer.verifier])
    assert note.text == "hello\n\nworld\n"
    assert [s.name for s in note.signatures] == ["billing.example/log"]
    assert {s.name for s in note.unverified} == {"other.example", "billing.example/log"}
    with pytest.raises(UnverifiedNote):
        open_note(message, [NoteSigner(generate_key("stranger.example")).verifier])
    forged = message.replace(b"hello", b"HELLO")
    with pytest.raises(InvalidSignature):
        open_note(forged, [signer.verifier])
    line = Signature(signer.name, signer.key_id, bytes(64)).line.encode()
    with pytest.raises(InvalidSignature):  # a good signature and a bad one by the same key: refused
        open_note(message + line, [signer.verifier])
    again = open_note(message + message.split(b"\n\n")[-1].split(b"\n")[0] + b"\n", [signer.verifier])
    assert len(again.signatures) == 1  # the same signature twice counts once


def test_appending_cosignature_lines(signer: NoteSigner) -> None:
    message = sign_note("text\n", [signer])
    other = NoteSigner(generate_key("other.example"))
    line = Signature(other.name, other.key_id, other.sign(b"text\n")).line.encode()
    combined = with_signature_lines(message, line)
    assert len(open_note(combined, [signer.verifier, other.verifier]).signatures) == 2
    for bad in (b"not a line\n", b"\xe2\x80\x94 x AAAA\n", line[:-1], line + b"\x1b[31m\n"):
        with pytest.raises(MalformedNote):
            with_signature_lines(message, bad)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.replace(b"\n\n", b"\n"),  # no blank line
        lambda m: m[:-1],  # no final newline
        lambda m: m.replace(b"hello", b"hel\rlo"),  # a control character
        lambda m: m.replace(b"hello", b"hel\x00lo"),
        lambda m: m.replace(b"hello", b"hel\xfflo"),  # not UTF-8
        lambda m: m.replace(b"hello", b"hel\xed\xa0\x80lo"),  # a surrogate
        lambda m: m.replace("—".encode(), b"-"),  # no em dash
        lambda m: m.replace("— ".encode(), "—  ".encode()),  # an empty name
        lambda m: m[:-3] + b"!\n",  # not base64
        lambda m: m.replace(b"\n\n", b"\n\n\xe2\x80\x94 x AAAA\n"),  # a signature of 3 bytes
        lambda m: m + m.split(b"\n\n")[1] * MAX_SIGNATURES,  # too many signatures
        lambda m: m.replace(b"hello", b"h" * MAX_NOTE_BYTES),  # too large
        lambda m: m + b"\n",  # an empty signature line
    ],
)
def test_malformed_notes_are_refused(signer: NoteSigner, mutate) -> None:
    message = sign_note("hello\n", [signer])
    with pytest.raises(MalformedNote):
        open_note(mutate(message), [signer.verifier])


def test_what_can_be_signed(signer: NoteSigner) -> None:
    for text in ("no newline", "tab\there\n", ""):
        with pytest.raises(MalformedNote):
            sign_note(text, [signer])
    with pytest.raises(ValueError):
        sign_note("text\n", [])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_bytes_open_or_fail_as_a_note_error(signer: NoteSigner, data: bytes) -> None:
    for message in (data, sign_note("x\n", [signer]) + data, data + b"\n\n" + sign_note("x\n", [signer])):
        try:
            open_note(message, [signer.verifier])
        except NoteError as error:
            assert error.reason


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=80))
def test_any_text_signs_and_opens_as_itself(signer: NoteSigner, text: str) -> None:
    assert open_note(sign_note(text + "\n", [signer]), [signer.verifier]).text == text + "\n"


def test_signature_lines_parse_strictly() -> None:
    raw = base64.b64encode(b"\x01\x02\x03\x04sig").decode()
    assert parse_signature_lines(f"— a.example {raw}\n") == [Signature("a.example", b"\x01\x02\x03\x04", b"sig")]
    for block in (f"— a.example {raw}", f"— a.example  {raw}\n", f"— a.example {raw} \n", f"—a.example {raw}\n"):
        with pytest.raises(MalformedNote):
            parse_signature_lines(block)
