"""Key documents back from their archive (receipts.stores.key_document_files: a home's
archive/keys/, or gs://BUCKET/keys/), on either store: the first step of `receipts restore`,
before the receipts (whose delegated keys the endorsements name: they are verified with them)
and so before the transparency log (whose leaves include the key documents' hashes, numbered
1, 2, … under KEYS_MARK: the restore gives each its archived number back).

Each archived document is verified before it is written: its JWS signed by an HSM (root) key
of the JWKS the restore trusts (the JWKS's keys that no archived endorsement names), its
`typ` the one its name's kind says (`key-endorsement+jws`, `key-revocation+jws`), its body
as receipts.delegation reads it, and the kid its name says. A number held twice, or one past
a gap (the log would have no leaf for the missing one), is refused. What fails is reported
(`KEY DOCUMENT NOT RESTORED`) and not written; a store that holds another document under a
number or id keeps it (never overwritten). Restoring twice writes nothing.

What is not restorable, by design: the windows' wrapped private keys (DelegatedKeys,
`delegated_keys`) are never archived. A window whose key was lost gets a new key, endorsed
for the same window, from the next receipt signed in it (receipts.stores.delegated): valid by
the contract, whose endorsements are per kid; receipts signed before keep their own key's
endorsement, which this restore gives back.
"""

from collections.abc import Callable

from receipts.delegation import ENDORSEMENT_TYP, REVOCATION_TYP, document_kid, read_endorsement, read_revocation
from receipts.keys import Jwks
from receipts.restoration.report import StepRestored
from receipts.stores.key_document_files import ArchivedName, parse_key_document_path
from receipts.stores.statement_files import StatementArchive

MAX_DOCUMENT_BYTES = 64 * 1024  # a key document is a few kilobytes
TYPS = {"endorsement": ENDORSEMENT_TYP, "revocation": REVOCATION_TYP}
READERS: dict[str, Callable] = {"endorsement": read_endorsement, "revocation": read_revocation}


class KeyDocumentsRestored(StepRestored):
    """The key documents' step (receipts.restoration.report.StepRestored)."""


def _archived(archive: StatementArchive, done: KeyDocumentsRestored) -> dict[int, tuple[ArchivedName, str, str]]:
    """Every archived document by number: (its name, where, its JWS); what is unreadable or
    held twice is refused."""
    found: dict[int, tuple[ArchivedName, str, str]] = {}
    for path in archive.paths():
        where, name = archive.where(path), parse_key_document_path(path)
        if name is None:
            done.refused.append(f"{where}: not a key document's name (NNNNNNNN-KIND-KID.jws)")
            continue
        data = archive.read(path)
        done.archived += 1
        if len(data) > MAX_DOCUMENT_BYTES:
            done.refused.append(f"{where}: {len(data)} bytes, more than a key document's {MAX_DOCUMENT_BYTES}")
            continue
        try:
            jws = data.decode("ascii").strip()
        except UnicodeDecodeError:
            done.refused.append(f"{where}: not a compact JWS")
            continue
        if name.number in found:
            done.refused.append(f"{where}: number {name.number} is also {found[name.number][1]}")
            continue
        found[name.number] = (name, where, jws)
    return found


def verified_problem(name: ArchivedName, jws: str, roots: Jwks, root_kids: frozenset[str]) -> str | None:
    """Why an archived document may not be restored, or None."""
    try:
        READERS[name.kind](jws, roots, root_kids)  # the signature by a root, the typ, the body
        if document_kid(jws, TYPS[name.kind]) != name.kid:
            return f"it is the {name.kind} of another key than {name.kid}"
    except (ValueError, TypeError, KeyError, RecursionError, UnicodeDecodeError) as error:
        return str(error)[:300]
    return None


def restore_key_documents(store, archive: StatementArchive, jwks: Jwks) -> KeyDocumentsRestored:
    """Verify the archived key documents and write back what the store lost (see the module)."""
    done = KeyDocumentsRestored(where=archive.where())
    found = _archived(archive, done)
    endorsed = {name.kid for name, _, _ in found.values() if name.kind == "endorsement"}
    root_kids = frozenset(jwks.keys) - endorsed  # the HSM (or key ring) keys, as store_delegations takes them
    expected = 1
    for number in sorted(found):
        name, where, jws = found[number]
        if number != expected:
            done.refused.append(
                f"{where}: document {expected} is missing from the archive, so no document after it is restored "
                "(the log's leaves are numbered without gaps)"
            )
            break
        problem = verified_problem(name, jws, jwks, root_kids)
        if problem is None:
            try:
                outcome = store.restore_key_document(number, name.kind, name.kid, jws)
            except ValueError as error:  # the store holds another document there: kept
                problem = str(error)[:300]
        if problem is not None:
            done.refused.append(f"{where}: {problem}")
            break  # the next numbers would follow a hole in the store's documents
        setattr(done, outcome, getattr(done, outcome) + 1)
        expected += 1
    return done
