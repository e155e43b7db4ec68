"""The Cloud Storage archive: one JSONL object per archive batch (receipts.stores.archiving),
written once. A retention-locked bucket can never rewrite an object, so an object that
exists with the same bytes is a replay (nothing to do), and different bytes for the same
name (which only a tampered store could give) go to a name suffixed with their own hash;
nothing is overwritten. "The same bytes" is told by metadata alone: each object carries the
SHA-256 of its bytes (custom metadata `sha256`, set at create), so a replay costs one
metadata request, not a download of the object."""

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from urllib.parse import urlparse

from google.api_core import exceptions as api_exceptions
from google.cloud import storage

from receipts.rows import ArchiveBatch
from receipts.stores.gcp.location import client_options
from receipts.stores.retry import with_backoff

log = logging.getLogger("receipts.gcp.archive")  # the name operators know; kept when the module moved


SHA256_KEY = "sha256"  # custom metadata: lowercase hex SHA-256 of the object's bytes


class ArchiveOutcome(Enum):
    WRITTEN = "written"
    ALREADY_ARCHIVED = "already_archived"  # the same bytes under that name: a replay
    WRITTEN_ASIDE = "written_aside"  # the name held other receipts: written under a hashed name


@dataclass(frozen=True)
class HeldObject:
    """What an object's metadata says of its bytes. Objects written before the `sha256`
    metadata have Cloud Storage's own MD5 (absent only on composite objects, which we never
    make); MD5 is weak against collisions, not second preimages, so matching bytes fixed
    by an earlier release with it is sound."""

    size: int | None
    sha256: str | None  # ours, written at create
    md5: str | None  # Cloud Storage's, base64 of the raw digest

    def same_as(self, data: bytes, digest: str) -> bool | None:
        """Whether the object holds `data` (its hex SHA-256 `digest`); None: cannot tell."""
        if self.size is not None and self.size != len(data):
            return False
        if self.sha256 is not None:
            return self.sha256 == digest
        if self.md5 is not None:
            return self.md5 == base64.b64encode(hashlib.md5(data).digest()).decode()
        return None


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


def batch_object_name(prefix: str, batch: ArchiveBatch) -> str:
    """`PREFIX/2026/01/25/20260125T103000Z-3f9a0c1d2e4b.jsonl`: the day it was planned and
    the batch id only, so writing a batch again names the same object."""
    planned = datetime.fromisoformat(batch.planned_at.replace("Z", "+00:00")).astimezone(UTC)
    name = f"{planned:%Y/%m/%d}/{batch.batch_id}.jsonl"
    return f"{prefix}/{name}" if prefix else name


def storage_client() -> storage.Client:
    options = client_options()
    if options:  # an emulator: with no project given the client would ask a metadata server, and hang
        options["project"] = "local-emulator"
    return storage.Client(**options)


def read_object(url: str, limit: int) -> bytes:
    """At most the first `limit` bytes of gs://BUCKET/NAME (the reconciliation's JWKS: its
    workers have no route to the site). Failures are OSErrors, as for a file."""
    path = BucketPath.parse(url)
    blob = storage_client().bucket(path.bucket).blob(path.prefix)
    try:
        return with_backoff(f"read {url}", lambda: blob.download_as_bytes(start=0, end=limit - 1), give_up_after=60.0)
    except api_exceptions.NotFound as error:
        raise FileNotFoundError(f"no object {url}") from error
    except api_exceptions.Forbidden as error:
        raise PermissionError(f"not allowed to read {url}: {error.message}") from error
    except api_exceptions.GoogleAPIError as error:
        raise OSError(f"cannot read {url}: {error}") from error


class BucketArchive:
    """Writes archive objects create-only; clients are made here, so build it in setup()."""

    def __init__(self, url: str) -> None:
        self.path = BucketPath.parse(url)
        self._client = storage_client()
        self._bucket = self._client.bucket(self.path.bucket)

    def write_once(self, name: str, data: bytes) -> tuple[ArchiveOutcome, str]:
        """Create `name` unless it holds these bytes already, told by its metadata (never by
        downloading it). When the create finds an object that appeared meanwhile, ask again:
        the same bytes (another writer of the same replay, or our own upload whose answer was
        lost and whose retry found it) are archived; other bytes go beside it under a name
        from their hash."""
        digest = hashlib.sha256(data).hexdigest()
        same = self._holds(name, data, digest)
        if same is None and self._create(name, data, digest):
            return ArchiveOutcome.WRITTEN, name
        if same or (same is None and self._holds(name, data, digest)):
            return ArchiveOutcome.ALREADY_ARCHIVED, name
        aside = name.removesuffix(".jsonl") + f"-{digest[:16]}.jsonl"
        if not self._create(aside, data, digest) and not self._holds(aside, data, digest):
            raise RuntimeError(f"gs://{self.path.bucket}/{aside} holds other bytes than its hash names")
        log.warning("archive object %s holds other receipts; these went to %s", name, aside)
        return ArchiveOutcome.WRITTEN_ASIDE, aside

    def _holds(self, name: str, data: bytes, digest: str) -> bool | None:
        """Whether `name` holds `data` (None: no such object), from its metadata; only an
        object whose metadata has no hash of its bytes is downloaded to compare."""
        held = with_backoff(f"look up gs://{self.path.bucket}/{name}", lambda: self._metadata(name))
        if held is None:
            return None
        same = held.same_as(data, digest)
        if same is None:
            log.info("archive object %s has no hash in its metadata; comparing its bytes", name)
            return with_backoff(f"read gs://{self.path.bucket}/{name}", lambda: self._download(name)) == data
        return same

    def _metadata(self, name: str) -> HeldObject | None:
        blob = self._bucket.get_blob(name)  # one metadata request: no body
        if blob is None:
            return None
        return HeldObject(blob.size, (blob.metadata or {}).get(SHA256_KEY), blob.md5_hash)

    def _download(self, name: str) -> bytes | None:
        try:
            return self._bucket.blob(name).download_as_bytes()
        except api_exceptions.NotFound:
            return None

    def _create(
        self, name: str, data: bytes, digest: str, content_type: str = "application/jsonl", cache_control: str = ""
    ) -> bool:
        """Upload only if no object has the name (generation 0), with the SHA-256 of its bytes
        in its metadata; False if one appeared."""
        blob = self._bucket.blob(name)
        blob.metadata = {SHA256_KEY: digest}
        if cache_control:
            blob.cache_control = cache_control
        try:
            with_backoff(
                f"write gs://{self.path.bucket}/{name}",
                lambda: blob.upload_from_string(data, content_type=content_type, if_generation_match=0),
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


class BucketWriter:
    """receipts.stores.archiving's writer for a bucket: one write-once object per batch."""

    def __init__(self, url: str) -> None:
        self.archive = BucketArchive(url)

    def write_batch(self, batch: ArchiveBatch, lines) -> int:
        outcome, _ = self.archive.write_once(self.name(batch), b"".join(lines))
        return 0 if outcome is ArchiveOutcome.ALREADY_ARCHIVED else len(lines)

    def name(self, batch: ArchiveBatch) -> str:
        return batch_object_name(self.archive.path.prefix, batch)

    def where(self, batch: ArchiveBatch) -> str:
        return self.archive.where(self.name(batch))
