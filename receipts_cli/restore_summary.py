"""What `receipts restore` prints: the receipts' table and problems, the statements' line and
the ones not restored, the log's outcome, and what to do next. Everything quoted from the
archive or the store is shown as text (receipts_cli.terminal.shown)."""

from rich.table import Table

from receipts_cli.restore_keys import print_key_documents
from receipts_cli.terminal import err, out, shown

SHOWN = 50  # problems printed; the report lists up to 1000


def print_summary(report: dict, report_path: str | None) -> None:
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
    print_statements(report.get("statements"))
    print_key_documents(report.get("key_documents"))
    print_log(report.get("log"))
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
    elif report["problems_found"] == 0 and not (report.get("key_documents") or {}).get("ok", True):
        out.print(
            "[red]The store's receipts are restored; the key documents named above are not[/]: nothing unverified "
            "was written. Look at their archived objects (keys/) before the log's restore or signing again."
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


def print_statements(statements: dict | None) -> None:
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


def print_log(log: dict | None) -> None:
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
