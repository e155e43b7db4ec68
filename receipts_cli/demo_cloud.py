"""`receipts demo --emulators`: the same demo through Pub/Sub and the streaming job, into
Spanner, Firestore and Cloud Storage on the local emulators."""

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console

from receipts.events import Event, parse_event
from receipts.producer.publisher import (
    DEAD_LETTER_TOPIC,
    SUBSCRIPTION,
    TOPIC,
    jsonl_messages,
    publish_lines,
    topic_path,
)
from receipts_cli.console import pipeline_counts
from receipts_cli.emulators import DEFAULT_PROJECT, EmulatorError, Emulators
from receipts_cli.home import Home
from receipts_cli.terminal import err, shown

DEMO_PROJECT = DEFAULT_PROJECT
DEMO_STORE = f"gcp://{DEMO_PROJECT}"
ARCHIVE_WINDOW_SECONDS = 5
LOG_INTERVAL_SECONDS = 2
PATIENCE_SECONDS = 240


def prepare_emulators(home: Home, console: Console) -> Home:
    """Start this home's emulators if they are not running, point this process at them,
    and create the topic, subscription, database and bucket. Returns the gcp:// home."""
    from receipts.stores.gcp.location import GcpLocation
    from receipts_cli.provision import init

    try:
        with err.status("Starting the Google Cloud emulators…") as status:
            Emulators(home.emulators).up(DEMO_PROJECT, progress=lambda text: status.update(shown(text) + "…"))
    except EmulatorError as error:
        raise click.ClickException(f"receipts demo --emulators: {error}") from error
    cloud = replace(home, store_url_override=home.store_url_override if home.is_gcp else DEMO_STORE)
    cloud.use_running_emulators()
    init(GcpLocation.parse(cloud.store_url), report=lambda _: None)
    console.print(
        f"Emulators up for {shown(cloud.root)} (stop them with `receipts --home {shown(cloud.root)} emulators down`)."
    )
    return cloud


def stream_until_done(home: Home, events: Path, console: Console) -> Counter:
    """Publish the sample, run the streaming job until every message is processed and the
    archive has caught up with the ledger (or PATIENCE_SECONDS pass), then stop it."""
    from pipelines.local_runner import stop
    from pipelines.streaming import StreamSettings, start
    from receipts.stores import open_store
    from receipts.stores.archives import archived_receipts
    from receipts.stores.gcp.location import GcpLocation
    from receipts_cli.log import log_identity

    location = GcpLocation.parse(home.store_url)
    log_origin, log_signer = log_identity(home, open_store(home.store_url))
    lines = list(jsonl_messages(events))
    publish_lines(location.project, TOPIC, lines)
    console.print(f"Published {len(lines)} messages to {shown(topic_path(location.project, TOPIC))}.")
    expected = len({(e.customer_id, e.idempotent_key) for e in map(parse_event, lines) if isinstance(e, Event)})
    settings = StreamSettings(
        subscription=f"projects/{location.project}/subscriptions/{SUBSCRIPTION}",
        store=home.store_url,
        keys=str(home.keys),
        kid=home.keyring().current_kid,
        archive=location.archive_url,
        dead_letter_topic=topic_path(location.project, DEAD_LETTER_TOPIC),
        archive_window_seconds=ARCHIVE_WINDOW_SECONDS,
        log_origin=log_origin,
        log_signer=log_signer,
        log_witnesses=home.log_witnesses,
        log_witness_quorum=home.log_witness_quorum,
        log_interval=LOG_INTERVAL_SECONDS,
    )
    store = open_store(home.store_url)
    with home.exclusive_run():
        result = start(settings)
        deadline = time.monotonic() + PATIENCE_SECONDS
        with err.status("Streaming…") as status:
            while time.monotonic() < deadline:
                time.sleep(2)
                counts = pipeline_counts(result)
                seen = counts["events_valid"] + counts["events_invalid"]
                stored = sum(1 for _ in store.receipts())
                archived = len(archived_receipts(home.archive_url)[1])
                status.update(
                    f"Streaming: {seen}/{len(lines)} messages, {stored}/{expected} receipts in the ledger, "
                    f"{archived} archived…"
                )
                if seen >= len(lines) and stored >= expected and archived >= stored:
                    break
        with err.status("Stopping the streaming job…"):
            stop(result)
    return pipeline_counts(result)
