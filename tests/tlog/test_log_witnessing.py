"""The log's side of tlog-witness (receipts.stores.witnessing): each checkpoint goes to the
witnesses with the consistency proof from the size each last cosigned; a 409 is followed,
every cosignature is checked, and a checkpoint below the quorum is published flagged."""

import pytest

from receipts.stores.log_files import FolderLogFiles
from receipts.stores.log_sequencer import integrate_log
from receipts.stores.sqlite import SqliteStore
from receipts.stores.witnessing import WitnessEndpoint, Witnesses, WitnessPolicy, parse_witness
from receipts.tlog.cosignatures import CosignatureSigner, open_witnessed_checkpoint
from receipts.tlog.note_keys import COSIGNATURE_V1, NoteSigner, generate_key
from receipts.tlog.witness import MemoryWitnessState, Witness
from receipts_cli.witness_server import create_witness_app
from tests.test_archive_outbox import chain
from tests.tlog.witnessing import Log, witness_signer


class Served:
    """Witnesses as the log reaches them: URL -> a Flask test client of the real app."""

    def __init__(self) -> None:
        self.apps: dict[str, object] = {}
        self.requests: list[tuple[str, bytes]] = []

    def add(self, url: str, witness: Witness) -> None:
        self.apps[url] = create_witness_app(witness).test_client()

    def post(self, url: str, body: bytes) -> tuple[int, str, bytes]:
        self.requests.append((url, body))
        base = url.removesuffix("/add-checkpoint")
        if base not in self.apps:
            raise OSError(f"connection refused: {base}")
        answer = self.apps[base].post("/add-checkpoint", data=body)
        return answer.status_code, answer.mimetype, answer.data


def a_witness(log: Log, name: str, served: Served, url: str) -> tuple[Witness, WitnessEndpoint]:
    signer = CosignatureSigner(generate_key(name, COSIGNATURE_V1), clock=lambda: 1767225600)
    witness = Witness.for_vkeys(signer, [log.signer.verifier.key.vkey], MemoryWitnessState())
    served.add(url, witness)
    return witness, WitnessEndpoint(signer.vkey, url)


def test_each_checkpoint_is_cosigned_by_every_witness_with_proofs_from_their_sizes() -> None:
    log, served = Log().grow(5), Served()
    endpoints = [a_witness(log, f"w{n}.example", served, f"http://w{n}.example")[1] for n in (1, 2)]
    policy = WitnessPolicy(tuple(endpoints), quorum=2)
    witnesses = Witnesses(policy, served.post)
    first = witnesses.cosign(log.note(), 5, log.hashes)
    assert first.quorum_met and first.cosigned_by == ["w1.example", "w2.example"] and not first.failures
    log.grow(12)
    second = witnesses.cosign(log.note(), 12, log.hashes)
    assert second.quorum_met
    assert [body.split(b"\n", 1)[0] for _, body in served.requests[-2:]] == [b"old 5", b"old 5"]
    opened = open_witnessed_checkpoint(second.note, [log.signer.verifier], [e.verifier for e in endpoints], 2)
    assert opened.checkpoint.size == 12 and set(opened.cosigned_by) == {"w1.example", "w2.example"}


def test_a_409_is_followed_with_the_proof_from_the_witness_size() -> None:
    log, served = Log().grow(8), Served()
    witness, endpoint = a_witness(log, "w.example", served, "http://w.example")
    assert witness.add_checkpoint(log.body(0)).status == 200  # the witness saw size 8 before this log process
    log.grow(20)
    result = Witnesses(WitnessPolicy((endpoint,), 1), served.post).cosign(log.note(), 20, log.hashes)
    assert result.quorum_met
    assert [body.split(b"\n", 1)[0] for _, body in served.requests] == [b"old 0", b"old 8"]


def test_an_unreachable_or_lying_witness_is_a_failure_and_the_checkpoint_is_flagged() -> None:
    log, served = Log().grow(3), Served()
    _, good = a_witness(log, "good.example", served, "http://good.example")
    down = WitnessEndpoint(witness_signer().vkey, "http://down.example")
    impostor_key = CosignatureSigner(generate_key("liar.example", COSIGNATURE_V1)).vkey
    a_witness(log, "liar.example", served, "http://liar.example")  # answers with its own key, not the one we trust
    liar = WitnessEndpoint(impostor_key, "http://liar.example")
    result = Witnesses(WitnessPolicy((good, down, liar), 2), served.post).cosign(log.note(), 3, log.hashes)
    assert result.cosigned_by == ["good.example"]
    assert set(result.failures) == {"witness.example/w1", "liar.example"}
    assert "unreachable" in result.failures["witness.example/w1"]
    assert "no valid cosignature" in result.failures["liar.example"]
    assert not result.quorum_met
    assert result.note.count(b"\n\xe2\x80\x94 ") == 2  # the log's signature and the one good cosignature


def test_a_fork_is_refused_by_the_witness_and_not_cosigned() -> None:
    log, served = Log().grow(6), Served()
    _, endpoint = a_witness(log, "w.example", served, "http://w.example")
    witnesses = Witnesses(WitnessPolicy((endpoint,), 1), served.post)
    assert witnesses.cosign(log.note(), 6, log.hashes).quorum_met
    fork = Log(signer=log.signer, salt=b"other").grow(9)
    result = witnesses.cosign(fork.note(), 9, fork.hashes)
    assert not result.quorum_met and "422" in result.failures["w.example"]


@pytest.mark.parametrize("spec", ["", "nohttp", "w+1234abcd+AAAA@ftp://x", "not-a-vkey@http://x", "@http://x"])
def test_witness_specs_are_refused_unless_vkey_at_http_url(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_witness(spec)


def test_a_witness_spec_and_the_default_quorum() -> None:
    vkey = witness_signer().vkey
    policy = WitnessPolicy.parse([f"{vkey}@https://w.example/witness/"])
    assert policy.witnesses == (WitnessEndpoint(vkey, "https://w.example/witness"),) and policy.quorum == 1
    with pytest.raises(ValueError, match="quorum"):
        WitnessPolicy.parse([f"{vkey}@https://w.example"], quorum=2)


def test_the_sequencer_keeps_and_publishes_the_cosigned_checkpoint(tmp_path, signer) -> None:
    origin = "receipts.local/witnessed"
    store = SqliteStore(f"sqlite:///{tmp_path / 'receipts.db'}")
    files = FolderLogFiles(tmp_path / "log")
    log_key = NoteSigner(generate_key(origin))
    served = Served()
    witness_key = CosignatureSigner(generate_key("w.example", COSIGNATURE_V1), clock=lambda: 1767225600)
    served.add("http://w.example", Witness.for_vkeys(witness_key, [log_key.verifier.key.vkey], MemoryWitnessState()))
    witnesses = Witnesses(WitnessPolicy((WitnessEndpoint(witness_key.vkey, "http://w.example"),), 1), served.post)
    store.write_receipts(chain(signer, "cust_1", 4))
    run = integrate_log(store, files, log_key, origin, witnesses=witnesses)
    assert run.ok and run.witnessing.quorum_met and run.size == 4
    kept = store.latest_checkpoint()
    assert kept == run.checkpoint == (tmp_path / "log" / "checkpoint").read_bytes()
    opened = open_witnessed_checkpoint(kept, [log_key.verifier], [witness_key.verifier], 1)
    assert opened.cosigned_by == {"w.example": 1767225600}
    served.apps.clear()  # the witness goes away: the log still charges, logs and publishes, flagged
    store.write_receipts(chain(signer, "cust_1", 2, start=4))
    run = integrate_log(store, files, log_key, origin, witnesses=witnesses)
    assert run.ok and run.size == 6 and not run.witnessing.quorum_met
    assert store.latest_checkpoint() == run.checkpoint
