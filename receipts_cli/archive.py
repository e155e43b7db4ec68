"""`receipts archive status|catch-up`: what the store holds and the archive does not yet, and
writing it (receipts.stores.archiving; the statements with receipts.stores.statement_files).
`receipts run` and `receipts stream` end with the same check: a run that could not archive
what it stored exits 1 and names the command that finishes the job."""

import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from receipts.stores.archiving import CatchUp, catch_up, open_writer
from receipts_cli.home import Home, store_of
from receipts_cli.terminal import err, out, shown

CATCH_UP = "receipts archive catch-up"


def archive_option(function):
    return click.option(
        "--archive",
        "archive_url",
        default=None,
        metavar="PATH_OR_GS_URL",
        help="The archive: a folder or gs://bucket/prefix (default: the home's archive/, or the gcp:// bucket).",
    )(function)


def caught_up(store, archive_url: str, what: str = "Archiving") -> CatchUp:
    """Catch the archive up with the store, with a progress bar of the receipts written."""
    total = store.unarchived_count()
    if not total:
        return CatchUp()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"{what} into {shown(archive_url)}", total=total)
        return catch_up(store, open_writer(archive_url), on_batch=lambda batch: progress.advance(task, batch.count))


def unarchived_problem(store, home: Home, done: CatchUp | None = None) -> str | None:
    """None when the archive holds every stored receipt; else what is missing, why if known,
    and the command that finishes the job."""
    left = store.unarchived_count()
    if not left:
        return None
    why = f" (the last attempt: {done.failed[0]})" if done and done.failed else ""
    command = f"receipts --home {home.root}" + (f" --store {home.store_url}" if home.store_url_override else "")
    return (
        f"{left} receipt(s) are stored but not in the archive{why}. Nothing is lost: they are in the store's "
        f"archive outbox. `{command} archive catch-up` writes them."
    )


@click.group()
def archive() -> None:
    """The receipt archive: what is stored and not archived yet, and writing it."""


@archive.command("status")
@click.pass_obj
def archive_status(home: Home) -> None:
    """How many stored receipts are not in the archive yet, and the batches pending. Exit 1
    when any are."""
    store = store_of(home)
    pending = store.pending_archive_batches()
    left = store.unarchived_count()
    out.print(f"{left} stored receipt(s) not in the archive yet ({shown(home.archive_url)}).")
    for batch in pending:
        out.print(shown(f"  pending batch {batch.batch_id}: {batch.count} receipt(s), planned {batch.planned_at}"))
    if left:
        err.print(f"`{CATCH_UP}` writes them.")
    sys.exit(1 if left else 0)


@archive.command("catch-up")
@archive_option
@click.pass_obj
def archive_catch_up(home: Home, archive_url: str | None) -> None:
    """Write every stored receipt that is not in the archive yet: batches a killed or failed
    run left pending, then everything past each customer's mark; then every statement the
    archive's statements/ lacks, and every key document (delegated keys' endorsements and
    revocations) its keys/ lacks (write-once: one that differs is named, never overwritten).
    Safe at any time, beside a running job and twice: nothing is archived twice. Exit 1 if
    anything is still not archived."""
    from receipts.stores.archives import open_key_document_archive, open_statement_archive
    from receipts.stores.key_document_files import KeyDocumentArchiveConflict, archive_key_documents
    from receipts.stores.statement_files import StatementArchiveConflict, archive_statements

    store = store_of(home)
    target = archive_url or home.archive_url
    done = caught_up(store, target)  # safe beside a running job: planning is transactional
    err.print(f"Archived {done.receipts} receipt(s) in {done.batches} batch(es) into {shown(target)}.")
    problem = unarchived_problem(store, home, done)
    try:
        statements = archive_statements(store.statements(), open_statement_archive(target))
        err.print(f"Archived {statements} statement(s) the archive lacked.")
    except StatementArchiveConflict as error:
        problem = problem or str(error)
    read_documents = getattr(store, "key_documents", None)  # stores that keep delegated keys
    try:
        documents = archive_key_documents(read_documents() if read_documents else [], open_key_document_archive(target))
        err.print(f"Archived {documents} key document(s) the archive lacked.")
    except KeyDocumentArchiveConflict as error:
        problem = problem or str(error)
    if problem:
        err.print(f"[red]{shown(problem)}[/]")
        sys.exit(1)
    err.print("[green]OK[/] the archive holds every stored receipt, statement and key document.")


def register(main: click.Group) -> None:
    main.add_command(archive)
