"""`receipts statements close|list|export`: billing periods (pipelines/statements.py), and
the statements part of `receipts verify`."""

import dataclasses
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table

from receipts.records import export_line
from receipts.statements import Period, is_statement, parse_duration, verify_held_statements
from receipts.statements.periods import close_order_problem, close_time_problem
from receipts.stores.signers import key_file_url
from receipts.stores.statement_files import StatementArchiveConflict
from receipts_cli.cloud import signer_option, store_of
from receipts_cli.home import Home, HomeBusy
from receipts_cli.terminal import err, out, shown


@click.group("statements")
def statements() -> None:
    """Billing periods: close a month into one signed statement per customer, list and export them."""


def _period(_context, _param, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(Period.parse(value))
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@statements.command("close")
@click.option("--period", required=True, callback=_period, help="The month to close, YYYY-MM (UTC), e.g. 2026-11.")
@click.option(
    "--grace",
    default="1h",
    show_default=True,
    help="How long after the period's end late events may still arrive before it closes (s, m, h or d).",
)
@signer_option
@click.pass_obj
def close(home: Home, period: str, grace: str, signer: str | None) -> None:
    """Issue one signed statement per customer for PERIOD: its receipts, late ones marked, and
    per currency what was charged, credited and is due. Closing a period again returns the
    same statements; periods close in order, and a statement is never amended."""
    try:
        grace_time = parse_duration(grace)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--grace") from error
    store = store_of(home)
    if store.period_closed_at(period) is None:
        closed = [Period.parse(p) for p in store.closed_periods()]
        problem = close_order_problem(Period.parse(period), closed) or close_time_problem(
            Period.parse(period), datetime.now(UTC), grace_time
        )
        if problem:
            raise click.ClickException(problem)
    try:
        with home.exclusive_run():
            with err.status("Loading Beam…", spinner="dots"):
                from pipelines.statements import StatementSettings, run, statement_counts

                logging.getLogger().setLevel(logging.ERROR)
                signer_url = signer or key_file_url(home.keys, home.keyring().current_kid)
                settings = StatementSettings(home.store_url, period, signer_url, grace_time, home.archive_url)
            with err.status(f"Closing {period}…", spinner="dots"):
                try:
                    counts = statement_counts(run(settings))
                except StatementArchiveConflict as error:  # the archive holds another statement: never overwritten
                    raise click.ClickException(f"the close of {period} stopped: {error}") from error
        with home.exclusive_run():
            from receipts_cli.log import integrated, unlogged_problem

            run_log = integrated(home, store, "Logging the statements")  # each statement is a leaf of the log
    except HomeBusy as error:
        raise click.ClickException(str(error)) from error
    issued, kept = counts["statements_issued"], counts["statements_already_issued"]
    err.print(
        f"{period} closed at {shown(store.period_closed_at(period))}: {issued} statement(s) issued"
        + (f", {kept} issued before" if kept else "")
        + f", {counts['lines']} line(s)."
    )
    _print_table(list(store.statements(period=period)))
    problem = unlogged_problem(store, home, run_log)
    if problem:
        err.print(f"[red]{shown(problem)}[/]")
        sys.exit(1)


@statements.command("list")
@click.option("--customer", default=None, help="Only this customer's statements.")
@click.option("--period", default=None, callback=_period, help="Only this period's (YYYY-MM).")
@click.pass_obj
def list_statements(home: Home, customer: str | None, period: str | None) -> None:
    """The statements issued, per customer and period, with their totals."""
    _print_table(list(_statements(home, customer, period)))


@statements.command("export")
@click.option("--customer", default=None, help="Only this customer's statements.")
@click.option("--period", default=None, callback=_period, help="Only this period's (YYYY-MM).")
@click.option(
    "--with-receipts",
    is_flag=True,
    help="Also each customer's receipts from sequence 1 through the last statement's close (and the one after "
    "it, when there is one): what `receipts verify` needs to recompute every line and total.",
)
@click.pass_obj
def export(home: Home, customer: str | None, period: str | None, with_receipts: bool) -> None:
    """Statements as JSON lines (body fields, statement_hash, signature), like `receipts export`."""
    store = store_of(home)
    chosen = list(_statements(home, customer, period))
    sink = sys.stdout.buffer
    if with_receipts:
        reach: dict[str, int] = {}
        for statement in chosen:
            name = statement["customer_id"]
            reach[name] = max(reach.get(name, 0), statement["closing_sequence"] + 1)
        for name, through in sorted(reach.items()):
            for receipt in store.receipts(name):
                if receipt["sequence"] > through:
                    break
                sink.write(export_line(receipt))
    for statement in chosen:
        sink.write(export_line(statement))
    sink.flush()


def _statements(home: Home, customer: str | None, period: str | None):
    return store_of(home).statements(customer, period)


def _print_table(rows: list[dict]) -> None:
    if not rows:
        err.print("No statements.")
        return
    table = Table("statement", "customer", "period", "lines", "late", "net due", "closed at")
    for row in rows:
        totals = row["totals"]
        net = ", ".join(f"{totals[c]['net']} {c}" for c in sorted(totals)) or "nothing"
        late = sum(entry["late_lines"] for entry in totals.values())
        table.add_row(
            *map(
                shown,
                (row["statement_id"], row["customer_id"], row["period"], str(row["line_count"]), str(late), net),
            ),
            shown(row["closed_at"]),
        )
    out.print(table)


def split_statements(items: list) -> tuple[list, list]:
    """(statements, everything else) of what a verified file holds, each in order."""
    return [item for item in items if is_statement(item)], [item for item in items if not is_statement(item)]


def report_statements(
    statements: list, receipts: list, jwks, quiet: bool, more_checks: Callable[[Any, Any], Iterable] | None = None
) -> int:
    """Verify the statements a file holds against its receipts (and, with `more_checks`, the
    checks it adds to each result: the log's); print failures (and a summary line); return
    how many failed."""
    if not statements:
        return 0
    results = verify_held_statements(statements, receipts, jwks)
    if more_checks is not None:
        results = [
            dataclasses.replace(result, checks=result.checks + tuple(more_checks(result, statement)))
            for result, statement in zip(results, statements, strict=True)
        ]
    for result in results:
        for check in result.failures:
            out.print(f"[red]FAIL[/] {shown(result.named())}: {check.check}: {shown(check.reason)}", soft_wrap=True)
        if not quiet:
            for check in result.checks:
                if check.ok and check.reason.startswith("not checked"):
                    out.print(f"[yellow]note[/] {shown(result.named())}: {check.check}: {shown(check.reason)}")
    failed = sum(not result.ok for result in results)
    if failed:
        out.print(f"[red]{failed} of {len(results)} statement(s) failed verification.[/]")
    elif not quiet:
        logged = any(check.check == "log_inclusion" for result in results for check in result.checks)
        in_log = ", each in the transparency log" if logged else ""
        out.print(f"[green]OK[/] {len(results)} statement(s) verified: lines, totals and links recomputed{in_log}.")
    return failed


def register(main: click.Group) -> None:
    main.add_command(statements)
