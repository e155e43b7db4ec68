"""`receipts restore`: rebuild this home's store (embedded or `gcp://`) from the verified
archive, in this order: the key documents of delegated keys (receipts_cli.restore_keys: the
receipts' keys are endorsed there), the receipts with the restore job (pipelines/restore.py),
the statements (receipts.stores.statements_restore), then the transparency log (whose leaves
are receipts', statements' and key documents' hashes); with a progress bar, a summary table and a JSON report.

Exit status: 0 every customer restored, 1 any customer cut short or left unrestored, a
statement or key document not restored, the log refused (or an archive line unreadable), 2 it could not run.
"""

import json
import sys
import tempfile
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from receipts.stores.keyring import KeyRing
from receipts.stores.log_locations import log_url
from receipts_cli.home import Home, HomeBusy
from receipts_cli.log import log
from receipts_cli.restore_keys import from_archive_option, receipts_jwks, restore_key_documents_of
from receipts_cli.restore_summary import print_log, print_statements, print_summary
from receipts_cli.statements import statements as statements_group
from receipts_cli.terminal import err, shown


class CannotRestore(click.ClickException):
    """The run could not finish: some customers may be restored, others not; run it again."""

    exit_code = 2


@click.command()
@from_archive_option("The archive to restore from: a folder or gs://bucket/prefix")
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
    """Rebuild a damaged store from the verified archive: first the delegated keys'
    endorsements and revocations from the archive's keys/ (each verified with an HSM key of
    the JWKS; the keys they endorse verify the receipts too); then ledger entries, idempotency
    rows, chain heads, balances and entitlement usage; then the statements and their periods'
    closes from the archive's statements/ (each verified against the restored chain and the
    statement before it); then the transparency log's
    tables from the log's published tiles and checkpoints beside the archive (verified with
    the log's key, so that `receipts log integrate` continues the same log; its leaves include
    the statements and key documents). Every archived receipt is verified first; a customer
    whose archived chain fails is restored up to the last good receipt, and nothing
    unverified is written. Restoring twice changes nothing.

    Freeze intake first (`receipts intake freeze`), and run `receipts reconcile` after.
    Entitlement limits and API keys are not in the archive.

    Exit status 0 all restored, 1 any customer cut short or left unrestored, a statement or key
    document not restored or the log refused, 2 could not run."""
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

                # First the key documents: the receipts' delegated keys are endorsed there (and
                # they are leaves of the log); the receipts are verified with those keys too.
                documents = restore_key_documents_of(home, source, jwks, CannotRestore)
                verifying = receipts_jwks(home, jwks, Path(scratch)) or jwks
                settings = Settings(
                    store=home.store_url,
                    archive=source,
                    jwks=verifying,
                    keys=None if verifying else str(home.keys),
                    report=report_path or str(Path(scratch) / "report.json"),
                ).checked()
                _run_with_progress(settings)
                statements = _restore_statements(home, source, verifying)  # before the log: they are leaves of it
                logged = _restore_log(home, log_url(source), log_vkey)
        except HomeBusy as error:
            raise CannotRestore(str(error)) from error
        report = _read_report(settings.report)
        report["statements"] = statements.report()
        report["key_documents"] = documents.report()
        report["log"] = logged.report()
        report["ok"] = report["ok"] and statements.ok and documents.ok and logged.ok
        _write_report(settings.report, report)
    print_summary(report, report_path)
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


@click.command("restore")
@from_archive_option("The archive whose log to restore from")
@click.option("--log-vkey", default=None, metavar="VKEY", help="The log's verifier key (default: this home's).")
@click.pass_obj
def log_restore(home: Home, archive: str | None, log_vkey: str | None) -> None:
    """Only the last step of `receipts restore`: rebuild the store's transparency-log tables
    from the log's published files, verified (after a restore job run on Dataflow and
    `receipts statements restore`, say: the log's leaves include the statements).
    Exit 0 rebuilt, kept or nothing published, 1 refused."""
    try:
        with home.exclusive_run():
            logged = _restore_log(home, log_url(archive or home.archive_url), log_vkey)
    except HomeBusy as error:
        raise CannotRestore(str(error)) from error
    print_log(logged.report())
    sys.exit(0 if logged.ok else 1)


@click.command("restore")
@from_archive_option("The archive whose statements/ to restore from")
@click.option("--jwks", default=None, metavar="FILE_OR_URL", help="JWKS to verify against (default: this home's keys).")
@click.pass_obj
def statements_restore(home: Home, archive: str | None, jwks: str | None) -> None:
    """Only the statements' step of `receipts restore`: verify the archived statements against
    the store's chains and write back what the store lost or changed (after a restore job run
    on Dataflow, say; then `receipts log restore`). Exit 0 all restored or kept, 1 any not."""
    from receipts.stores.public_keys import JwksUnavailable, load_jwks

    try:
        load_jwks(jwks, str(home.keys))
    except JwksUnavailable as error:
        raise CannotRestore(str(error)) from error
    try:
        with home.exclusive_run():
            done = _restore_statements(home, archive or home.archive_url, jwks)
    except HomeBusy as error:
        raise CannotRestore(str(error)) from error
    print_statements(done.report())
    sys.exit(0 if done.ok else 1)


def register(main: click.Group) -> None:
    main.add_command(restore)
    log.add_command(log_restore)  # `log restore` in the `log` group (receipts_cli.log)
    statements_group.add_command(statements_restore)  # `statements restore` (receipts_cli.statements)
