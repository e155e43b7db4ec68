"""`receipts verify FILE`: exported receipts and statements checked offline (signatures,
canonical payloads, hashes, chain links, sequences, balances; statements recomputed from the
receipts), and with `--log SITE_OR_HOME` each one's place in the transparency log
(receipts_cli.verify_log)."""

import re
import sys

import click

from receipts.reading import read_receipts, readable_and_not
from receipts.stores.keyring import KeyRing
from receipts.stores.public_keys import JwksUnavailable, NotAJwks, load_jwks
from receipts.verify import verify_chain
from receipts_cli.console import report_verification
from receipts_cli.delegated_keys import delegations_for
from receipts_cli.home import Home
from receipts_cli.log_verify import LogUnreachable
from receipts_cli.statements import report_statements, split_statements
from receipts_cli.terminal import err, shown
from receipts_cli.verify_log import LogReport, check_log, open_source, print_log_report

HASH = re.compile(r"[0-9a-f]{64}")


def entry_of(item) -> bytes | None:
    """The log's entry for a receipt or statement: the 32 bytes of the hash it carries (the
    offline checks hold that hash to the SHA-256 of its signed payload), None without one."""
    value = item.get("statement_hash" if "statement_hash" in item else "receipt_hash")
    return bytes.fromhex(value) if isinstance(value, str) and HASH.fullmatch(value) else None


@click.command()
@click.argument("file", type=click.File("rb"))
@click.option(
    "--jwks",
    "jwks_location",
    default=None,
    metavar="FILE_OR_URL",
    help="JWKS to verify against: a file, - for standard input, or an http(s) URL such as "
    "https://SITE/.well-known/jwks.json (default: this home's keys, retired ones included).",
)
@click.option(
    "--endorsements",
    "endorsements_location",
    default=None,
    metavar="FILE_OR_URL",
    help="Key endorsements to check delegated keys against (https://SITE/.well-known/key-endorsements.json): "
    "each receipt's key must be an HSM key, or endorsed by one for its processed_at and not revoked "
    "(default with this home's keys: the home's delegated keys, if any).",
)
@click.option(
    "--hsm-kid",
    "hsm_kids",
    multiple=True,
    metavar="KID",
    help="Trust only this HSM key (repeatable) to endorse delegated keys, not the document's own roots.",
)
@click.option(
    "--log",
    "log_location",
    default=None,
    metavar="SITE_OR_HOME",
    help="Also check that every receipt and statement is in the transparency log, under a checkpoint signed "
    "by the log's key and cosigned per the witness policy: a verifier site's URL (its public /v1/log, "
    "/log/checkpoint and /log/tile/…) or a home's folder (HOME/archive/log and HOME/log/log.key).",
)
@click.option(
    "--log-vkey",
    "log_vkey",
    default=None,
    metavar="VKEY",
    help="Trust this log key (a signed-note vkey, as `receipts log info` prints it), not the one the site "
    "or the home names: the real check.",
)
@click.option(
    "--quorum",
    type=click.IntRange(min=0),
    default=None,
    help="Cosignatures the checkpoint needs (default: the site's policy, or --log-witness-quorum).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print failures only.")
@click.pass_obj
def verify(
    home: Home,
    file,
    jwks_location: str | None,
    endorsements_location: str | None,
    hsm_kids,
    log_location: str | None,
    log_vkey: str | None,
    quorum: int | None,
    quiet: bool,
) -> None:
    """Verify exported receipts offline: signatures, canonical payloads, hashes, chain
    links, sequences and balances; and statements (`receipts statements export
    --with-receipts`): their lines and totals recomputed from the receipts. With --log, each
    one's inclusion in the transparency log too. Exit status 1 names every failing receipt
    and statement (and the log's checkpoint or witnesses); 2 when the log cannot be read."""
    if (log_vkey or quorum is not None) and not log_location:
        raise click.UsageError("--log-vkey and --quorum check the log: pass --log SITE_OR_HOME")
    if jwks_location is None and not KeyRing(home.keys).exists():
        raise click.UsageError(f"no signing keys in {home.root}: pass --jwks FILE (e.g. the site's jwks.json)")
    try:
        jwks, _ = load_jwks(jwks_location, str(home.keys))  # the reconciliation's loader
    except NotAJwks as error:
        raise click.ClickException(f"cannot read the JWKS: {error}") from error
    except JwksUnavailable as error:  # not there, or not readable
        raise click.BadParameter(str(error), param_hint="--jwks") from error
    jwks, delegations = delegations_for(home, jwks, jwks_location, endorsements_location, hsm_kids)
    try:
        items = list(read_receipts(file.read()))
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file.name} is not UTF-8 text: {error}") from error
    held, unreadable = readable_and_not(items)
    statements, receipts = split_statements(held)
    with err.status(f"Verifying {len(receipts)} receipt(s)…"):
        results = verify_chain(receipts, jwks, delegations)
    log = _log_of(log_location, log_vkey, quorum, home, [*receipts, *statements])
    more = None
    if log is not None and log.proven:
        results = [
            result.with_checks(log.checks_of(entry_of(item), result.checks))
            for result, item in zip(results, receipts, strict=True)
        ]
        more = lambda result, item: log.checks_of(entry_of(item), result.checks)  # noqa: E731
    failed = report_verification(results, unreadable, quiet) if receipts or unreadable or not statements else 0
    failed += report_statements(statements, receipts, jwks, quiet, more)
    if log is not None:
        failed += len(log.failures)
    sys.exit(1 if failed else 0)


def _log_of(location: str | None, vkey: str | None, quorum: int | None, home: Home, items: list) -> LogReport | None:
    """The log's report on every entry of the file (printed), None without --log; exit 2
    when the log cannot be read at all."""
    if location is None:
        return None
    entries = {entry for entry in map(entry_of, items) if entry is not None}
    try:
        source = open_source(location, home)
        with err.status(f"Looking up {len(entries)} entr(ies) in the log at {shown(location)}…"):
            report = check_log(source, vkey, quorum, entries)
    except LogUnreachable as error:
        err.print(f"[red]The log cannot be read: {shown(error.message)}[/]", soft_wrap=True)
        sys.exit(2)
    print_log_report(report)
    return report


def register(main: click.Group) -> None:
    """`verify` on the `receipts` group (receipts_cli.main)."""
    main.add_command(verify)
