"""The reconciliation's archive-completeness step (receipts.reconciliation.archive_copies):
one element in, the store's statements and key documents against the archive's statements/
and keys/ (beside the receipts' archive), one CustomerResult (customer None) out. A store
that keeps neither has nothing to check."""

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.reconciliation.archive_copies import KEY_DOCUMENT_RULE, STATEMENT_RULE, Stored, archive_copy_findings
from receipts.reconciliation.findings import STORES, CustomerResult, Tally
from receipts.records import export_line
from receipts.stores.archives import open_key_document_archive, open_statement_archive
from receipts.stores.key_document_files import key_document_path, parse_key_document_path
from receipts.stores.statement_files import statement_path
from receipts.stores.worker_stores import acquire_store, release_store


def _statement_name(path: str) -> tuple[str | None, str]:
    return None, path.rsplit("/", 1)[-1].removesuffix(".jsonl")


def _key_document_name(path: str) -> tuple[str | None, str]:
    name = parse_key_document_path(path)
    return None, f"{name.kind}:{name.kid}" if name else path


class CheckArchiveCopies(beam.DoFn):
    def __init__(self, store_url: str, archive_url: str) -> None:
        self.store_url, self.archive_url = store_url, archive_url
        self.discrepancies = Metrics.counter("reconcile", "discrepancies_archive_copies")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, _):
        found, compared = [], 0
        if hasattr(self.store, "statements"):
            archive = open_statement_archive(self.archive_url)
            stored = [
                Stored(statement_path(s), export_line(s), s["customer_id"], s["statement_id"])
                for s in self.store.statements()
            ]
            more, count = archive_copy_findings(
                STATEMENT_RULE, stored, archive.paths(), archive.read, archive.where, _statement_name
            )
            found, compared = found + more, compared + count
        read_documents = getattr(self.store, "key_documents", None)
        if read_documents is not None:
            archive = open_key_document_archive(self.archive_url)
            stored = [
                Stored(key_document_path(d.number, d.kind, d.kid), d.jws.encode("ascii"), None, f"{d.kind}:{d.kid}")
                for d in read_documents()
            ]
            more, count = archive_copy_findings(
                KEY_DOCUMENT_RULE, stored, archive.paths(), archive.read, archive.where, _key_document_name
            )
            found, compared = found + more, compared + count
        tally = Tally()
        tally.examined(STORES, compared, customers=0)
        tally.found(found)
        self.discrepancies.inc(len(found))
        yield CustomerResult(None, tuple(found), tally)
