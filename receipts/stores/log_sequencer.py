"""The transparency log's sequencer, the same for every store: the log is derived from what
is durably stored, as the archive is (receipts.stores.archiving), so every stored receipt
becomes a leaf exactly once whatever the kill point.

One integration step:

1. **Append**, in one store transaction (`Store.append_log`): read the tree size and each
   customer's "logged through" mark, take up to `max_entries` stored receipts past the marks
   (by customer, then sequence), compute the new stored hashes with receipts.tlog.integrate,
   and write them with the leaf rows (receipt id <-> leaf index), the marks and the new size
   and root. A receipt is taken only if it extends its customer's mark, so it is taken once.
2. **Publish** the tiles and entry bundles the append completed or made partial, each path
   written once (receipts.stores.log_files), then record that tiles are out through the
   new size. The bytes depend only on the committed tree: written again after a kill, they
   are the same bytes.
3. **Checkpoint**: sign (origin, size, root) as committed, keep the note in the store (by
   size, once: the same size always has the same root) and publish it.

Killed after 1, the next step publishes what committed state lacks (from `tiles_size` to
`size`) before appending more; killed after 2, it signs the missing checkpoint. Every
checkpoint is of a committed tree, and committed trees only grow by appending: no two
checkpoints are inconsistent.

Who calls `integrate_log`: the batch job once its writes are done, the streaming job every
`--log_interval` seconds, `receipts log integrate` (and `run`, `stream` when they stop).
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from receipts.rows import LogState, UnloggedReceipt
from receipts.stores.log_files import LogFileConflict, LogFiles
from receipts.stores.witnessing import Witnesses, Witnessing
from receipts.tlog.checkpoints import Checkpoint, origin_problem, sign_checkpoint
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.integrate import Integration, integrate
from receipts.tlog.notes import Signer
from receipts.tlog.stored import HashReader
from receipts.tlog.tiles import ENTRIES, TILE_WIDTH, changed_tiles, encode_entry_bundle, read_tile_data

log = logging.getLogger("receipts.log")

# Leaves per append transaction. On Spanner a leaf costs 2 mutations (its LogLeaves row) and a
# customer 2 (its mark), so a batch stays under 40,100 of the 80,000 a commit may hold.
LOG_BATCH_ENTRIES = 10_000


class LogOriginMismatch(ValueError):
    """The store's log has another origin than the one asked for: one log per deployment."""


@dataclass(frozen=True)
class Appended:
    """What one append committed: the integration (new hashes, tiles and bundles, size and
    root), the receipts it made leaves old_size, old_size + 1, … and the new marks."""

    integration: Integration
    leaves: tuple[UnloggedReceipt, ...]
    marks: dict[str, int]


def empty_state(origin: str) -> LogState:
    return LogState(origin, 0, EMPTY_ROOT, 0)


def check_origin(state: LogState | None, origin: str) -> LogState:
    """The state of the log named `origin` (an empty one if the store has none yet)."""
    problem = origin_problem(origin)
    if problem:
        raise ValueError(f"log origin {origin!r}: {problem}")
    if state is None:
        return empty_state(origin)
    if state.origin != origin:
        raise LogOriginMismatch(
            f"the store's log is {state.origin!r}, not {origin!r}: one store has one log; pass --log-origin "
            f"{state.origin} (or leave it out)"
        )
    return state


def appendable(candidates: Sequence[UnloggedReceipt], marks: dict[str, int]) -> list[UnloggedReceipt]:
    """The candidates (in customer, sequence order) that extend their customer's logged mark
    without a gap, each once: a candidate at or below its mark is logged already (another
    sequencer was first), one past a gap waits for the receipts before it."""
    taken: list[UnloggedReceipt] = []
    next_of = dict(marks)
    for receipt in candidates:
        expected = next_of.get(receipt.customer_id, 0) + 1
        if receipt.sequence == expected:
            taken.append(receipt)
            next_of[receipt.customer_id] = expected
    return taken


def plan_append(
    state: LogState,
    candidates: Sequence[UnloggedReceipt],
    marks: dict[str, int],
    reader: HashReader,
    partial_bundle: Sequence[bytes],
) -> Appended | None:
    """The append a store commits: the candidates that extend the marks, integrated after the
    log's `state.size` entries (reader: its stored hashes; partial_bundle: its last size % 256
    entries). None when nothing is left to log."""
    leaves = appendable(candidates, marks)
    if not leaves:
        return None
    integration = integrate(state.size, reader, [leaf.entry for leaf in leaves], partial_bundle)
    new_marks: dict[str, int] = {}
    for leaf in leaves:
        new_marks[leaf.customer_id] = leaf.sequence
    return Appended(integration, tuple(leaves), new_marks)


def committed_files(old_size: int, new_size: int, reader: HashReader, entries: Sequence[bytes]) -> dict[str, bytes]:
    """The tiles and entry bundles a log grown from `old_size` to `new_size` publishes, from
    its committed stored hashes; `entries` are its entries from the first bundle that
    changed, (old_size // 256) * 256, to new_size."""
    files = {tile.path: read_tile_data(tile, reader) for tile in changed_tiles(old_size, new_size)}
    first = (old_size // TILE_WIDTH) * TILE_WIDTH
    for bundle in changed_tiles(old_size, new_size, level=ENTRIES):
        start = bundle.n * TILE_WIDTH - first
        files[bundle.path] = encode_entry_bundle(entries[start : start + bundle.width])
    return files


@dataclass
class LogRun:
    """What one `integrate_log` did: receipts logged, appends, the size and checkpoint it
    left, and the first failure (whatever failed is redone by the next run)."""

    logged: int = 0
    appends: int = 0
    files: int = 0  # tile and bundle files newly written
    size: int = 0
    checkpoint: bytes | None = None
    failed: list[str] = field(default_factory=list)
    witnessing: Witnessing | None = None  # what the witnesses made of a checkpoint signed in this run

    @property
    def ok(self) -> bool:
        return not self.failed


def integrate_log(
    store,
    files: LogFiles,
    signer: Signer,
    origin: str,
    max_entries: int = LOG_BATCH_ENTRIES,
    on_append: Callable[[Appended], None] = lambda appended: None,
    max_appends: int | None = None,
    witnesses: Witnesses | None = None,
) -> LogRun:
    """Finish what a killed step left (tiles, a checkpoint), then append and publish until
    nothing stored is unlogged (or `max_appends` appends), then sign and keep a checkpoint
    of the committed size. A failure stops the run and is named in the result."""
    if signer.name != origin:
        raise ValueError(f"the log key is named {signer.name!r}; the log's origin is {origin!r}: they must agree")
    run = LogRun()
    try:
        if store.ensure_log(origin).tiles_size == 0 and store.latest_checkpoint() is None:  # its first files
            _refuse_another_log(files)
        _publish_committed(store, files, origin, run)
        while max_appends is None or run.appends < max_appends:
            appended = store.append_log(origin, max_entries)
            if appended is None:
                break
            integration = appended.integration
            run.appends += 1
            run.logged += len(appended.leaves)
            run.files += files.write_all(integration.files())
            if store.mark_log_published(integration.old_size, integration.size) < integration.size:
                _publish_committed(store, files, origin, run)  # another sequencer's append is not out yet
            on_append(appended)
        run.checkpoint, run.size = checkpoint(store, files, signer, origin, run, witnesses)
    except Exception as error:  # an outage, a refusal: nothing is lost, the next run redoes it
        log.exception("log integration of %s stopped", origin)
        run.failed.append(f"{type(error).__name__}: {error}")
    return run


def _publish_committed(store, files: LogFiles, origin: str, run: LogRun) -> LogState:
    """Publish the tiles committed state has and the files lack (a kill after an append);
    return that state: its tiles are all out now."""
    state = check_origin(store.log_state(), origin)
    if state.tiles_size >= state.size:
        return state
    first = (state.tiles_size // TILE_WIDTH) * TILE_WIDTH
    entries = store.log_entries(first, state.size)
    run.files += files.write_all(committed_files(state.tiles_size, state.size, store.log_hash_reader(), entries))
    store.mark_log_published(state.tiles_size, state.size)
    return state


def _refuse_another_log(files: LogFiles) -> None:
    """Before a log's first files: refuse a folder or bucket that holds a signed log already
    (a store reset under a kept archive). Its tiles at other sizes would not collide, and a
    checkpoint of this tree would fork from the published ones: restore the store's log."""
    sizes = [path.removeprefix("checkpoints/") for path in files.paths() if path.startswith("checkpoints/")]
    signed = max((int(size) for size in sizes if size.isdigit()), default=0)
    if signed:
        raise LogFileConflict(
            f"{files.where()} holds a published log (checkpoints up to size {signed}) that the store's empty log "
            "does not continue: nothing was written. `receipts restore` rebuilds the store's log from those files; "
            "or move the folder aside (or give the new store another archive)."
        )


def checkpoint(
    store, files: LogFiles, signer: Signer, origin: str, run: LogRun | None = None, witnesses: Witnesses | None = None
) -> tuple[bytes, int]:
    """The signed checkpoint of the committed tree (signed now if the store has none for its
    size, and cosigned by whichever `witnesses` answer), kept in the store and published; and
    that size. Its tiles are published first: a checkpoint is never out before the tiles
    that prove it."""
    run = run or LogRun()
    state = _publish_committed(store, files, origin, run)
    note = store.checkpoint(state.size)
    if note is None:
        signed = sign_checkpoint(Checkpoint(origin, state.size, state.root), [signer])
        if witnesses is not None and witnesses.policy.witnesses:
            run.witnessing = witnesses.cosign(signed, state.size, store.log_hash_reader())
            signed = run.witnessing.note
        note = store.add_checkpoint(state.size, signed)
    files.publish_checkpoint(state.size, note)
    return note, state.size
