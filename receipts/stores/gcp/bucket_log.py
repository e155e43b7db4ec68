"""The log's public files in Cloud Storage (`gs://BUCKET/log/…`, receipts.stores.log_files):
tiles, entry bundles and checkpoints by size, each object created once
(`if_generation_match=0`, after one metadata request says it is absent) with the SHA-256 of
its bytes in its metadata, as the archive's objects are (receipts.stores.gcp.bucket_archive).
A retention-locked bucket can never rewrite them, and never needs to: a path's bytes depend
only on the committed tree. An object that is there with the same bytes is a replay; with
other bytes it is refused (LogFileConflict). A batch's files are uploaded concurrently."""

import hashlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from google.api_core import exceptions as api_exceptions

from receipts.stores.gcp.bucket_archive import BucketArchive
from receipts.stores.log_files import LogFileConflict, checkpoint_path
from receipts.stores.retry import with_backoff

UPLOADS = 16  # concurrent object creations per append (about 80 files for 10,000 leaves)
IMMUTABLE = "public, max-age=31536000, immutable"  # a path never changes its bytes


class BucketLogFiles:
    """Creates the log's objects create-only; clients are made here, so build it in setup()."""

    def __init__(self, url: str) -> None:
        self.archive = BucketArchive(url)
        self.prefix = self.archive.path.prefix

    def _name(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def write_once(self, path: str, data: bytes) -> bool:
        name = self._name(path)
        digest = hashlib.sha256(data).hexdigest()
        content_type = "text/plain; charset=utf-8" if path.startswith("checkpoints/") else "application/octet-stream"
        same = self.archive._holds(name, data, digest)  # one metadata request, as the archive asks first
        if same is None and self.archive._create(name, data, digest, content_type, IMMUTABLE):
            return True
        if same or (same is None and self.archive._holds(name, data, digest)):  # a replay, or a racing twin
            return False
        raise LogFileConflict(
            f"{self.where(path)} holds other bytes than this log's {path}: the bucket holds another log (or the "
            "store was reset under a kept bucket). Nothing was overwritten."
        )

    def write_all(self, files: Mapping[str, bytes]) -> int:
        if len(files) <= 1:
            return sum(self.write_once(path, data) for path, data in files.items())
        with ThreadPoolExecutor(min(UPLOADS, len(files)), thread_name_prefix="log-upload") as pool:
            return sum(pool.map(lambda item: self.write_once(*item), sorted(files.items())))

    def publish_checkpoint(self, size: int, note: bytes) -> None:
        """checkpoints/<size>, once; the latest is served from the store (an object the
        retention lock forbids replacing cannot be the moving `checkpoint`)."""
        self.write_once(checkpoint_path(size), note)

    def read(self, path: str) -> bytes | None:
        name = self._name(path)
        try:
            return with_backoff(f"read {self.where(path)}", lambda: self.archive._bucket.blob(name).download_as_bytes())
        except api_exceptions.NotFound:
            return None

    def paths(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        blobs = with_backoff(
            f"list {self.where()}", lambda: list(self.archive._client.list_blobs(self.archive._bucket, prefix=start))
        )
        return sorted(blob.name[len(start) :] for blob in blobs)

    def where(self, path: str = "") -> str:
        return self.archive.where(self._name(path)) if path else f"gs://{self.archive.path.bucket}/{self.prefix}"
