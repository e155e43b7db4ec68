"""The reconciliation's reads and checks of the transparency log (receipts.reconciliation.log).

- `ReadLogLeaves`: the log's size read once, its leaves read in ranges, in parallel, each
  keyed by the receipt id it names.
- `CheckLogTree`: one element: the latest checkpoint against the store's stored hashes and
  the published tiles.
- `CheckLogged`: per receipt id, the ledger's receipt (keyed the same way by
  transforms.reconcile_sources.ReadCustomer) against its leaves; a receipt the first reads
  could not match is looked up once more (a job integrating meanwhile is not a discrepancy).
"""

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.reconciliation.log import LaterReads, Leaf, LogTree, check_log_tree, check_logged
from receipts.stores.log_files import tile_fetcher
from receipts.stores.log_locations import log_url, open_log_files
from receipts.stores.worker_stores import acquire_store, release_store
from receipts.tlog.checkpoints import parse_checkpoint
from receipts.tlog.stored import tree_hash
from receipts.tlog.tile_reader import TileHashReader

LEAF_RANGE = 65_536  # leaves per parallel read
STORED, LEAVES = "stored", "leaves"


class _StoreDoFn(beam.DoFn):
    def __init__(self, store_url: str) -> None:
        self.store_url = store_url

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)


class LeafRanges(_StoreDoFn):
    """Anything -> (first, end) ranges covering the log's leaves, and the size on 'size'."""

    def process(self, _):
        state = self.store.log_state()
        size = state.size if state else 0
        yield beam.pvalue.TaggedOutput("size", size)
        for first in range(0, size, LEAF_RANGE):
            yield first, min(size, first + LEAF_RANGE)


class ReadLeaves(_StoreDoFn):
    """(first, end) -> (receipt_id, Leaf) for each leaf of the range."""

    def __init__(self, store_url: str) -> None:
        super().__init__(store_url)
        self.read = Metrics.counter("reconcile", "log_leaves_read")

    def process(self, bounds):  # (first, end); untyped: LeafRanges also yields its tagged size
        for index, receipt_id, entry, indexed in self.store.log_leaves(*bounds):
            self.read.inc()
            yield receipt_id, Leaf(index, receipt_id, entry, indexed)


class ReadLogLeaves(beam.PTransform):
    """PBegin -> {'leaves': (receipt_id, Leaf), 'size': the log's size, 'count': leaves read}."""

    def __init__(self, store_url: str) -> None:
        super().__init__()
        self.store_url = store_url

    def expand(self, begin):
        ranges = (
            begin
            | "Once" >> beam.Create([None])
            | "LeafRanges" >> beam.ParDo(LeafRanges(self.store_url)).with_outputs("size", main="ranges")
        )
        leaves = (
            ranges.ranges | "SpreadRanges" >> beam.Reshuffle() | "ReadLeaves" >> beam.ParDo(ReadLeaves(self.store_url))
        )
        count = leaves | "CountLeaves" >> beam.combiners.Count.Globally()
        return {LEAVES: leaves, "size": ranges.size, "count": count}


class CheckLogTree(_StoreDoFn):
    """The log's size -> one CustomerResult: the latest checkpoint is of the store's tree
    and the published tiles (beside `archive_url`, when given) make it."""

    def __init__(self, store_url: str, archive_url: str | None) -> None:
        super().__init__(store_url)
        self.archive_url = archive_url

    def process(self, size: int, leaves_read: int):
        note = self.store.latest_checkpoint()
        tree = LogTree(size, None, None, None, None, leaves_read)
        if note is not None:
            text, _, _ = note.decode("utf-8", "replace").partition("\n\n")
            try:
                checkpoint = parse_checkpoint(text + "\n")
            except ValueError as error:
                tree = LogTree(size, None, None, None, None, leaves_read, f"the latest checkpoint: {error}")
            else:
                tree = LogTree(
                    size,
                    checkpoint.size,
                    checkpoint.root,
                    _root(lambda: tree_hash(checkpoint.size, self.store.log_hash_reader())),
                    self._tiles_root(checkpoint.size, checkpoint.root),
                    leaves_read,
                )
        yield check_log_tree(tree)

    def _tiles_root(self, size: int, root: bytes) -> bytes | str | None:
        if not self.archive_url or not size:
            return None
        files = open_log_files(log_url(self.archive_url))
        reader = TileHashReader(size, root, tile_fetcher(files))
        return _root(lambda: tree_hash(size, reader))  # checked against the signed root, tile by tile


def _root(compute) -> bytes | str:
    try:
        return compute()
    except (ValueError, LookupError) as error:
        return str(error)


class CheckLogged(_StoreDoFn):
    """(receipt_id, {'stored': [StoredReceipt], 'leaves': [Leaf]}) -> a CustomerResult when
    there is anything to count."""

    def __init__(self, store_url: str) -> None:
        super().__init__(store_url)
        self.discrepancies = Metrics.counter("reconcile", "discrepancies_log")

    def process(self, element):
        receipt_id, grouped = element
        stored, leaves = list(grouped[STORED]), list(grouped[LEAVES])
        later = None
        if (stored and not leaves and stored[0].sequence <= stored[0].logged_through) or (leaves and not stored):
            later = LaterReads(self.store.log_leaf_index(receipt_id), self._held(receipt_id))
        result = check_logged(receipt_id, stored, leaves, later)
        self.discrepancies.inc(len(result.discrepancies))
        yield result

    def _held(self, leaf_id: str) -> bool:
        """Does the store hold what a leaf names: a statement, a key document or a receipt?"""
        if leaf_id.startswith("s_"):
            return self.store.statement(leaf_id) is not None
        if leaf_id.startswith(("endorsement:", "revocation:")):
            read = getattr(self.store, "key_documents", None)
            return read is not None and any(document.document_id == leaf_id for document in read())
        return self.store.receipt(leaf_id) is not None
