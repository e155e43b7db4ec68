"""The statements' archive in Cloud Storage (receipts.stores.statement_files): each statement an
object `gs://BUCKET/statements/PERIOD/STATEMENT_ID.jsonl`, created with if-generation-match=0
and the SHA-256 of its bytes in its metadata, as the receipts' objects are
(receipts.stores.gcp.bucket_archive). A retried upload whose answer was lost finds its own
bytes there: a replay. Other bytes under the name are a StatementArchiveConflict; nothing is
ever overwritten (a retention-locked bucket could not, and a statement is never amended)."""

import hashlib
from collections.abc import Mapping

from receipts.stores.gcp.bucket_archive import BucketArchive
from receipts.stores.retry import with_backoff
from receipts.stores.statement_files import conflict


class BucketStatements:
    """Creates statement objects create-only; clients are made here, so build it in setup()."""

    def __init__(self, url: str) -> None:
        self.archive = BucketArchive(url)
        self.prefix = self.archive.path.prefix

    def conflict(self, where: str) -> RuntimeError:
        return conflict(where)

    def _name(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def write_once(self, path: str, data: bytes) -> bool:
        name, digest = self._name(path), hashlib.sha256(data).hexdigest()
        same = self.archive._holds(name, data, digest)  # one metadata request
        if same is None and self.archive._create(name, data, digest):
            return True
        if same or (same is None and self.archive._holds(name, data, digest)):  # a replay, or a racing twin
            return False
        raise self.conflict(self.where(path))

    def write_all(self, files: Mapping[str, bytes]) -> int:
        return sum(self.write_once(path, data) for path, data in sorted(files.items()))

    def paths(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        blobs = with_backoff(
            f"list {self.where()}", lambda: list(self.archive._client.list_blobs(self.archive._bucket, prefix=start))
        )
        return sorted(blob.name[len(start) :] for blob in blobs)

    def read(self, path: str) -> bytes:
        name = self._name(path)
        return with_backoff(f"read {self.where(path)}", lambda: self.archive._bucket.blob(name).download_as_bytes())

    def where(self, path: str = "") -> str:
        return self.archive.where(self._name(path)) if path else f"gs://{self.archive.path.bucket}/{self.prefix}"


class BucketKeyDocuments(BucketStatements):
    """The key documents' archive, `gs://BUCKET/keys/NNNNNNNN-KIND-KID.jws`
    (receipts.stores.key_document_files), created the same way: write-once, never overwritten."""

    def conflict(self, where: str) -> RuntimeError:
        from receipts.stores.key_document_files import conflict as key_conflict

        return key_conflict(where)
