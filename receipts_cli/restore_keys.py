"""`receipts restore`'s key documents step, its first (before the receipts, whose delegated
keys they endorse, and so before the log, whose leaves include them): the archived
endorsements and revocations of delegated keys, each verified with the HSM keys of the
restore's JWKS and written back where the store lost it (receipts.stores.key_documents_restore);
the JWKS the receipts are then verified with; and how the restore prints the step."""

import json
from pathlib import Path

import click

from receipts_cli.home import Home
from receipts_cli.terminal import err, out, shown


def from_archive_option(what: str):
    """`--from PATH_OR_GS_URL` of the restore's commands, `what` naming which part they read."""
    return click.option(
        "--from",
        "archive",
        default=None,
        metavar="PATH_OR_GS_URL",
        help=f"{what} (default: this home's archive/, or the gcp:// store's bucket).",
    )


SHOWN = 50


def restore_key_documents_of(home: Home, source: str, jwks: str | None, cannot_restore: type[click.ClickException]):
    from receipts.stores import open_store
    from receipts.stores.archives import open_key_document_archive
    from receipts.stores.key_documents_restore import restore_key_documents
    from receipts.stores.public_keys import load_jwks

    store = open_store(home.store_url)
    try:
        with err.status("Restoring the key documents from the archive…", spinner="dots"):
            try:
                archive = open_key_document_archive(source)
                return restore_key_documents(store, archive, load_jwks(jwks, str(home.keys))[0])
            except Exception as error:  # the store or the archive could not be read or written
                raise cannot_restore(
                    f"the key documents' restore could not finish: {str(error)[:500]}. Nothing else was restored "
                    "yet; run it again"
                ) from error
    finally:
        store.close()


def print_key_documents(documents: dict | None) -> None:
    if documents is None:
        return
    out.print(
        f"Key documents: {shown(documents['archived'])} archived, {shown(documents['kept'])} kept as stored, "
        f"{shown(documents['written'])} written back (from {shown(documents['where'])}).",
        soft_wrap=True,
    )
    for reason in documents["refused"][:SHOWN]:
        out.print(f"[red]KEY DOCUMENT NOT RESTORED[/] {shown(reason)}", soft_wrap=True)
    if len(documents["refused"]) > SHOWN:
        out.print(f"… and {len(documents['refused']) - SHOWN} more key document(s) not restored: see the report")


def receipts_jwks(home: Home, jwks: str | None, folder: Path) -> str | None:
    """A JWKS file (in `folder`) for verifying the archived receipts: the restore's JWKS and the
    delegated keys its HSM keys endorsed, as the store now holds their endorsements (restored
    first); None when the store holds none (the restore's JWKS is then used as it is). Without
    it a home's key ring knows no delegated key, and every receipt they signed would be cut short."""
    from receipts.keys import Jwks
    from receipts.stores import open_store
    from receipts.stores.keyring import KeyRing
    from receipts.stores.public_keys import _read, store_delegations

    document = json.loads(_read(jwks, "JWKS", 30.0)) if jwks else KeyRing(home.keys).jwks()
    store = open_store(home.store_url)
    try:
        found = store_delegations(store, Jwks(document))
    finally:
        store.close()
    if found is None:
        return None
    known = {key.get("kid") for key in document["keys"]}
    endorsed = [item.jwk for item in found[1].endorsed.values() if item.jwk.get("kid") not in known]
    path = folder / "jwks-with-delegated-keys.json"
    path.write_text(json.dumps({"keys": [*document["keys"], *endorsed]}))
    return str(path)


def register(keys: click.Group, cannot_restore: type[click.ClickException]) -> None:
    @keys.command("restore")
    @from_archive_option("The archive whose keys/ to restore from")
    @click.option("--jwks", default=None, metavar="FILE_OR_URL", help="JWKS with the HSM keys (default: this home's).")
    @click.pass_obj
    def keys_restore(home: Home, archive: str | None, jwks: str | None) -> None:
        """Only the key documents' step of `receipts restore` (its first): verify the archived
        endorsements and revocations of delegated keys with the HSM keys and write back what
        the store lost (before a restore job run on Dataflow, say, whose JWKS then lists the
        delegated keys again). Exit 0 all restored or kept, 1 any not."""
        import sys

        from receipts.stores.public_keys import JwksUnavailable, load_jwks
        from receipts_cli.home import HomeBusy

        try:
            load_jwks(jwks, str(home.keys))
        except JwksUnavailable as error:
            raise cannot_restore(str(error)) from error
        try:
            with home.exclusive_run():
                done = restore_key_documents_of(home, archive or home.archive_url, jwks, cannot_restore)
        except HomeBusy as error:
            raise cannot_restore(str(error)) from error
        print_key_documents(done.report())
        sys.exit(0 if done.ok else 1)
