"""What the command prints: pipeline runs and verification results. Every value from a
file or a store goes through `shown` (receipts_cli.terminal)."""

import logging
from collections import Counter
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from receipts.reading import Unreadable
from receipts.verify import Verification
from receipts_cli.home import Home, store_of
from receipts_cli.terminal import err, out, shown


def run_pipeline(
    home: Home, input_path: str, signer: str | None = None, workers: int | None = None, clock=None
) -> Counter:
    """The batch job over a file; signed with `signer` (a signer URL) or the home's current key,
    in `workers` processes (None: one per core, or 1 for a small file; 1: in this process;
    pipelines/workers.py), each
    receipt's processed_at from `clock` (None: now; transforms.chain.FixedClock for a run to
    compare). The home's run lock comes first: a busy home refuses at once, not after Beam has
    loaded. A progress bar shows the job's tally as its workers count (transforms.tally)."""
    from receipts_cli.log import log_identity

    with home.exclusive_run():
        log_origin, log_signer = log_identity(home, store_of(home))
        with err.status("Loading Beam…", spinner="dots"):
            from pipelines.batch import Settings  # Beam loads only for commands that run it
            from pipelines.batch import start as start_batch
            from pipelines.workers import default_workers

            kid = None if signer else home.keyring().current_kid
            lines = _count_lines(input_path)
            settings = Settings(
                str(Path(input_path).resolve()),
                home.store_url,
                str(home.keys),
                kid,
                home.archive_url,
                signer=signer,
                log_origin=log_origin,
                log_signer=log_signer,
                log_witnesses=home.log_witnesses,
                log_witness_quorum=home.log_witness_quorum,
                workers=workers or default_workers(lines),
                clock=clock,
            )
            logging.getLogger().setLevel(logging.ERROR)  # Beam's import-time chatter is not for users
            result = start_batch(settings)
        return _with_progress(result, lines, f"Charging {shown(input_path)}")


def _with_progress(result, lines: int, description: str) -> Counter:
    """Wait for a started job, showing events read, receipts written and archived."""
    from pipelines.progress import wait_reporting

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "events read · {task.fields[written]} receipts written · {task.fields[archived]} archived"
            " · {task.fields[logged]} logged"
        ),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(description, total=lines, written=0, archived=0, logged=0)
        wait_reporting(result, _live_counts, lambda counts: _show(progress, task, counts))
    return pipeline_counts(result)


def _show(progress: Progress, task, counts: Counter) -> None:
    read = counts["events_valid"] + counts["events_invalid"]
    progress.update(
        task,
        completed=read,
        written=counts["receipts_written"],
        archived=counts["receipts_archived"],
        logged=counts["receipts_logged"],
    )


def _count_lines(path: str) -> int:
    """Non-empty lines, as ReadJsonLines counts them."""
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.removesuffix(b"\n").removesuffix(b"\r"))


def _live_counts(result) -> Counter:
    """How far a started job is: a BackgroundRun's tally, or a DirectRunner job's counters."""
    counts = getattr(result, "counts", None)
    return counts() if counts is not None else pipeline_counts(result)


def pipeline_counts(result) -> Counter:
    """The job's "receipts" counters (Beam metrics), summed over steps."""
    from apache_beam.metrics.metric import MetricsFilter

    counts: Counter = Counter()
    for counter in result.metrics().query(MetricsFilter().with_namespace("receipts"))["counters"]:
        counts[counter.key.metric.name] += counter.committed or 0
    return counts


def print_run_summary(counts: Counter) -> None:
    table = Table(title="Pipeline run", show_header=False)
    rows = [
        ("valid events", counts["events_valid"]),
        ("dead letters (invalid messages)", counts["events_invalid"]),
        ("duplicates (no new charge)", counts["duplicates"]),
        ("idempotency conflicts (dead letters)", counts["idempotency_conflicts"]),
        ("receipts accepted", counts["receipts_accepted"]),
        ("receipts rejected (signed, nothing charged)", counts["receipts_rejected"]),
        ("receipts written", counts["receipts_written"]),
        ("receipts already present (replay)", counts["receipts_already_present"]),
        ("receipt conflicts (dead letters)", counts["receipt_conflicts"]),
    ]
    if counts["ledger_conflicts"]:
        rows.append(("ledger conflicts (logged; the stored receipt stands)", counts["ledger_conflicts"]))
    if counts["events_held_frozen"]:
        rows.append(("events held: intake frozen (dead letters, nothing charged)", counts["events_held_frozen"]))
    rows.append(("receipts archived", counts["receipts_archived"]))
    rows.append(("receipts logged (transparency log)", counts["receipts_logged"]))
    for label, value in rows:
        table.add_row(label, str(value))
    err.print(table)
    held = counts["events_held_frozen"]
    dead = counts["events_invalid"] + counts["idempotency_conflicts"] + counts["receipt_conflicts"] + held
    if dead:
        err.print(f"{dead} message(s) became dead letters: see them with `receipts dead-letters`.")
    if held:
        err.print(
            f"Intake was frozen during the run: {held} event(s) held. After `receipts intake resume`, "
            "charge them with `receipts dead-letters replay --reason intake_frozen`.",
            soft_wrap=True,
        )


def report_verification(results: list[Verification], unreadable: list[Unreadable], quiet: bool = False) -> int:
    """Print one line per failing check and a summary; return how many items failed. Ids,
    kids and reasons quote the input: each is shown as text."""
    for item in unreadable:
        out.print(f"[red]FAIL[/] line {item.line}: {shown(item.reason)}", soft_wrap=True)
    for result in results:
        for check in result.failures:
            out.print(f"[red]FAIL[/] {shown(result.named())}: {check.check}: {shown(check.reason)}", soft_wrap=True)
    failed = len(unreadable) + sum(not result.ok for result in results)
    if failed:
        out.print(f"[red]{failed} of {len(results) + len(unreadable)} receipt(s) failed verification.[/]")
    elif not quiet:
        checks = sorted({check.check for result in results for check in result.checks})
        out.print(f"[green]OK[/] {len(results)} receipt(s) verified: {shown(', '.join(checks))}.")
    return failed
