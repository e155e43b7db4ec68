"""Where a deployment's log lives, and opening it: beside the archive, in the same folder
or bucket (receipts.stores.log_files for a folder, receipts.stores.gcp.bucket_log for a
bucket)."""

from pathlib import Path
from urllib.parse import urlparse

from receipts.stores.log_files import FolderLogFiles, LogFiles


def log_url(archive_url: str) -> str:
    """Where the log of the archive at `archive_url` lives: `<folder>/log`, or, for
    gs://bucket/prefix, gs://bucket/log (beside the archive's objects, not among them)."""
    if archive_url.startswith("gs://"):
        parsed = urlparse(archive_url)
        return f"gs://{parsed.netloc}/log"
    return str(Path(archive_url) / "log")


def open_log_files(url: str) -> LogFiles:
    """The log files at `url`: gs://bucket/prefix (receipts.stores.gcp.bucket_log), else a folder."""
    if url.startswith("gs://"):
        from receipts.stores.gcp.bucket_log import BucketLogFiles

        return BucketLogFiles(url)
    return FolderLogFiles(url)
