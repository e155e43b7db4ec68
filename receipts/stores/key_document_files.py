"""The archive of key documents (receipts.delegation: the HSM key's endorsements and
revocations of delegated signing keys, leaves of the transparency log under KEYS_MARK): one
write-once object per document, the bare compact JWS (what `openssl dgst -verify` checks),
at `keys/NNNNNNNN-KIND-KID.jws` beside the receipts' archive: `<archive folder>/keys/` for a
home (FolderKeyDocuments), `gs://BUCKET/keys/` for the Google Cloud store (BucketKeyDocuments).

NNNNNNNN is the document's number in the store (1, 2, … in the order written: the order of
its log leaves, which a restore must give back), KIND `endorsement` or `revocation`, KID the
delegated key's. Name order is log order. A store writes each document there after the
commit that keeps it; `receipts archive catch-up` writes any the archive lacks; `receipts
restore` reads them back (receipts.stores.key_documents_restore).

Write-once, as the statements' archive (receipts.stores.statement_files): the same bytes
again are a replay; other bytes under the name are a KeyDocumentArchiveConflict naming the
object, and nothing is overwritten.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from receipts.rows import KeyDocument
from receipts.stores.statement_files import BATCH, FolderStatements, StatementArchive

KEYS = "keys"  # the folder (or bucket prefix) beside the receipts' archive
KINDS = ("endorsement", "revocation")
_NAME = re.compile(r"(\d{8})-(endorsement|revocation)-([A-Za-z0-9_-]{43})\.jws")


class KeyDocumentArchiveConflict(RuntimeError):
    """The archive holds other bytes under a key document's name: nothing was overwritten."""


def conflict(where: str) -> KeyDocumentArchiveConflict:
    return KeyDocumentArchiveConflict(
        f"{where} holds another key document than the one stored under its name: nothing was overwritten. "
        "A key document is never amended: compare the two (`receipts keys delegated`, the archived JWS) first; "
        "a store that lost its key documents is restored with `receipts restore` before it signs again."
    )


def key_documents_url(archive_url: str) -> str:
    """`<folder>/keys`, or, for gs://bucket/prefix, gs://bucket/keys (beside the receipts' objects)."""
    if archive_url.startswith("gs://"):
        return f"gs://{urlparse(archive_url).netloc}/{KEYS}"
    return str(Path(archive_url) / KEYS)


def key_document_path(number: int, kind: str, kid: str) -> str:
    """`00000001-endorsement-KID.jws`: named by what the document is; ValueError otherwise."""
    path = f"{number:08d}-{kind}-{kid}.jws"
    if not isinstance(number, int) or not 0 < number < 10**8 or not _NAME.fullmatch(path):
        raise ValueError(f"not a key document's name: {path[:80]!r}")
    return path


@dataclass(frozen=True)
class ArchivedName:
    number: int
    kind: str
    kid: str


def parse_key_document_path(path: str) -> ArchivedName | None:
    """What an archived object's name says, or None for a name no document has."""
    found = _NAME.fullmatch(path)
    return ArchivedName(int(found[1]), found[2], found[3]) if found else None


def archive_key_documents(documents: Iterable[KeyDocument], archive: StatementArchive) -> int:
    """Archive each stored key document the archive lacks (`receipts archive catch-up`); how
    many were new. KeyDocumentArchiveConflict on one that differs."""
    written, batch = 0, {}
    for document in documents:
        batch[key_document_path(document.number, document.kind, document.kid)] = document.jws.encode("ascii")
        if len(batch) >= BATCH:
            written, batch = written + archive.write_all(batch), {}
    return written + (archive.write_all(batch) if batch else 0)


class FolderKeyDocuments(FolderStatements):
    """The key documents' archive in a local folder (a home's `archive/keys/`): files created
    whole, never over another (FolderStatements' writes)."""

    SUFFIX = ".jws"

    def conflict(self, where: str) -> RuntimeError:
        return conflict(where)


def sqlite_key_archive(database: Path) -> StatementArchive:
    """Where a SQLite store archives its key documents: the home's archive beside its database
    file (`HOME/receipts.db` -> `HOME/archive/keys/`)."""
    return FolderKeyDocuments(Path(database).parent / "archive" / KEYS)
