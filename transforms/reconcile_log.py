"""The reconciliation's reads and checks of the transparency log (receipts.reconciliation.log).

- `ReadLogLeaves`: the log's size read once (with the number of shards the check uses for
  it), its leaves read in ranges, in parallel, gathered per shard of the receipt ids they name.
- `ShardLogged`: the ledger's receipts (a list per customer from
  transforms.reconcile_sources.ReadCustomer) gathered per shard the same way.
- `CheckLogTree`: one element: the latest checkpoint against the store's stored hashes and
  the published tiles.
- `CheckLogged`: per shard (about SHARD_LEAVES leaves: one join per shard, not one per
  receipt, whose per-key cost was most of the check), each receipt id's stored receipt
  against its leaves; a receipt the first reads could not match is looked up once more (a
  job integrating meanwhile is not a discrepancy).
"""

import apache_beam as beam
from apache_beam.metrics import Metrics

from receipts.reconciliation.log import (
    LaterReads,
    Leaf,
    LogTree,
    check_log_tree,
    check_shard,
    shard_count,
    shard_of,
)
from receipts.stores.log_files import tile_fetcher
from receipts.stores.log_locations import log_url, open_log_files
from receipts.stores.worker_stores import acquire_store, release_store
from receipts.tlog.checkpoints import parse_checkpoint
from receipts.tlog.stored import tree_hash
from receipts.tlog.tile_reader import TileHashReader

LEAF_RANGE = 65_536  # leaves per parallel read
STORED, LEAVES, SIZE, RANGES = "stored", "leaves", "log_size", "ranges"


class _StoreDoFn(beam.DoFn):
    def __init__(self, store_url: str) -> None:
        self.store_url = store_url

    def setup(self) -> None:
        self.store = acquire_store(self.store_url)

    def teardown(self) -> None:
        release_store(self.store)


class LeafRanges(_StoreDoFn):
    """Anything -> (SIZE, (size, shards)) once: the log's size and how many shards its check
    is cut into; then (RANGES, (first, end, shards)) ranges covering its leaves. One
    output, split by tag after: on the local runner a tagged output of this step also
    received the main output's elements."""

    def process(self, _):
        state = self.store.log_state()
        size = state.size if state else 0
        shards = shard_count(size)
        yield SIZE, (size, shards)
        for first in range(0, size, LEAF_RANGE):
            yield RANGES, (first, min(size, first + LEAF_RANGE), shards)


def _tagged(tag: str):
    return lambda item: [item[1]] if item[0] == tag else []


class ReadLeaves(_StoreDoFn):
    """(first, end, shards) -> (shard, [Leaf]) for the range's leaves, per shard of the receipt id each names."""

    def __init__(self, store_url: str) -> None:
        super().__init__(store_url)
        self.read = Metrics.counter("reconcile", "log_leaves_read")

    def process(self, bounds: tuple[int, int, int]):
        first, end, shards = bounds
        per_shard: dict[int, list[Leaf]] = {}
        for index, receipt_id, entry, indexed in self.store.log_leaves(first, end):
            per_shard.setdefault(shard_of(receipt_id, shards), []).append(Leaf(index, receipt_id, entry, indexed))
        for leaves in per_shard.values():
            self.read.inc(len(leaves))
        yield from per_shard.items()


class ReadLogLeaves(beam.PTransform):
    """PBegin -> {'leaves': (shard, [Leaf]), 'size': (the log's size, shards), 'count': leaves read}."""

    def __init__(self, store_url: str) -> None:
        super().__init__()
        self.store_url = store_url

    def expand(self, begin):
        read = begin | "Once" >> beam.Create([None]) | "LeafRanges" >> beam.ParDo(LeafRanges(self.store_url))
        size = read | "LogSize" >> beam.FlatMap(_tagged(SIZE))
        leaves = (
            read
            | "Ranges" >> beam.FlatMap(_tagged(RANGES))
            | "SpreadRanges" >> beam.Reshuffle()
            | "ReadLeaves" >> beam.ParDo(ReadLeaves(self.store_url))
        )
        count = (
            leaves
            | "LeavesPerShard" >> beam.Map(lambda item: len(item[1]))
            | "CountLeaves" >> beam.CombineGlobally(sum)
        )
        return {LEAVES: leaves, "size": size, "count": count}


class ShardLogged(beam.DoFn):
    """[(receipt_id, StoredReceipt)] (a customer's) -> (shard, [(receipt_id, StoredReceipt)])
    per shard, given the log's (size, shards)."""

    def process(self, stored, size_and_shards: tuple[int, int]):
        shards = size_and_shards[1]
        per_shard: dict[int, list] = {}
        for item in stored:
            per_shard.setdefault(shard_of(item[0], shards), []).append(item)
        yield from per_shard.items()


class CheckLogTree(_StoreDoFn):
    """The log's size -> one CustomerResult: the latest checkpoint is of the store's tree
    and the published tiles (beside `archive_url`, when given) make it."""

    def __init__(self, store_url: str, archive_url: str | None) -> None:
        super().__init__(store_url)
        self.archive_url = archive_url

    def process(self, size_and_shards: tuple[int, int], leaves_read: int):
        size = size_and_shards[0]
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
    """(shard, {'stored': [[(receipt_id, StoredReceipt)]], 'leaves': [[Leaf]]}) -> one
    CustomerResult for the shard's receipt ids."""

    def __init__(self, store_url: str) -> None:
        super().__init__(store_url)
        self.discrepancies = Metrics.counter("reconcile", "discrepancies_log")

    def process(self, element):
        _, grouped = element
        stored = [item for items in grouped[STORED] for item in items]
        leaves = [leaf for items in grouped[LEAVES] for leaf in items]
        result = check_shard(stored, leaves, self.later_reads)
        self.discrepancies.inc(len(result.discrepancies))
        yield result

    def later_reads(self, receipt_id: str) -> LaterReads:
        return LaterReads(self.store.log_leaf_index(receipt_id), self._held(receipt_id))

    def _held(self, leaf_id: str) -> bool:
        """Does the store hold what a leaf names: a statement, a key document or a receipt?"""
        if leaf_id.startswith("s_"):
            return self.store.statement(leaf_id) is not None
        if leaf_id.startswith(("endorsement:", "revocation:")):
            read = getattr(self.store, "key_documents", None)
            return read is not None and any(document.document_id == leaf_id for document in read())
        return self.store.receipt(leaf_id) is not None
