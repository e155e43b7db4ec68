"""The delegated signing keys in Spanner, the same calls as receipts.stores.sqlite_keys: one
wrapped key per validity window (`DelegatedKeys`, first writer wins, so every Beam worker and
every retry signs a window's receipts with the same key) and the key documents
(`KeyDocuments`: endorsements and revocations, numbered 1, 2, … in the order written), which
the log makes leaves under receipts.rows.KEYS_MARK (receipts.stores.gcp.log).

A window's key is added in one read-write transaction: it reads the window's row and, when
there is none, inserts the row and its endorsement document together. Spanner's transactions
are serializable, so of two workers racing for one window one commits and the other is
aborted, retried, and reads the winner's row: it then unwraps the winner's key. The private
part is only ever stored wrapped (Cloud KMS Encrypt, receipts.stores.gcp.kms_wrap).

The log keeps its leaves' ids in STRING(32) columns (LogLeaves, LogBundles), so a document's
id here is "endorsement:" or "revocation:" and the start of its key's kid, cut to 32
characters (`document_id`): 20 or 21 characters of a SHA-256 thumbprint, unique among a
store's keys (DelegatedKeys' Kid and KeyDocuments' DocumentId are unique indexes, so a clash
would fail a commit, never merge two keys).

Each document is archived write-once after the commit that keeps it, at
`gs://BUCKET/keys/NNNNNNNN-KIND-KID.jws` (receipts.stores.key_document_files; the full kid in
the name): `receipts restore` writes back what Spanner lost (restore_key_document), and
`receipts archive catch-up` archives what a crash between commit and upload left out.
A part of `SpannerFirestoreStore` (receipts.stores.gcp.store), which supplies `_database`,
`_read`, `_query` and `location`."""

import json
import threading

from google.api_core import exceptions as api_exceptions
from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from receipts.delegation import REVOCATION_TYP, document_kid, payload_hash
from receipts.jws import b64url_decode, split_compact
from receipts.rows import DelegatedKeyRow, KeyDocument
from receipts.stores.gcp.log_rows import key_of, raw_bytes, spanner_bytes
from receipts.stores.key_document_files import key_document_path, key_documents_url
from receipts.stores.retry import with_backoff

ENDORSEMENT, REVOCATION = "endorsement", "revocation"
DOCUMENT_ID_LENGTH = 32  # LogLeaves.ReceiptId, LogBundles.ReceiptIds: STRING(32)
KEY_COLUMNS = ["NotBefore", "Kid", "WrappedPrivate", "Endorsement"]
DOCUMENT_COLUMNS = ["Number", "DocumentId", "Kind", "Kid", "Jws", "DocumentHash"]
NEXT_NUMBER = "SELECT IFNULL(MAX(Number), 0) + 1 FROM KeyDocuments"
ALL_KEYS = "SELECT NotBefore, Kid, WrappedPrivate, Endorsement FROM DelegatedKeys ORDER BY NotBefore"
ALL_DOCUMENTS = "SELECT Number, DocumentId, Kind, Kid, Jws, DocumentHash FROM KeyDocuments ORDER BY Number"
HELD = (
    "SELECT Number, DocumentId, Jws FROM KeyDocuments WHERE Number = @number "
    "UNION ALL SELECT Number, DocumentId, Jws FROM KeyDocuments@{FORCE_INDEX=KeyDocumentsById} WHERE DocumentId = @id"
)
_bucket_lock = threading.Lock()
DOCUMENTS_OF_KIND = (
    "SELECT Number, DocumentId, Kind, Kid, Jws, DocumentHash FROM KeyDocuments WHERE Kind = @kind ORDER BY Number"
)


def document_id(kind: str, kid: str) -> str:
    """The key document's id as the log names its leaf: see the module docstring."""
    return f"{kind}:{kid}"[:DOCUMENT_ID_LENGTH]


def _key_row(row) -> DelegatedKeyRow:
    not_before, kid, wrapped, endorsement = row
    return DelegatedKeyRow(not_before, kid, raw_bytes(wrapped), endorsement)


def _public_jwk(endorsement: str) -> str:
    """The endorsed public JWK, as text: kept beside the row for operators' queries."""
    body = json.loads(b64url_decode(split_compact(endorsement).payload_b64))
    return json.dumps(body["jwk"], sort_keys=True, separators=(",", ":"))


class SpannerDelegatedKeys:
    def delegated_key(self, not_before: str) -> DelegatedKeyRow | None:
        rows = self._read("DelegatedKeys", KEY_COLUMNS, key_of([not_before]))
        return _key_row(rows[0]) if rows else None

    def add_delegated_key(self, key: DelegatedKeyRow) -> DelegatedKeyRow:
        """Keep `key` for its window unless one is kept already; either way, the window's key."""

        def work(transaction) -> DelegatedKeyRow:
            for row in transaction.read("DelegatedKeys", KEY_COLUMNS, key_of([key.not_before])):
                return _key_row(row)  # another worker won this window
            transaction.insert(
                "DelegatedKeys",
                [*KEY_COLUMNS, "PublicJwk", "CreatedAt"],
                [
                    [
                        key.not_before,
                        key.kid,
                        spanner_bytes(key.wrapped_private),
                        key.endorsement,
                        _public_jwk(key.endorsement),
                        spanner.COMMIT_TIMESTAMP,
                    ]
                ],
            )
            numbers.append(self._add_document(transaction, ENDORSEMENT, key.kid, key.endorsement))
            return key

        numbers: list[int] = []  # the endorsement's number, when this call's transaction kept it
        try:
            stored = with_backoff("Spanner add delegated key", lambda: self._database.run_in_transaction(work))
            if numbers and stored is key:
                self._archive_document(numbers[-1], ENDORSEMENT, key.kid, key.endorsement)
            return stored
        except api_exceptions.AlreadyExists:  # a commit whose answer was lost, or a racing one: read the winner
            stored = self.delegated_key(key.not_before)
            if stored is None:
                raise
            if stored.kid == key.kid:  # ours, committed: archive its endorsement (a replay if it was)
                for document in self.key_documents(ENDORSEMENT):
                    if document.kid == key.kid:
                        self._archive_document(document.number, ENDORSEMENT, key.kid, document.jws)
            return stored

    def delegated_keys(self) -> list[DelegatedKeyRow]:
        return [_key_row(row) for row in self._query(ALL_KEYS)]

    def add_key_revocation(self, revocation: str) -> bool:
        """Keep a revocation (JWS by the HSM key); False when one of that key is kept already."""
        kid = document_kid(revocation, REVOCATION_TYP)

        def work(transaction) -> bool:
            known = transaction.execute_sql(
                "SELECT 1 FROM KeyDocuments@{FORCE_INDEX=KeyDocumentsById} WHERE DocumentId = @id",
                {"id": document_id(REVOCATION, kid)},
                {"id": param_types.STRING},
            )
            if list(known):
                return False
            numbers.append(self._add_document(transaction, REVOCATION, kid, revocation))
            return True

        numbers: list[int] = []
        added = with_backoff("Spanner add key revocation", lambda: self._database.run_in_transaction(work))
        if added:
            self._archive_document(numbers[-1], REVOCATION, kid, revocation)
        return added

    def restore_key_document(self, number: int, kind: str, kid: str, jws: str) -> str:
        """Write back an archived (verified) key document under its number: "kept" when
        Spanner holds it, "written" when it lacked it; KeyDocumentConflict when it holds another
        under that number or that document under another: never overwritten."""
        from receipts.stores.sqlite_keys import KeyDocumentConflict

        identifier = document_id(kind, kid)

        def work(transaction):
            held = list(
                transaction.execute_sql(
                    HELD, {"number": number, "id": identifier}, {"number": param_types.INT64, "id": param_types.STRING}
                )
            )
            if not held:
                transaction.insert(
                    "KeyDocuments",
                    [*DOCUMENT_COLUMNS, "CreatedAt"],
                    [[number, identifier, kind, kid, jws, payload_hash(jws), spanner.COMMIT_TIMESTAMP]],
                )
            return held

        held = with_backoff("Spanner restore key document", lambda: self._database.run_in_transaction(work))
        if not held:
            return "written"
        if all(tuple(row) == (number, identifier, jws) for row in held):
            return "kept"
        raise KeyDocumentConflict(
            f"Spanner holds {', '.join(f'{row[1]} as number {row[0]}' for row in held)}, where the archive has "
            f"{identifier} as number {number}: nothing was overwritten"
        )

    def key_documents(self, kind: str | None = None) -> list[KeyDocument]:
        if kind is None:
            rows = self._query(ALL_DOCUMENTS)
        else:
            rows = self._query(DOCUMENTS_OF_KIND, {"kind": kind}, {"kind": param_types.STRING})
        return [KeyDocument(*row) for row in rows]

    def _archive_document(self, number: int, kind: str, kid: str, jws: str) -> None:
        """Write-once into gs://BUCKET/keys/ (after the commit): see the module docstring."""
        with _bucket_lock:
            if getattr(self, "_keys_bucket", None) is None:
                from receipts.stores.gcp.bucket_statements import BucketKeyDocuments

                self._keys_bucket = BucketKeyDocuments(key_documents_url(f"gs://{self.location.bucket}"))
        self._keys_bucket.write_once(key_document_path(number, kind, kid), jws.encode("ascii"))

    def _add_document(self, transaction, kind: str, kid: str, jws: str) -> int:
        """The next numbered document, in the caller's transaction: reading the largest number
        makes two concurrent adds conflict, so numbers are never taken twice nor skipped."""
        [(number,)] = list(transaction.execute_sql(NEXT_NUMBER))
        transaction.insert(
            "KeyDocuments",
            [*DOCUMENT_COLUMNS, "CreatedAt"],
            [[number, document_id(kind, kid), kind, kid, jws, payload_hash(jws), spanner.COMMIT_TIMESTAMP]],
        )
        return number
