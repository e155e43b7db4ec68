"""`receipts restore`'s last step: rebuild the store's transparency-log tables (stored hashes,
leaves, marks, kept checkpoints, the sequencer's state) from the log's published files beside
the archive, verified first (receipts.restoration.log), so that the next `receipts log
integrate` continues the same log: the next leaf is the published size, every checkpoint it
signs is consistent with the published ones, and the proofs of logged receipts still hold.

Run after the store's receipts are restored (the leaves must be stored receipts). A store
whose log tables survived is left alone when they are the published tree (or extend it);
receipts the log never held stay unlogged, for the next integration. One restored from an older
backup, whose log tables hold a prefix of the published tree, gets the published tree.
"""

from dataclasses import asdict, dataclass

from receipts.restoration.log import LogRestoreRefused, leaves_by_entry, log_rows, published_log
from receipts.stores.log_files import LogFiles
from receipts.tlog.notes import Verifier
from receipts.tlog.stored import HashReadError, tree_hash

REBUILT, INTACT, NOTHING, REFUSED = "rebuilt", "intact", "nothing_published", "refused"


@dataclass(frozen=True)
class LogRestore:
    """What the log's restore did, for the restore's report."""

    outcome: str  # REBUILT, INTACT, NOTHING or REFUSED
    where: str
    size: int = 0  # the tree the store's log now holds
    signed: int = 0  # the latest published checkpoint's size
    adopted: int = 0  # leaves past it, from orphaned bundles
    checkpoints: int = 0
    customers: int = 0
    files_checked: int = 0
    replaced: int = 0  # entries of a log the store held before (a prefix of the published one)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != REFUSED

    def report(self) -> dict:
        return asdict(self)


def restore_log(store, files: LogFiles, verifier: Verifier) -> LogRestore:
    """Verify the published log and write the store's log tables from it (see the module)."""
    where = files.where()
    try:
        published = published_log(files.paths(), files.read, verifier)
        if published is None:
            return LogRestore(NOTHING, where)
        counts = {
            "size": published.size,
            "signed": published.signed,
            "adopted": published.adopted,
            "checkpoints": len(published.checkpoints),
            "files_checked": published.files,
        }
        state = store.log_state()
        kept = state.size if state is not None else 0
        if kept:
            _check_kept(state, published, store)
            if kept >= published.size:
                return LogRestore(INTACT, where, **{**counts, "size": state.size})
        rows = log_rows(published, leaves_by_entry(store.stored_leaves()))
        if not store.restore_log(rows, replacing=kept):  # another sequencer moved the log meanwhile: look again
            return restore_log(store, files, verifier)
        return LogRestore(REBUILT, where, customers=len(rows.marks), replaced=kept, **counts)
    except LogRestoreRefused as error:
        return LogRestore(REFUSED, where, reason=str(error))


def _check_kept(state, published, store) -> None:
    """A store that kept its log tables: they must be a prefix of the published tree, or extend it."""
    if state.origin != published.origin:
        raise LogRestoreRefused(f"the store's log is {state.origin!r}, the published one {published.origin!r}")
    common = min(state.size, published.size)  # behind (an older backup) is fine when it is a prefix
    try:
        root = tree_hash(common, store.log_hash_reader())
    except HashReadError as error:
        raise LogRestoreRefused(f"the store's log tables are incomplete: {error}") from None
    if root != tree_hash(common, published.hashes):
        raise LogRestoreRefused(
            f"the store's log of {state.size} entries is not the published tree of {published.size} entries: "
            "they forked"
        )
