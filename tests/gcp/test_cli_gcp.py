"""The `receipts` command on `--store gcp://PROJECT`, against the emulators."""

import json
from pathlib import Path

from click.testing import CliRunner
from google.cloud import pubsub_v1

from receipts.stores.gcp.location import GcpLocation
from receipts_cli.main import main
from tests.conftest import event_bytes


def invoke(home: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False, env=env)


def test_init_is_idempotent_and_commands_use_the_gcp_store(emulators, tmp_path: Path) -> None:
    home, store = tmp_path / "home", "gcp://receipts-cli-test"
    first = invoke(home, "--store", store, "init")
    assert first.exit_code == 0, first.output
    assert "created Spanner database receipts" in first.output
    again = invoke(home, "--store", store, "init")
    assert again.exit_code == 0 and "kept Spanner database receipts (exists)" in again.output

    result = invoke(
        home,
        "--store",
        store,
        "entitlements",
        "set",
        "--customer",
        "c1",
        "--entitlement",
        "e1",
        "--limit",
        "10.00",
        "--currency",
        "EUR",
    )
    assert result.exit_code == 0, result.output
    assert "e1" in invoke(home, "--store", store, "entitlements", "list").output

    events = tmp_path / "events.jsonl"
    events.write_bytes(event_bytes(idempotent_key="k1") + b"\n" + b"{not json\n")
    published = invoke(home, "--store", store, "publish", "--input", str(events))
    assert published.exit_code == 0, published.output
    assert "Published 2 message(s)" in published.output
    subscriber = pubsub_v1.SubscriberClient()
    subscription = f"projects/{GcpLocation.parse(store).project}/subscriptions/billing-events-sub"
    response = subscriber.pull(subscription=subscription, max_messages=10, timeout=10)
    attributes = sorted((dict(m.message.attributes) for m in response.received_messages), key=len)
    assert attributes == [{}, {"idempotent_key": "k1", "customer_id": "cust_1"}]

    assert invoke(home, "--store", store, "export").output == ""
    assert invoke(home, "--store", store, "dead-letters").output == ""


def test_stream_runs_until_the_receipts_are_written_and_prints_counts(cloud, tmp_path: Path) -> None:
    home = cloud.keys.folder.parent  # the session key ring's home: the job signs with its current key
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(event_bytes(idempotent_key=f"k{n}", amount="1.00") for n in range(5)) + b"\n")
    assert invoke(home, "--store", cloud.url, "publish", "--input", str(events)).exit_code == 0
    result = invoke(
        home, "--store", cloud.url, "stream", "--until-receipts", "5", "--run-for", "300", "--archive-window", "2"
    )
    assert result.exit_code == 0, result.output
    assert "receipts written" in result.output
    exported = [json.loads(line) for line in invoke(home, "--store", cloud.url, "export").output.splitlines()]
    assert [r["sequence"] for r in exported] == [1, 2, 3, 4, 5]


def test_status_without_emulators_and_a_missing_cloud_sdk(tmp_path: Path) -> None:
    status = invoke(tmp_path, "emulators", "status")
    assert status.exit_code == 0 and "pubsub     stopped" in status.output
    missing = invoke(tmp_path, "emulators", "up", env={"PATH": str(tmp_path)})
    assert missing.exit_code == 1
    assert "Google Cloud CLI" in missing.output and "install" in missing.output
    assert invoke(tmp_path, "emulators", "down").output.strip() == "No emulator of this home was running."
