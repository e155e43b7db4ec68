"""Delegated signing keys at the command line (receipts.stores.delegated): `receipts keys
delegated` lists the windows' keys a store keeps, `receipts keys revoke KID` signs a
revocation with the HSM (or key ring) key and keeps it, a log leaf like the endorsements;
and what `receipts verify` checks delegated keys against."""

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from receipts.canonical import canonical_bytes
from receipts.delegation import REVOCATION_TYP, instant_of, revocation_body
from receipts.jws import sign_payloads
from receipts.keys import KID_PATTERN, Jwks
from receipts.stores.public_keys import JwksUnavailable, load_delegations, store_delegations
from receipts.stores.signers import key_file_url, signer_from_url
from receipts_cli.cloud import signer_option, store_of
from receipts_cli.home import Home
from receipts_cli.intake import checked_reason
from receipts_cli.terminal import err, out, shown


def _keeps_keys(home: Home) -> bool:
    """Whether the home's store may hold delegated keys: a SQLite file that exists, or gcp://
    (Spanner's DelegatedKeys and KeyDocuments)."""
    if home.is_gcp:
        return True
    database = home.store_url.removeprefix("sqlite:///")
    return database != home.store_url and Path(database).exists()


def delegations_for(home: Home, jwks, jwks_location, endorsements_location, hsm_kids):
    """(JWKS, Delegations or None) for `receipts verify`: the document given, else the home's
    delegated keys when it verifies with the home's own keys, or with any JWKS on a gcp://
    store (its endorsements count only as far as they verify with that JWKS's keys)."""
    if endorsements_location:
        try:
            return jwks, load_delegations(endorsements_location, jwks, hsm_kids)
        except JwksUnavailable as error:  # NotAJwks included
            raise click.BadParameter(str(error), param_hint="--endorsements") from error
    if (jwks_location is None or home.is_gcp) and _keeps_keys(home):
        found = store_delegations(store_of(home), jwks)
        if found is not None:
            return found
    return jwks, None


def with_delegated_keys(home: Home, document: dict) -> dict:
    """A JWK Set and the delegated keys of the home's store that its keys endorsed, after them."""
    if not _keeps_keys(home):
        return document
    found = store_delegations(store_of(home), Jwks(document))
    if found is None:
        return document
    return {"keys": [*document["keys"], *(item.jwk for item in found[1].endorsed.values())]}


def register(keys: click.Group) -> None:
    @keys.command("delegated")
    @click.pass_obj
    def keys_delegated(home: Home) -> None:
        """The delegated keys the store keeps, one per validity window, and their revocations."""
        store = store_of(home)
        revoked = {doc.kid for doc in store.key_documents("revocation")}
        table = Table("window from", "kid", "state")
        kept = store.delegated_keys()
        for row in kept:
            table.add_row(*map(shown, (row.not_before, row.kid, "revoked" if row.kid in revoked else "endorsed")))
        for doc in store.key_documents("endorsement"):  # restored from the archive: its private key is not
            if doc.kid not in {row.kid for row in kept}:
                state = "revoked" if doc.kid in revoked else "endorsed"
                table.add_row(shown("?"), shown(doc.kid), shown(f"{state}, key not kept (restored)"))
        out.print(table)

    @keys.command("revoke")
    @click.argument("kid")
    @click.option("--reason", required=True, help="Why (shown to verifiers): e.g. 'leaked from worker 7'.")
    @click.option(
        "--at",
        "revoked_at",
        default=None,
        metavar="RFC3339",
        help="Receipts processed from this instant on fail as key_revoked (default: now). Set it to when the "
        "key may first have leaked.",
    )
    @signer_option
    @click.pass_obj
    def keys_revoke(home: Home, kid: str, reason: str, revoked_at: str | None, signer: str | None) -> None:
        """Revoke a delegated key: a key-revocation+jws by the HSM key (--signer, or the home's
        current key), kept in the store and logged with the next integration. A kid may start
        with "-" (base64url): put it after `--`, as in `receipts keys revoke --reason R -- KID`."""
        if not KID_PATTERN.fullmatch(kid):
            raise click.BadParameter("a kid is an RFC 7638 thumbprint (43 characters)", param_hint="KID")
        at = revoked_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            instant_of(at)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--at") from error
        store = store_of(home)
        endorsed = {doc.kid for doc in store.key_documents("endorsement")}  # a restored one has no key row
        if kid not in {row.kid for row in store.delegated_keys()} | endorsed:
            raise click.ClickException(f"{kid} is not a delegated key of this store: see `receipts keys delegated`")
        endorser = signer_from_url(signer or key_file_url(home.keys, home.keyring().current_kid))
        body = revocation_body(kid, at, checked_reason(reason), endorser.kid)
        [revocation] = sign_payloads(endorser, [canonical_bytes(body)], REVOCATION_TYP)
        if store.add_key_revocation(revocation):
            err.print(f"Revoked {shown(kid)} from {shown(at)}: run `receipts log integrate` to log it.")
        else:
            err.print(f"{shown(kid)} was revoked already; that revocation stands.")
