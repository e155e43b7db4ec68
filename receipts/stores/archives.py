"""Reading an archive, whichever kind its URL names: a folder (receipts.stores.folder_archive)
or gs://bucket/prefix (receipts.stores.gcp.bucket_archive), one file or object at a time; and
the statements' and key documents' archives beside it (receipts.stores.statement_files,
receipts.stores.key_document_files)."""

import json
from typing import Any, Protocol

from receipts.stores.folder_archive import FolderArchive
from receipts.stores.key_document_files import FolderKeyDocuments, key_documents_url
from receipts.stores.statement_files import FolderStatements, StatementArchive, statements_url


class ArchiveReader(Protocol):
    def objects(self) -> list[str]:
        """The names of the archive's files or objects, in name (time) order."""
        ...

    def read(self, name: str) -> bytes: ...

    def where(self, name: str) -> str:
        """How a report names the file or object."""
        ...


def open_archive(url: str) -> ArchiveReader:
    """The archive at `url`: gs://bucket/prefix (Cloud Storage), else a folder."""
    if url.startswith("gs://"):
        from receipts.stores.gcp.bucket_archive import BucketArchive

        return BucketArchive(url)
    return FolderArchive(url)


def open_statement_archive(archive_url: str) -> StatementArchive:
    """The statements' archive beside the receipts' archive at `archive_url`
    (receipts.stores.statement_files): `<folder>/statements`, or gs://bucket/statements."""
    url = statements_url(archive_url)
    if url.startswith("gs://"):
        from receipts.stores.gcp.bucket_statements import BucketStatements

        return BucketStatements(url)
    return FolderStatements(url)


def open_key_document_archive(archive_url: str) -> StatementArchive:
    """The key documents' archive beside the receipts' archive at `archive_url`
    (receipts.stores.key_document_files): `<folder>/keys`, or gs://bucket/keys."""
    url = key_documents_url(archive_url)
    if url.startswith("gs://"):
        from receipts.stores.gcp.bucket_statements import BucketKeyDocuments

        return BucketKeyDocuments(url)
    return FolderKeyDocuments(url)


def archived_receipts(url: str) -> tuple[int, list[dict[str, Any]]]:
    """(number of files or objects, every archived receipt in them) of the archive at `url`."""
    archive = open_archive(url)
    names = archive.objects()
    return len(names), [json.loads(line) for name in names for line in archive.read(name).split(b"\n") if line]
