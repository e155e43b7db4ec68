"""Receipts signed through Cloud KMS end to end: the batch job signs with `--signer kms://…`
(the signer is built in the DoFn's setup() from the URL), `receipts keys jwks --kms-key`
publishes the key, `receipts verify` accepts every receipt, and the site's KmsKeySource
serves the same key so its verifier agrees."""

import json
from pathlib import Path

import grpc
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from click.testing import CliRunner

from receipts.keys import kid_of
from receipts_cli.main import main
from tests.conftest import event_bytes
from tests.kms.fake import LOG_VERSION, VERSION, FakeKms
from verifier_site import create_app


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    lines = [event_bytes(idempotent_key=f"e{i}", amount=f"{i + 1}.00") for i in range(6)]
    lines += [event_bytes(idempotent_key="e0", amount="1.00"), b"{broken"]  # a duplicate and a dead letter
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.beam
def test_batch_job_signed_by_kms_verifies_with_the_published_jwks(
    fake_kms: FakeKms, events: Path, home: Path, tmp_path: Path
) -> None:
    result = invoke(home, "run", "--input", str(events), "--signer", f"kms://{VERSION}")
    assert result.exit_code == 0, result.output
    assert not (home / "keys" / "keyring.json").exists()  # no local key was made or used
    assert fake_kms.sign_calls >= 6

    exported = invoke(home, "export")
    receipts = [json.loads(line) for line in exported.stdout_bytes.split(b"\n") if line]
    assert len(receipts) == 6
    assert {receipt["kid"] for receipt in receipts} == {kid_of(fake_kms.public_pem())}
    (tmp_path / "receipts.jsonl").write_bytes(exported.stdout_bytes)

    jwks = invoke(home, "keys", "jwks", "--kms-key", VERSION)
    assert jwks.exit_code == 0, jwks.output
    (tmp_path / "jwks.json").write_text(jwks.stdout)
    verified = invoke(home, "verify", str(tmp_path / "receipts.jsonl"), "--jwks", str(tmp_path / "jwks.json"))
    assert verified.exit_code == 0, verified.output
    assert "OK 6 receipt(s) verified" in verified.output

    pem = invoke(home, "keys", "pem", "--kms-key", VERSION)
    assert pem.stdout.encode() == fake_kms.public_pem()

    # The site, on the same store, with the KMS key as its only key source.
    app = create_app({"STORE_URL": f"sqlite:///{home / 'receipts.db'}", "KMS_KEY_VERSIONS": [VERSION]})
    client = app.test_client()
    published = client.get("/.well-known/jwks.json").json
    assert published == json.loads(jwks.stdout)
    kid = published["keys"][0]["kid"]
    assert client.get(f"/v1/keys/{kid}.pem").data == fake_kms.public_pem()
    answer = client.post("/v1/verify", data=exported.stdout_bytes, content_type="application/x-ndjson").json
    assert answer["ok"] is True, answer
    assert client.get("/healthz").status_code == 200


def test_site_is_not_ready_while_kms_refuses_the_public_key(fake_kms: FakeKms, home: Path) -> None:
    app = create_app({"STORE_URL": f"sqlite:///{home / 'receipts.db'}", "KMS_KEY_VERSIONS": [VERSION]})
    fake_kms.failures = [grpc.StatusCode.PERMISSION_DENIED]
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.json["checks"]["keys"] == "unavailable"
    assert app.test_client().get("/healthz").status_code == 200  # fetched once it answers


def test_cli_says_what_to_fix_when_kms_refuses(fake_kms: FakeKms, home: Path) -> None:
    fake_kms.failures = [grpc.StatusCode.PERMISSION_DENIED]
    result = invoke(home, "keys", "jwks", "--kms-key", VERSION)
    assert result.exit_code == 1
    assert "roles/cloudkms.publicKeyViewer" in result.output
    bad = invoke(home, "keys", "jwks", "--kms-key", "projects/p/cryptoKeys/k")
    assert bad.exit_code == 1 and "not a KMS key version" in bad.output


def test_streaming_job_builds_from_its_options_with_a_kms_signer(fake_kms: FakeKms) -> None:
    from pipelines.streaming import pipeline_from_options

    options = [
        "--store=gcp://billing-test",
        f"--signer=kms://{VERSION}",
        "--archive=gs://billing-test-archive/receipts",
        "--subscription=projects/billing-test/subscriptions/billing-events-sub",
        "--dead_letter_topic=projects/billing-test/topics/billing-events-dead",
        "--log_origin=billing.test/log",
        f"--log_signer=kms://{LOG_VERSION}",
    ]
    pipeline = pipeline_from_options(PipelineOptions(options))
    labels = {node.full_label for node in pipeline._current_transform().parts}
    assert {"ReadFromPubSub", "Charge", "ArchiveReceipts", "LogReceipts", "PublishDeadLetters"} <= labels
    assert fake_kms.public_key_calls == 1  # the kid comes from the key itself, at launch; the log key at setup

    with pytest.raises(ValueError, match=r"needs --store, --log_origin, --log_signer, --subscription$"):
        pipeline_from_options(PipelineOptions(options[1:3]))
