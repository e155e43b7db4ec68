"""`receipts reconcile`: run the reconciliation job (pipelines/reconcile.py) over this home's
store, embedded or `gcp://`, with a progress bar, a summary per check and a JSON report.

Exit status: 0 when every check holds, 1 when anything does not, 2 when it could not run.
"""

import json
import sys
import tempfile
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from receipts.stores.keyring import KeyRing
from receipts_cli.home import Home, HomeBusy
from receipts_cli.terminal import err, out, shown

SHOWN = 50  # discrepancies printed; the report lists up to --max-listed


class CannotReconcile(click.ClickException):
    """The run could not finish, so nothing is proven either way."""

    exit_code = 2


@click.command()
@click.option(
    "--source",
    type=click.Choice(["store", "archive", "both"]),
    default="both",
    show_default=True,
    help="Copies of the receipts to check: the store's ledger, the archive, or both against each other. "
    "The state store (chain heads, balances, usage, idempotency rows) is always read.",
)
@click.option(
    "--archive",
    default=None,
    metavar="PATH_OR_GS_URL",
    help="The archive: a folder or gs://bucket/prefix (default: this home's archive/, or the gcp:// store's bucket).",
)
@click.option(
    "--jwks",
    default=None,
    metavar="FILE_OR_URL",
    help="JWKS to verify against: a file, e.g. https://SITE/.well-known/jwks.json, or gs://BUCKET/keys/jwks.json "
    "(default: this home's keys, retired ones included).",
)
@click.option("--report", "report_path", default=None, metavar="FILE", help="Write the JSON report here (or gs://…).")
@click.option(
    "--alert-topic",
    default=None,
    help="Publish one JSON summary to this Pub/Sub topic when anything is wrong: a topic name (gcp:// store) "
    "or projects/P/topics/T.",
)
@click.option(
    "--as-of",
    default=None,
    help="The cut (RFC 3339): state is read as of then; later receipts wait for the next run. Default: now.",
)
@click.option(
    "--settle-seconds",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Receipts processed this close to the cut may still be on their way to the archive or the ledger "
    "(a streaming job is writing).",
)
@click.option(
    "--max-listed", type=click.IntRange(min=1), default=1000, show_default=True, help="Discrepancies the report lists."
)
@click.option(
    "--freeze-on-failure",
    is_flag=True,
    help="On any discrepancy, freeze intake (nothing new is charged until `receipts intake resume`).",
)
@click.pass_obj
def reconcile(
    home: Home,
    source: str,
    archive: str | None,
    jwks: str | None,
    report_path: str | None,
    alert_topic: str | None,
    as_of: str | None,
    settle_seconds: int,
    max_listed: int,
    freeze_on_failure: bool,
) -> None:
    """Prove the ledger is whole: every chain contiguous and linked, every signature valid
    against the JWKS, balances and usage equal to the receipts, no key charged twice, the
    same receipts in the ledger, the archive and the state store, and each once in the
    transparency log, whose tiles make its latest checkpoint.

    Exit status 0 when every check holds, 1 when anything does not, 2 when it could not run."""
    from receipts.stores.public_keys import JwksUnavailable, load_jwks

    if jwks is None and not KeyRing(home.keys).exists():
        raise click.UsageError(f"no signing keys in {home.root}: pass --jwks FILE_OR_URL (e.g. the site's jwks.json)")
    try:
        load_jwks(jwks, str(home.keys))  # fail here, with a clear message, rather than in a worker
    except JwksUnavailable as error:
        raise CannotReconcile(str(error)) from error
    topic = _topic(home, alert_topic)
    with tempfile.TemporaryDirectory(prefix="receipts-reconcile-") as scratch:
        lock = nullcontext() if home.is_gcp else home.exclusive_run()  # a local run must not write meanwhile
        try:
            with lock:  # before Beam loads, so that a busy home refuses at once
                from pipelines.reconcile import ReconcileSettings

                try:
                    settings = ReconcileSettings(
                        store=home.store_url,
                        archive=archive or home.archive_url,
                        source=source,
                        jwks=jwks,
                        keys=None if jwks else str(home.keys),
                        report=report_path or str(Path(scratch) / "report.json"),
                        alert_topic=topic,
                        as_of=as_of or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        settle_seconds=settle_seconds,
                        max_listed=max_listed,
                        freeze_on_failure=freeze_on_failure,
                    ).checked()
                except ValueError as error:
                    raise click.UsageError(str(error)) from error
                _run_with_progress(settings)
        except HomeBusy as error:
            raise CannotReconcile(str(error)) from error
        report = _read_report(settings.report)
    _print_summary(report, report_path)
    if freeze_on_failure and not report["ok"]:
        _print_frozen(home)
    sys.exit(0 if report["ok"] else 1)


def _print_frozen(home: Home) -> None:
    """The job froze intake (pipelines.reconcile's FreezeIntakeOnFailure): say so and what next."""
    from receipts_cli.cloud import store_of

    state = store_of(home).intake()
    err.print(
        f"[red]Intake frozen[/] by {shown(state.changed_by)} at {shown(state.changed_at)}: {shown(state.reason)}",
        soft_wrap=True,
    )
    err.print("Nothing new is charged; mend the store, reconcile again, then `receipts intake resume`.", soft_wrap=True)


def _run_with_progress(settings) -> None:
    from pipelines.reconcile import run

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task("Reading the stores", total=None)

        def show(counts) -> None:
            listed, done = counts["customers_listed"], counts["customers_reconciled"]
            read = f"{counts['ledger_receipts_read']} ledger receipts and {counts['archive_lines_read']} archive lines"
            description = f"Read {read}; customers"
            progress.update(task, total=max(listed, done) or None, completed=done, description=description)

        try:
            run(settings, on_progress=show)
        except Exception as error:  # a store or the archive could not be read: nothing is proven
            raise CannotReconcile(f"the reconciliation could not finish: {str(error)[:500]}") from error


def _topic(home: Home, topic: str | None) -> str | None:
    if topic is None or topic.startswith("projects/"):
        return topic
    if not home.is_gcp:
        raise click.BadParameter("give the full name projects/PROJECT/topics/TOPIC", param_hint="--alert-topic")
    from receipts_cli.cloud import gcp_location

    return f"projects/{gcp_location(home).project}/topics/{topic}"


def _read_report(path: str) -> dict:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as handle:
        return json.loads(handle.read())


def _print_summary(report: dict, report_path: str | None) -> None:
    """The report for a reader. Ids, fields and reasons quote the stores: each is shown as text."""
    copies = {"both": f"{report['store']} and {report['archive']}", "store": report["store"]}
    read = copies.get(report["source"], report["archive"])
    out.print(f"Reconciliation of {shown(read)} as of {shown(report['as_of'])}")
    table = Table("check", "customers", "receipts", "discrepancies")
    for name, counts in report["checks"].items():
        found = counts["discrepancies"]
        table.add_row(
            name, str(counts["customers"]), str(counts["receipts"]), f"[red]{found}[/]" if found else "[green]0[/]"
        )
    out.print(table)
    for item in report["discrepancies"][:SHOWN]:
        out.print(
            f"[red]FAIL[/] {shown(item['check'])}: {shown(_named(item))}: {shown(item['reason'])}", soft_wrap=True
        )
    total = report["discrepancies_found"]
    if total > SHOWN:
        where = f" in {shown(report_path)}" if report_path else ": pass --report FILE"
        out.print(f"… and {total - SHOWN} more{where}")
    if report["set_aside"]:
        aside = ", ".join(f"{why.replace('_', ' ')} {count}" for why, count in report["set_aside"].items())
        out.print(f"Left for the next run: {shown(aside)}.")
    if report["ok"]:
        examined = f"{report['receipts']} receipt(s) of {report['customers']} customer(s)"
        out.print(f"[green]OK[/] every check holds: {examined}.")
    else:
        failing = [name for name, counts in report["checks"].items() if counts["discrepancies"]]
        out.print(f"[red]{total} discrepanc{'y' if total == 1 else 'ies'}[/] in {shown(', '.join(failing))}.")
    if report_path:
        err.print(f"Report: {shown(report_path)}")


def _named(item: dict) -> str:
    """Customer, receipt (its sequence; the copy at fault, and the receipt_id that copy states
    when its signature proves another receipt), and field of a discrepancy."""
    around = [] if item["sequence"] is None else [f"sequence {item['sequence']}"]
    if item.get("where"):
        stated = item.get("stated_receipt_id")
        around.append(item["where"] + (f", whose receipt_id is {stated}" if stated else ""))
    receipt = (item["receipt_id"] or "(no receipt)") + (f" ({'; '.join(around)})" if around else "")
    return f"{item['customer_id'] or '(no customer)'} {receipt} {item['field']}"


def register(main: click.Group) -> None:
    main.add_command(reconcile)
