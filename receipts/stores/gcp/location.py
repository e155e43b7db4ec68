"""Where the production store lives (`gcp://PROJECT?instance=&database=&bucket=&role=`), and
the credentials its clients take (anonymous ones on the emulators)."""

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from google.auth.credentials import AnonymousCredentials


@dataclass(frozen=True)
class GcpLocation:
    """Where the production store lives, parsed from `gcp://PROJECT?instance=&database=&bucket=&role=`.
    `role` is the Spanner database role to connect with (fine-grained access control, e.g.
    verifier_site for the site: receipts/stores/gcp/spanner_roles.sql); none by default."""

    project: str
    instance: str = "receipts"
    database: str = "receipts"
    bucket: str = ""
    role: str | None = None

    @classmethod
    def parse(cls, url: str) -> "GcpLocation":
        parsed = urlparse(url)
        if parsed.scheme != "gcp" or not parsed.netloc:
            raise ValueError(f"not a gcp:// store URL: {url!r} (use gcp://PROJECT)")
        query = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
        unknown = set(query) - {"instance", "database", "bucket", "role"}
        if unknown:
            raise ValueError(f"unknown store URL parameters {sorted(unknown)}: use instance, database, bucket, role")
        project = parsed.netloc
        return cls(
            project,
            query.get("instance", "receipts"),
            query.get("database", "receipts"),
            query.get("bucket") or f"{project}-receipts-archive",
            query.get("role") or None,
        )

    @property
    def archive_url(self) -> str:
        return f"gs://{self.bucket}/receipts"


EMULATOR_VARIABLES = ("SPANNER_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST")


def client_options() -> dict[str, Any]:
    """Emulators take anonymous credentials; production uses the ambient ones."""
    if any(os.environ.get(name) for name in EMULATOR_VARIABLES):
        return {"credentials": AnonymousCredentials()}
    return {}
