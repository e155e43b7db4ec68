"""The subscription keeps what it must (issue 15): no dead-letter or retry policy on the one
Dataflow reads (Dataflow supports neither), acked messages retained so a failover can seek
back, an alert on the oldest unacked message age that the runbook explains, and the
scripted seek (terraform/scripts/failover-seek.sh) that docs/DEPLOY.md's failover runs."""

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.test_terraform import TERRAFORM, blocks, resources_of, unquote

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "terraform/scripts/failover-seek.sh"


def test_the_job_subscription_has_no_dead_letter_or_retry_policy_and_retains_acked_messages() -> None:
    pubsub = TERRAFORM / "modules/pubsub"
    subscriptions = resources_of(pubsub / "main.tf")["google_pubsub_subscription"]
    events = subscriptions["events"]
    assert "dead_letter_policy" not in events and "retry_policy" not in events
    assert events["retain_acked_messages"] is True
    assert events["message_retention_duration"] == "${var.message_retention}"
    assert unquote(blocks(pubsub, "variable")["message_retention"]["default"]) == "604800s"
    # The dead-letter topic stays (the job publishes its own dead letters), and its subscription.
    assert unquote(subscriptions["dead_letters"]["name"]) == "${var.dead_letter_topic_name}-sub"
    assert "max_delivery_attempts" not in blocks(pubsub, "variable")


def test_receipts_init_creates_the_subscription_terraform_does() -> None:
    from receipts_cli import provision

    assert set(provision.SUBSCRIPTION_SETTINGS) == {
        "ack_deadline_seconds", "retain_acked_messages", "message_retention_duration",
    }  # fmt: skip
    assert provision.SUBSCRIPTION_SETTINGS["retain_acked_messages"] is True
    terraform_retention = unquote(blocks(TERRAFORM / "modules/pubsub", "variable")["message_retention"]["default"])
    assert f"{provision.RETENTION_SECONDS}s" == terraform_retention


def test_oldest_unacked_message_age_alerts_at_a_threshold_variable() -> None:
    monitoring = TERRAFORM / "modules/monitoring"
    policies = resources_of(monitoring / "main.tf")["google_monitoring_alert_policy"]
    variables = blocks(monitoring, "variable")
    for name, threshold in (("backlog", "backlog_seconds"), ("backlog_near_retention", "backlog_critical_seconds")):
        [condition] = policies[name]["conditions"]
        [rule] = condition["condition_threshold"]
        assert "pubsub.googleapis.com/subscription/oldest_unacked_message_age" in rule["filter"]
        assert "${var.subscription_name}" in rule["filter"]
        assert rule["threshold_value"] == f"${{var.{threshold}}}"
        assert "default" in variables[threshold]
        [documentation] = policies[name]["documentation"]
        assert "${local.runbook}events-waiting-in-pubsub" in documentation["content"]
    assert variables["backlog_critical_seconds"]["default"] < 7 * 86400


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_alert_links_a_runbook_section_that_exists() -> None:
    text = (TERRAFORM / "modules/monitoring/main.tf").read_text()
    linked = set(re.findall(r"\$\{local\.runbook\}([\w-]+)", text)) | set(re.findall(r'runbook\s*=\s*"([\w-]+)"', text))
    assert "events-waiting-in-pubsub" in linked
    missing = linked - anchors((ROOT / "docs/RUNBOOK.md").read_text())
    assert missing == set(), missing


def test_the_failover_script_is_shellcheck_clean() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/bin/sh\n") and "\nset -eu\n" in text
    assert os.access(SCRIPT, os.X_OK)
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    done = subprocess.run([shellcheck, "-s", "sh", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def run_script(*arguments: str, path: str | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run(
        ["sh", str(SCRIPT), *arguments], capture_output=True, text=True, check=False, env=environment, timeout=30
    )


def test_the_failover_script_seeks_to_the_failure_time_minus_the_latency(tmp_path: Path) -> None:
    failed = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    seek = (failed - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stamp = failed.strftime("%Y-%m-%dT%H:%M:%SZ")
    dry = run_script("--failure-time", stamp, "--max-latency", "15m", "--project", "p1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"Seek to:              {seek}" in dry.stdout
    assert f"gcloud pubsub subscriptions seek billing-events-sub --time={seek} --project=p1" in dry.stdout
    assert "Dry run: nothing was changed." in dry.stdout

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "gcloud").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/called\n')
    (fake / "gcloud").chmod(0o755)
    done = run_script(
        "--failure-time", stamp, "--max-latency", "900", "--subscription", "s2", path=f"{fake}:{os.environ['PATH']}"
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "called").read_text().split() == ["pubsub", "subscriptions", "seek", "s2", f"--time={seek}"]
    assert f"Done: the subscription is at {seek}." in done.stdout


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--max-latency", "15m"], "--failure-time and --max-latency are required"),
        (["--failure-time", "yesterday-ish", "--max-latency", "15m"], "not an RFC 3339 time"),
        (["--failure-time", "2026-01-01T00:00:00Z", "--max-latency", "15 minutes"], "not a duration"),
        (["--failure-time", "2000-01-01T00:00:00Z", "--max-latency", "15m"], "more than 7 days ago"),
        (["--failure-time", "2999-01-01T00:00:00Z", "--max-latency", "15m"], "in the future"),
    ],
)
def test_the_failover_script_refuses_what_it_cannot_do(arguments: list[str], says: str, tmp_path: Path) -> None:
    done = run_script(*arguments, "--dry-run", path=f"{tmp_path}:/usr/bin:/bin")  # no gcloud on PATH
    assert done.returncode == 2 and says in done.stderr, (done.stdout, done.stderr)


def test_deploy_states_the_failover_rpo_and_rto_and_runs_the_script() -> None:
    deploy = (ROOT / "docs/DEPLOY.md").read_text()
    assert "terraform/scripts/failover-seek.sh --failure-time" in deploy
    assert "RPO" in deploy and "RTO" in deploy and "retain_acked_messages" in deploy
    assert "dead letters after 5 attempts" not in deploy and "retry policy and" not in deploy
