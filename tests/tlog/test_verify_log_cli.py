"""`receipts verify FILE --log SITE_OR_HOME` on a home the real jobs charged, logged and
closed a period of: every receipt and statement in the signed log passes; one the checkpoint
does not hold yet, a forged checkpoint signature, a pinned key the log did not sign with, a
cosignature short of the quorum and a tile that does not make the root each fail by name
(exit 1); the same through the real Flask site over HTTP, and an unreachable site exits 2."""

import base64
import contextlib
import json
import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.tlog.cosignatures import CosignatureSigner
from receipts.tlog.note_keys import COSIGNATURE_V1, NoteSigner, generate_key, parse_private_key
from receipts.tlog.notes import with_signature_lines
from receipts.tlog.witness import MemoryWitnessState, Witness
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.site.conftest import serve
from tests.test_cli import write_events
from verifier_site import create_app

pytestmark = pytest.mark.beam

FIRST_RUN, SECOND_RUN = 260, 40  # two entry bundles, the second partial
OCTOBER = "2026-10-03T10:00:00Z"


def receipts(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def said(result) -> str:
    return " ".join(result.output.split())


def events(path: Path, keys: range) -> Path:
    lines = [
        event_bytes(idempotent_key=f"k{n}", customer_id=f"cust_{n % 2}", amount="1.00", timestamp=OCTOBER) for n in keys
    ]
    return write_events(path, lines)


@pytest.fixture(scope="module")
def charged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home of 300 receipts (two runs: 260, then 40) and October's two statements, all logged."""
    folder = tmp_path_factory.mktemp("charged")
    home = folder / "home"
    for name, keys in (("a", range(FIRST_RUN)), ("b", range(FIRST_RUN, FIRST_RUN + SECOND_RUN))):
        ran = receipts(home, "run", "--input", str(events(folder / f"{name}.jsonl", keys)))
        assert ran.exit_code == 0, ran.output
    closed = receipts(home, "statements", "close", "--period", "2026-10")
    assert closed.exit_code == 0, closed.output
    exported = receipts(home, "statements", "export", "--with-receipts")
    assert exported.exit_code == 0, exported.output
    (folder / "export.jsonl").write_bytes(exported.stdout_bytes)
    return home


@pytest.fixture
def home(charged: Path, tmp_path: Path) -> Path:
    """A copy of the charged home to change."""
    copy = tmp_path / "home"
    shutil.copytree(charged, copy)
    return copy


@pytest.fixture
def exported(charged: Path) -> Path:
    return charged.parent / "export.jsonl"


def vkey_of(home: Path) -> str:
    return parse_private_key((home / "log" / "log.key").read_text()).public.vkey


def published(home: Path) -> Path:
    return home / "archive" / "log" / "checkpoint"


def cosign(home: Path, witnesses: list[CosignatureSigner]) -> None:
    """The published checkpoint cosigned by each witness (receipts.tlog.witness, as `receipts
    witness serve` answers a first add-checkpoint request)."""
    note = published(home).read_bytes()
    for signer in witnesses:
        witness = Witness.for_vkeys(signer, [vkey_of(home)], MemoryWitnessState())
        answer = witness.add_checkpoint(b"old 0\n\n" + note)
        assert answer.status == 200, answer.reason
        note = with_signature_lines(note, answer.body)
    published(home).write_bytes(note)


def witness(name: str) -> CosignatureSigner:
    return CosignatureSigner(generate_key(name, COSIGNATURE_V1), clock=lambda: 1_767_225_600)


def test_every_receipt_and_statement_in_the_log_passes(home: Path, exported: Path) -> None:
    result = receipts(home, "verify", str(exported), "--log", str(home), "--log-vkey", vkey_of(home))
    assert result.exit_code == 0, result.output
    text = said(result)
    assert f"OK {FIRST_RUN + SECOND_RUN} receipt(s) verified" in text and "log_inclusion" in text
    assert "OK 2 statement(s) verified: lines, totals and links recomputed, each in the transparency log" in text
    assert f"trusted log key {vkey_of(home)} (pinned with --log-vkey)" in text
    assert "checkpoint of 302 leaves" in text


def test_without_a_pin_the_output_says_which_key_was_trusted(home: Path, exported: Path) -> None:
    result = receipts(home, "verify", str(exported), "--log", str(home))
    assert result.exit_code == 0, result.output
    assert "(the home's" in said(result) and "not pinned, --log-vkey pins it" in said(result)


def test_what_the_checkpoint_does_not_hold_yet_fails_by_name(home: Path, exported: Path) -> None:
    shutil.copy(home / "archive" / "log" / "checkpoints" / str(FIRST_RUN), published(home))  # the log's older view
    result = receipts(home, "verify", str(exported), "--log", str(home), "--log-vkey", vkey_of(home))
    assert result.exit_code == 1
    text = said(result)
    assert text.count("log_inclusion: not in the log") == SECOND_RUN + 2  # the second run's, both statements
    assert f"{SECOND_RUN} of {FIRST_RUN + SECOND_RUN} receipt(s) failed verification" in text
    assert "2 of 2 statement(s) failed verification" in text


def test_a_forged_checkpoint_signature_fails(home: Path, exported: Path) -> None:
    text, _, line = published(home).read_text().partition("\n\n")
    name, encoded = line.removeprefix("— ").strip().split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[20] ^= 1
    published(home).write_text(f"{text}\n\n— {name} {base64.b64encode(bytes(raw)).decode()}\n")
    result = receipts(home, "verify", str(exported), "--log", str(home), "--log-vkey", vkey_of(home))
    assert result.exit_code == 1
    assert "FAIL log: log_checkpoint: bad signature" in said(result)
    assert "log_inclusion" not in said(result)  # no entry is looked up under an untrusted root


def test_a_pinned_key_the_log_did_not_sign_with_fails(home: Path, exported: Path) -> None:
    other = NoteSigner(generate_key(vkey_of(home).partition("+")[0])).verifier.key.vkey  # same name, another key
    result = receipts(home, "verify", str(exported), "--log", str(home), "--log-vkey", other)
    assert result.exit_code == 1
    text = said(result)
    assert f"FAIL log: log_checkpoint: not signed by the trusted log key {other}" in text
    assert f"the log names another key, {vkey_of(home)}; trusting the pinned one" in text


def test_a_cosignature_short_of_the_quorum_fails(home: Path, exported: Path) -> None:
    first, second = witness("w1.test"), witness("w2.test")
    cosign(home, [first])
    policy = ["--log-witness", f"{first.vkey}@http://w1.test", "--log-witness", f"{second.vkey}@http://w2.test"]
    short = receipts(home, *policy, "verify", str(exported), "--log", str(home), "--log-vkey", vkey_of(home))
    assert short.exit_code == 1
    assert "FAIL log: log_witnesses: 1 of 2 cosignatures (w1.test), quorum 2" in said(short)
    assert "log_inclusion" in said(short)  # the log signed the root: its entries are still checked
    enough = receipts(home, *policy, "verify", str(exported), "--log", str(home), "--quorum", "1")
    assert enough.exit_code == 0, enough.output


def test_a_tampered_cosignature_counts_for_nothing(home: Path, exported: Path) -> None:
    signer = witness("w1.test")
    cosign(home, [signer])
    note = published(home).read_text()
    line = note.splitlines()[-1]
    name, encoded = line.removeprefix("— ").split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    published(home).write_text(note.replace(line, f"— {name} {base64.b64encode(bytes(raw)).decode()}"))
    policy = ["--log-witness", f"{signer.vkey}@http://w1.test"]
    result = receipts(home, *policy, "verify", str(exported), "--log", str(home))
    assert result.exit_code == 1
    assert "log_witnesses: 0 of 1 cosignatures, quorum 1; the cosignature of w1.test does not verify" in said(result)


def test_a_tile_that_does_not_make_the_root_fails(home: Path, exported: Path) -> None:
    tile = home / "archive" / "log" / "tile" / "0" / "000"
    data = tile.read_bytes()
    tile.chmod(0o644)
    tile.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    result = receipts(home, "verify", str(exported), "--log", str(home))
    assert result.exit_code == 1 and "FAIL log: log_tiles:" in said(result)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_of(home: Path, **config):
    """The real verifier site over the home's store, keys and published log."""
    settings = {
        "STORE_URL": f"sqlite:///{(home / 'receipts.db').resolve()}",
        "KEYS_FOLDER": str(home / "keys"),
        "LOG_URL": str(home / "archive" / "log"),
        "LOG_VKEY": vkey_of(home),
        "LOG_CACHE_SECONDS": 0,
        "SECRET_KEY": b"x",
        **config,
    }
    return contextlib.contextmanager(serve)(create_app(settings))


def test_through_the_site_every_entry_is_proven_from_its_public_files(home: Path, exported: Path) -> None:
    with site_of(home) as base:
        jwks = home.parent / "jwks.json"
        jwks.write_bytes(json.dumps(json.loads(receipts(home, "keys", "jwks").stdout)).encode())
        pin = ["--log-vkey", vkey_of(home)]
        pinned = receipts(home, "verify", str(exported), "--jwks", str(jwks), "--log", base, *pin)
        assert pinned.exit_code == 0, pinned.output
        assert "OK 2 statement(s) verified" in said(pinned) and "(pinned with --log-vkey)" in said(pinned)
        named = receipts(home, "verify", str(exported), "--log", base)
        assert named.exit_code == 0 and f"named by {base}/v1/log: not pinned" in said(named)
        other = NoteSigner(generate_key(vkey_of(home).partition("+")[0])).verifier.key.vkey
        wrong = receipts(home, "verify", str(exported), "--log", base, "--log-vkey", other)
        assert wrong.exit_code == 1 and "log_checkpoint: not signed by the trusted log key" in said(wrong)
        (home / "archive" / "log" / "tile" / "entries" / "001.p" / "46").unlink()  # the last bundle gone
        gone = receipts(home, "verify", str(exported), "--log", base)
        assert gone.exit_code == 1 and "FAIL log: log_tiles:" in said(gone)


def test_the_sites_witness_policy_is_the_one_checked(home: Path, exported: Path) -> None:
    signer = witness("w1.test")
    with site_of(home, LOG_WITNESSES=[signer.vkey], LOG_WITNESS_QUORUM=1) as base:
        short = receipts(home, "verify", str(exported), "--log", base)
        overridden = receipts(home, "verify", str(exported), "--log", base, "--quorum", "0")
    assert short.exit_code == 1 and "FAIL log: log_witnesses: 0 of 1 cosignatures, quorum 1" in said(short)
    assert overridden.exit_code == 0, overridden.output


def test_a_site_that_rate_limits_is_waited_out(home: Path, exported: Path) -> None:
    with site_of(home, RATE_LIMIT_IP=(2, 4.0)) as base:  # fewer requests a burst than the look-up makes
        result = receipts(home, "verify", str(exported), "--log", base)
    assert result.exit_code == 0, result.output


def test_an_unreachable_site_exits_2(home: Path, exported: Path) -> None:
    result = receipts(home, "verify", str(exported), "--log", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2 and "The log cannot be read" in said(result)
