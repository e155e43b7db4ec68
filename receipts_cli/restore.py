"""`receipts restore`: rebuild this home's store (embedded or `gcp://`) from the verified
archive, in this order: the receipts with the restore job (pipelines/restore.py), then the
statements (receipts.stores.statements_restore), then the transparency log (whose leaves
are receipts' and statements' hashes); with a progress bar, a summary table and a JSON report.

Exit status: 0 every customer restored, 1 any customer cut short or left unrestored, a
statement not restored, the log refused (or an archive line unreadable), 2 it could not run.
"""

import json
import sys
import tempfile
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from receipts.stores.keyring import KeyRing
from receipts.stores.log_locations import log_url
from receipts_cli.home import Home, HomeBusy
from receipts_cli.log import log
from receipts_cli.terminal import err, out, shown

SHOWN = 50  # problems printed; the report lists up to 1000


class CannotRestore(click.ClickException):
    """The run could not finish: some customers may be restored, others not; run it again."""

    exit_code = 2


@click.command()
@click.option(
    "--from",
    "archive",
    default=None,
    metavar="PATH_OR_GS_URL",
    help="The archive to restore from: a folder or gs://bucket/prefix "
    "(default: this home's archive/, or the gcp:// store's bucket).",
)
@click.option(
    "--jwks",
    default=None,
    metavar="FILE_OR_URL",
    help="JWKS to verify against, e.g. https://SITE/.well-known/jwks.json "
    "(default: this home's keys, retired ones included).",
)
@click.option(
    "--log-vkey",
    default=None,
    metavar="VKEY",
    help="The transparency log's verifier key (`receipts log info` prints it), to check the published "
    "checkpoints the log's tables are rebuilt from (default: this home's log key).",
)
@click.option("--report", "report_path", default=None, metavar="FILE", help="Write the JSON report here (or gs://…).")
@click.pass_obj
def restore(home: Home, archive: str | None, jwks: str | None, log_vkey: str | None, report_path: str | None) -> None:
    """Rebuild a damaged store from the verified archive: ledger entries, idempotency rows,
    chain heads, balances and entitlement usage; then the statements and their periods'
    closes from the archive's statements/ (each verified against the restored chain and the
    statement before it); then the transparency log's tables from the log's published tiles
    and checkpoints beside the archive (verified with the log's key, so that `receipts log
    integrate` continues the same log; its leaves include the statements). Every archived
    receipt is verified first; a customer whose archived chain fails is restored up to the
    last good receipt, and nothing unverified is written. Restoring twice changes nothing.

    Freeze intake first (`receipts intake freeze`), and run `receipts reconcile` after.
    Entitlement limits and API keys are not in the archive.

    Exit status 0 all restored, 1 any customer cut short or left unrestored, a statement not
    restored or the log refused, 2 could not run."""
    from receipts.stores.public_keys import JwksUnavailable, load_jwks

    if jwks is None and not KeyRing(home.keys).exists():
        raise click.UsageError(f"no signing keys in {home.root}: pass --jwks FILE_OR_URL (e.g. the site's jwks.json)")
    try:
        load_jwks(jwks, str(home.keys))  # fail here, with a clear message, rather than in a worker
    except JwksUnavailable as error:
        raise CannotRestore(str(error)) from error
    source = archive or home.archive_url
    if not source.startswith("gs://") and not Path(source).is_dir():
        raise CannotRestore(f"no archive at {source}: pass --from PATH_OR_GS_URL")
    _warn_unless_frozen(home)
    with tempfile.TemporaryDirectory(prefix="receipts-restore-") as scratch:
        try:
            with home.exclusive_run():  # no pipeline of this home writes while the store is rebuilt
                from pipelines.restore import Settings

                settings = Settings(
                    store=home.store_url,
                    archive=source,
                    jwks=jwks,
                    keys=None if jwks else str(home.keys),
                    report=report_path or str(Path(scratch) / "report.json"),
                ).checked()
                _run_with_progress(settings)
                statements = _restore_statements(home, source, jwks)  # before the log: they are leaves of it
                logged = _restore_log(home, log_url(source), log_vkey)
        except HomeBusy as error:
            raise CannotRestore(str(error)) from error
        report = _read_report(settings.report)
        report["statements"] = statements.report()
        report["log"] = logged.report()
        report["ok"] = report["ok"] and statements.ok and logged.ok
        _write_report(settings.report, report)
    _print_summary(report, report_path)
    sys.exit(0 if report["ok"] else 1)


def _restore_statements(home: Home, source: str, jwks: str | None):
    """The statements, from the archive's statements/ (receipts.stores.statement_files), each
    verified against the chain just restored (receipts.stores.statements_restore)."""
    from receipts.stores import open_store
    from receipts.stores.archives import open_statement_archive
    from receipts.stores.public_keys import load_jwks
    from receipts.stores.statements_restore import restore_statements

    store = open_store(home.store_url)
    try:
        with err.status("Restoring the statements from the archive…", spinner="dots"):
            try:
                return restore_statements(store, open_statement_archive(source), load_jwks(jwks, str(home.keys))[0])
            except Exception as error:  # the store or the archive could not be read or written
                raise CannotRestore(
                    f"the statements' restore could not finish: {str(error)[:500]}. The receipts are restored; "
                    "run it again"
                ) from error
    finally:
        store.close()


def _warn_unless_frozen(home: Home) -> None:
    """Restore while events are being charged races the charging job: say so."""
    from receipts.stores import open_store

    store = open_store(home.store_url)
    try:
        state, problem = store.intake(), None
    except Exception as error:  # the intake row unreadable: warn, the restore itself decides
        state, problem = None, str(error)[:200]
    finally:
        store.close()
    if state is not None and state.frozen:
        err.print(f"Intake is frozen ({shown(state.reason)}): nothing new is charged meanwhile.")
        return
    why = "intake is open" if state is not None else f"the intake state could not be read ({shown(problem)})"
    err.print(
        f"[yellow]Warning:[/] {why}: events charged while the store is rebuilt may be refused. "
        "Freeze it first: `receipts intake freeze --reason restore`."
    )


def _run_with_progress(settings) -> None:
    from pipelines.restore import run

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("Reading the archive", total=None)

        def show(counts) -> None:
            progress.update(
                task,
                description=f"Read {counts['archive_lines_read']} archive lines; verified "
                f"{counts['receipts_verified']} receipts; restored {counts['customers_restored']} customers",
            )

        try:
            run(settings, on_progress=show)
        except Exception as error:  # the store or the archive could not be read or written
            raise CannotRestore(
                f"the restore could not finish: {str(error)[:500]}. What was restored is right; run it again"
            ) from error


def _restore_log(home: Home, where: str, vkey: str | None):
    """Rebuild the store's log tables from the log's published files at `where`."""
    from receipts.stores import open_store
    from receipts.stores.log_locations import open_log_files
    from receipts.stores.log_restore import NOTHING, REFUSED, LogRestore, restore_log

    store = open_store(home.store_url)
    files = open_log_files(where)
    try:
        try:
            verifier = _log_verifier(home, store, vkey)
        except ValueError as error:  # no key: fine while nothing of a log is published
            if not any(path.startswith(("tile/", "checkpoints/")) for path in files.paths()):
                return LogRestore(NOTHING, where)
            return LogRestore(REFUSED, where, reason=str(error))
        with err.status(f"Verifying the transparency log at {shown(where)}"):
            return restore_log(store, files, verifier)
    finally:
        store.close()


def _log_verifier(home: Home, store, vkey: str | None):
    """The log's key: --log-vkey, else this home's (never a new one: a restore makes no key)."""
    from receipts.stores.log_signers import log_signer_from_url, vkey_of
    from receipts.tlog.note_keys import NoteKeyError, NoteVerifier, parse_private_key

    try:
        if vkey:
            return NoteVerifier.from_vkey(vkey)
        key = home.log_folder / "log.key"
        if home.log_signer_override:
            origin = home.log_origin_override or (home.log_folder / "origin").read_text().strip()
            return NoteVerifier.from_vkey(vkey_of(log_signer_from_url(home.log_signer_override, origin)))
        if key.exists():
            return NoteVerifier(parse_private_key(key.read_text()).public)
    except (NoteKeyError, OSError, TypeError) as error:
        raise ValueError(f"the log's key is unusable: {error}; pass --log-vkey VKEY") from error
    raise ValueError(f"no log key in {home.log_folder}: pass --log-vkey VKEY (what `receipts log info` printed)")


def _write_report(path: str, report: dict) -> None:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(path) as handle:
        handle.write(json.dumps(report, indent=2, sort_keys=True).encode() + b"\n")


def _read_report(path: str) -> dict:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as handle:
        return json.loads(handle.read())


def _print_summary(report: dict, report_path: str | None) -> None:
    """The report for a reader. Ids and reasons quote the archive and the store: shown as text."""
    out.print(f"Restore of {shown(report['store'])} from {shown(report['archive'])}")
    written = report["written"]
    table = Table("what", "count")
    rows = [
        ("customers in the archive", report["customers"]),
        ("customers restored", report["customers_restored"]),
        ("customers where anything changed", report["customers_changed"]),
        ("archived receipts verified", report["receipts_verified"]),
        ("receipts past the archive kept from the store", report["receipts_kept_from_store"]),
        ("ledger entries written (missing)", written["ledger_written"]),
        ("ledger entries replaced (differed)", written["ledger_replaced"]),
        ("idempotency rows written", written["idempotency_written"]),
        ("idempotency rows replaced", written["idempotency_replaced"]),
        ("idempotency rows past their TTL (not written)", written["idempotency_expired"]),
        ("chain head, balance and usage rows written", written["state_written"]),
        ("duplicate archive lines (harmless)", report["duplicate_lines"]),
    ]
    for label, value in rows:
        table.add_row(label, shown(value))
    out.print(table)
    shown_problems = 0
    for item in report["cut_short"]:
        if shown_problems < SHOWN:
            through = item["restored_through"] if item["restored_through"] is not None else 0
            out.print(
                f"[red]CUT SHORT[/] {shown(item['customer_id'])}: restored through sequence {shown(through)}; "
                f"sequence {shown(item['sequence'])} ({shown(item['where'])}) "
                f"{shown(item['check'])}: {shown(item['reason'])}",
                soft_wrap=True,
            )
        shown_problems += 1
    for item in report["refused"]:
        if shown_problems < SHOWN:
            out.print(f"[red]NOT RESTORED[/] {shown(item['customer_id'])}: {shown(item['reason'])}", soft_wrap=True)
        shown_problems += 1
    for item in report["unreadable"]:
        if shown_problems < SHOWN:
            out.print(f"[red]UNREADABLE[/] {shown(item['reason'])}", soft_wrap=True)
        shown_problems += 1
    if report["problems_found"] > SHOWN:
        where = f" in {shown(report_path)}" if report_path else ": pass --report FILE"
        out.print(f"… and {report['problems_found'] - SHOWN} more{where}")
    _print_statements(report.get("statements"))
    _print_log(report.get("log"))
    out.print(shown(report["not_in_archive"]))
    if report["ok"]:
        out.print(
            f"[green]OK[/] {shown(report['customers_restored'])} customer(s) restored. Next: `receipts reconcile`."
        )
    elif report["problems_found"] == 0 and not (report.get("statements") or {}).get("ok", True):
        out.print(
            "[red]The store's receipts are restored; the statements named above are not[/]: nothing unverified "
            "was written. Look at their archived objects before closing another period."
        )
    elif report["problems_found"] == 0:
        out.print(
            "[red]The store's receipts are restored; its transparency log is not[/]: nothing of it was written. "
            "Look at the log's files named above; `receipts log integrate` would refuse them too."
        )
    else:
        out.print(
            f"[red]{shown(report['problems_found'])} customer(s) or line(s) not fully restored[/]: nothing unverified "
            "was written; what was restored is right. Next: `receipts reconcile`, and look at the customers named."
        )
    if report_path:
        err.print(f"Report: {shown(report_path)}")


def _print_statements(statements: dict | None) -> None:
    if statements is None:
        return
    out.print(
        f"Statements: {shown(statements['archived'])} archived, {shown(statements['kept'])} kept as stored, "
        f"{shown(statements['written'])} written back, {shown(statements['replaced'])} replaced (differed), "
        f"{shown(statements['closes'])} period close(s) written back, {shown(statements['closes_replaced'])} "
        f"replaced (from {shown(statements['where'])}).",
        soft_wrap=True,
    )
    for reason in statements["refused"][:SHOWN]:
        out.print(f"[red]STATEMENT NOT RESTORED[/] {shown(reason)}", soft_wrap=True)
    if len(statements["refused"]) > SHOWN:
        out.print(f"… and {len(statements['refused']) - SHOWN} more statement(s) not restored: see the report")


def _print_log(log: dict | None) -> None:
    if log is None:
        return
    where, outcome = shown(log["where"]), log["outcome"]
    if outcome == "refused":
        out.print(f"[red]LOG NOT RESTORED[/] from {where}: {shown(log['reason'])}", soft_wrap=True)
    elif outcome == "nothing_published":
        out.print(f"Transparency log: nothing published at {where}; `receipts log integrate` starts it.")
    elif outcome == "intact":
        out.print(f"Transparency log: the store's log ({shown(log['size'])} entries) is the published one: kept.")
    else:
        adopted = f", {shown(log['adopted'])} adopted past it" if log["adopted"] else ""
        out.print(
            f"Transparency log rebuilt from {where}: {shown(log['size'])} entries (checkpoint "
            f"{shown(log['signed'])} verified{adopted}), {shown(log['checkpoints'])} checkpoint(s) kept, "
            f"{shown(log['customers'])} customer mark(s). `receipts log integrate` continues it.",
            soft_wrap=True,
        )


@click.command("restore")
@click.option(
    "--from",
    "archive",
    default=None,
    metavar="PATH_OR_GS_URL",
    help="The archive whose log to restore from (default: this home's archive/, or the gcp:// store's bucket).",
)
@click.option("--log-vkey", default=None, metavar="VKEY", help="The log's verifier key (default: this home's).")
@click.pass_obj
def log_restore(home: Home, archive: str | None, log_vkey: str | None) -> None:
    """Only the last step of `receipts restore`: rebuild the store's transparency-log tables
    from the log's published files, verified (after a restore job run on Dataflow, say).
    Exit 0 rebuilt, kept or nothing published, 1 refused."""
    try:
        with home.exclusive_run():
            logged = _restore_log(home, log_url(archive or home.archive_url), log_vkey)
    except HomeBusy as error:
        raise CannotRestore(str(error)) from error
    _print_log(logged.report())
    sys.exit(0 if logged.ok else 1)


def register(main: click.Group) -> None:
    main.add_command(restore)
    log.add_command(log_restore)  # `log restore` in the `log` group (receipts_cli.log)
