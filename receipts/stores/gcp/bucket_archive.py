"""The Cloud Storage archive: one JSONL object per (processing-time window, shard),
written once. A retention-locked bucket can never rewrite an object, so an object that
exists with the same bytes is a replay (nothing to do), and different bytes for the same
name (a late pane) go to a name suffixed with their own hash; nothing is overwritten."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from urllib.parse import urlparse

from google.api_core import exceptions as api_exceptions
from google.cloud import storage

from receipts.stores.gcp.location import client_options
from receipts.stores.retry import with_backoff

log = logging.getLogger("receipts.gcp.archive")  # the name operators know; kept when the module moved


class ArchiveOutcome(Enum):
    WRITTEN = "written"
    ALREADY_ARCHIVED = "already_archived"  # the same bytes under that name: a replay
    WRITTEN_ASIDE = "written_aside"  # the name held other receipts: written under a hashed name


@dataclass(frozen=True)
class BucketPath:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> "BucketPath":
        parsed = urlparse(url)
        if parsed.scheme != "gs" or not parsed.netloc:
            raise ValueError(f"not a gs:// archive URL: {url!r}")
        return cls(parsed.netloc, parsed.path.strip("/"))


def window_object_name(prefix: str, start: float, end: float, shard: int, shards: int) -> str:
    """`PREFIX/2026/01/25/103000-103500-shard-01-of-04.jsonl`: the window and shard only."""
    begin, finish = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    name = f"{begin:%Y/%m/%d}/{begin:%H%M%S}-{finish:%H%M%S}-shard-{shard:02d}-of-{shards:02d}.jsonl"
    return f"{prefix}/{name}" if prefix else name


class BucketArchive:
    """Writes archive objects create-only; clients are made here, so build it in setup()."""

    def __init__(self, url: str) -> None:
        self.path = BucketPath.parse(url)
        options = client_options()
        if options:  # an emulator: with no project given the client would ask a metadata server, and hang
            options["project"] = "local-emulator"
        self._client = storage.Client(**options)
        self._bucket = self._client.bucket(self.path.bucket)

    def write_once(self, name: str, data: bytes) -> tuple[ArchiveOutcome, str]:
        """Create `name` unless it holds these bytes already. When the create finds an object
        that appeared meanwhile, compare again: the same bytes (another writer of the same
        replay, or our own upload whose answer was lost and whose retry found it) are
        archived; other bytes go beside it under a name from their hash."""
        existing = self._read_if_any(name)
        if existing == data:
            return ArchiveOutcome.ALREADY_ARCHIVED, name
        if existing is None:
            if self._create(name, data):
                return ArchiveOutcome.WRITTEN, name
            if self._read_if_any(name) == data:
                return ArchiveOutcome.ALREADY_ARCHIVED, name
        aside = name.removesuffix(".jsonl") + f"-{hashlib.sha256(data).hexdigest()[:16]}.jsonl"
        if not self._create(aside, data) and self._read_if_any(aside) != data:
            raise RuntimeError(f"gs://{self.path.bucket}/{aside} holds other bytes than its hash names")
        log.warning("archive object %s holds other receipts; these went to %s", name, aside)
        return ArchiveOutcome.WRITTEN_ASIDE, aside

    def _read_if_any(self, name: str) -> bytes | None:
        return with_backoff(f"read gs://{self.path.bucket}/{name}", lambda: self._download(name))

    def _download(self, name: str) -> bytes | None:
        try:
            return self._bucket.blob(name).download_as_bytes()
        except api_exceptions.NotFound:
            return None

    def _create(self, name: str, data: bytes) -> bool:
        """Upload only if no object has the name (generation 0); False if one appeared."""
        blob = self._bucket.blob(name)
        try:
            with_backoff(
                f"write gs://{self.path.bucket}/{name}",
                lambda: blob.upload_from_string(data, content_type="application/jsonl", if_generation_match=0),
            )
        except api_exceptions.PreconditionFailed:
            return False
        return True

    def objects(self) -> list[str]:
        prefix = f"{self.path.prefix}/" if self.path.prefix else None
        return sorted(blob.name for blob in self._client.list_blobs(self.path.bucket, prefix=prefix))

    def read(self, name: str) -> bytes:
        return self._bucket.blob(name).download_as_bytes()

    def where(self, name: str) -> str:
        return f"gs://{self.path.bucket}/{name}"
