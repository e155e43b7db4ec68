"""What the reconciliation reads, as PCollections keyed by customer_id.

- `ReadStores`: customers listed per id range in parallel, then per customer, in parallel,
  its state rows (one snapshot at the cut) and its ledger as stored.
- `ReadArchive`: the archive's files (a folder) or objects (gs://) listed, then one read
  per file, in parallel; every line becomes a receipt keyed by customer, or a discrepancy.

No step holds more than one customer's rows or one archive file.
"""

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.reconciliation import ArchivedCopy, CustomerResult, Tally
from receipts.reconciliation.findings import ARCHIVE, LEDGER, STATE
from receipts.reconciliation.log import StoredReceipt
from receipts.reconciliation.stores import archived_copy
from receipts.rows import KEYS_MARK, statements_mark
from receipts.stores.archives import open_archive
from receipts.stores.retry import with_backoff
from receipts.stores.worker_stores import acquire_store, release_store

LOGGED = "logged"  # per customer, its ledger receipts as (receipt_id, StoredReceipt), for the log's check
CUSTOMERS = "customers"  # every customer id listed, once
UNREADABLE = "unreadable"  # the third CoGroupByKey input, beside the stores' (findings: STATE, LEDGER, ARCHIVE)
# Customer ids are [A-Za-z0-9_-]: these bounds cut the id space into ranges listed in parallel
# (an id outside the pattern still falls in the first or last range).
RANGE_BOUNDS = ("0", "5", "A", "H", "O", "V", "_", "a", "e", "i", "m", "q", "u")


def customer_ranges(bounds: tuple[str, ...] = RANGE_BOUNDS) -> list[tuple[str, str | None]]:
    """[first, before) ranges covering every string: ("", b0), (b0, b1), ..., (bn, None)."""
    starts = ("", *bounds)
    return list(zip(starts, (*bounds, None), strict=True))


class ListCustomers(beam.DoFn):
    """(first, before) -> every customer id in that range with a receipt or a state row."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.listed = Metrics.counter("reconcile", "customers_listed")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, bounds: tuple[str, str | None]):
        for customer_id in self.store.customers(*bounds):
            self.listed.inc()
            yield customer_id


class ReadCustomer(beam.DoFn):
    """customer_id -> (customer_id, CustomerState) on 'state', then (customer_id, [LedgerEntry])
    with the customer's whole ledger (one element per customer: the check needs the chain in
    one pass anyway, and each element costs the runner more than a receipt costs to carry).
    The state is read first, at the cut (`as_of`): a receipt the ledger gained since lies
    past the chain head the state had and is left for the next run."""

    def __init__(self, store_url: str, as_of: str | None, read_ledger: bool) -> None:
        self.store_url, self.as_of, self.read_ledger = store_url, as_of, read_ledger
        self.ledger_read = Metrics.counter("reconcile", "ledger_receipts_read")

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, customer_id: str):
        yield beam.pvalue.TaggedOutput(STATE, (customer_id, self.store.customer_state(customer_id, self.as_of)))
        if self.read_ledger:
            entries = list(self.store.ledger_entries(customer_id))
            self.ledger_read.inc(len(entries))
            yield customer_id, entries
            logged_through = self.store.logged_through(customer_id)
            logged = []  # for the log's check, one list per customer (transforms.reconcile_log shards it)
            for entry in entries:
                stored = _stored_receipt(customer_id, entry.receipt, logged_through)
                if stored is not None:
                    logged.append(stored)
            if hasattr(self.store, "statements"):  # statements are leaves too: numbered 1, 2, … by period
                mark = statements_mark(customer_id)
                through = self.store.logged_through(mark)
                for number, statement in enumerate(self.store.statements(customer_id), start=1):
                    logged.append(
                        (statement["statement_id"], StoredReceipt(mark, number, statement["statement_hash"], through))
                    )
            if logged:
                yield beam.pvalue.TaggedOutput(LOGGED, logged)


class ReadKeyDocuments(beam.DoFn):
    """(anything) -> [(document_id, StoredReceipt)] of the endorsements and revocations the store
    keeps, in one list as ReadCustomer gives a customer's (ShardLogged takes lists): log leaves
    too, numbered 1, 2, … under receipts.rows.KEYS_MARK (receipts.stores.sqlite_keys)."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)

    def process(self, _):
        read = getattr(self.store, "key_documents", None)
        if read is None:
            return
        through = self.store.logged_through(KEYS_MARK)
        documents = [
            (document.document_id, StoredReceipt(KEYS_MARK, document.number, document.document_hash, through))
            for document in read()
        ]
        if documents:
            yield documents


def _stored_receipt(customer_id: str, receipt: dict, logged_through: int) -> tuple[str, StoredReceipt] | None:
    """(receipt_id, StoredReceipt) of a ledger receipt; None for one too broken to name (the
    chain's checks name it)."""
    receipt_id, sequence, digest = receipt.get("receipt_id"), receipt.get("sequence"), receipt.get("receipt_hash")
    if not (isinstance(receipt_id, str) and type(sequence) is int and isinstance(digest, str)):
        return None
    return receipt_id, StoredReceipt(customer_id, sequence, digest, logged_through)


class ReadStores(beam.PTransform):
    """PBegin -> {'state': (customer_id, CustomerState), 'ledger': (customer_id, [LedgerEntry]),
    'logged': (receipt_id, StoredReceipt), for the log's check, 'customers': customer_id}."""

    def __init__(self, store_url: str, as_of: str | None, read_ledger: bool) -> None:
        super().__init__()
        self.store_url, self.as_of, self.read_ledger = store_url, as_of, read_ledger

    def expand(self, begin):
        customers = (
            begin
            | "CustomerIdRanges" >> beam.Create(customer_ranges())
            | "ListCustomers" >> beam.ParDo(ListCustomers(self.store_url))
            | "SpreadCustomers" >> beam.Reshuffle()
        )
        read = customers | "ReadStateAndLedger" >> beam.ParDo(
            ReadCustomer(self.store_url, self.as_of, self.read_ledger)
        ).with_outputs(STATE, LOGGED, main=LEDGER)
        if not self.read_ledger:
            return {STATE: read[STATE], LEDGER: read[LEDGER], LOGGED: read[LOGGED], CUSTOMERS: customers}
        keys = (
            begin
            | "OnceForKeys" >> beam.Create([None])
            | "ReadKeyDocuments" >> beam.ParDo(ReadKeyDocuments(self.store_url))
        )
        logged = (read[LOGGED], keys) | "ReceiptsStatementsAndKeys" >> beam.Flatten()
        return {STATE: read[STATE], LEDGER: read[LEDGER], LOGGED: logged, CUSTOMERS: customers}


class ListArchiveFiles(beam.DoFn):
    """Archive location -> the name of each file (a folder) or object (gs://bucket/prefix)."""

    def process(self, url: str):
        yield from with_backoff(f"list {url}", open_archive(url).objects)


class ReadArchiveFile(beam.DoFn):
    """One archive file -> (customer_id, [ArchivedCopy]) per customer in it, lines split on
    "\\n" only; a line that is not a receipt -> a CustomerResult naming it, on 'unreadable'."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lines_read = Metrics.counter("reconcile", "archive_lines_read")
        self.unreadable = Metrics.counter("reconcile", "discrepancies_stores")

    def setup(self) -> None:
        self.archive = open_archive(self.url)

    def process(self, name: str):
        data = with_backoff(f"read {name}", lambda: self.archive.read(name))
        where = self.archive.where(name)
        per_customer: dict[str, list[ArchivedCopy]] = {}
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line:
                continue
            self.lines_read.inc()
            copy = archived_copy(line, f"{where} line {number}")
            if isinstance(copy, ArchivedCopy):
                per_customer.setdefault(copy.receipt["customer_id"], []).append(copy)
            else:
                self.unreadable.inc()
                tally = Tally()
                tally.found([copy])
                yield beam.pvalue.TaggedOutput(UNREADABLE, CustomerResult(None, (copy,), tally))
        yield from per_customer.items()


class ReadArchive(beam.PTransform):
    """PBegin -> {'archive': (customer_id, [ArchivedCopy]), 'unreadable': CustomerResult}."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def expand(self, begin):
        read = (
            begin
            | "ArchiveLocation" >> beam.Create([self.url])
            | "ListArchiveFiles" >> beam.ParDo(ListArchiveFiles())
            | "SpreadArchiveFiles" >> beam.Reshuffle()
            | "ReadArchiveFiles" >> beam.ParDo(ReadArchiveFile(self.url)).with_outputs(UNREADABLE, main=ARCHIVE)
        )
        return {ARCHIVE: read[ARCHIVE], UNREADABLE: read[UNREADABLE]}
