"""Is what a client holds in the log? The client's side of the log, for `receipts verify
--log`: a checkpoint opened with the log's key and its witnesses' cosignatures counted one by
one, and for each held entry (a receipt's or a statement's hash) its leaf found in the public
entry bundles and its inclusion proof made from the public tiles and checked against the
signed root.

Nothing the log serves is believed unchecked. The tiles are read through TileHashReader
(each tile checked against the signed root, or its parent tile); an entry bundle only says
where to look: the leaf it names is then proven with the tiles, so a bundle that lies about
an entry's place is caught, and one that hides an entry can only make it fail as absent.
"""

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from receipts.tlog.checkpoints import Checkpoint, open_checkpoint
from receipts.tlog.cosignatures import CosignatureVerifier
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.notes import Note, Verifier
from receipts.tlog.proofs import ProofError, verify_inclusion
from receipts.tlog.proving import inclusion_indexes, prove_inclusion
from receipts.tlog.stored import MemoryHashes
from receipts.tlog.tile_reader import TileError, TileHashReader
from receipts.tlog.tiles import ENTRIES, TILE_WIDTH, Tile, parse_entry_bundle

Fetch = Callable[[Tile], bytes]


def remembering(fetch: Fetch) -> Fetch:
    """`fetch` asked once per tile: a tile's path names its width, so its bytes never change,
    and every inclusion proof of one run reads the same few tiles near the root."""
    seen: dict[Tile, bytes] = {}

    def fetch_once(tile: Tile) -> bytes:
        if tile not in seen:
            seen[tile] = fetch(tile)
        return seen[tile]

    return fetch_once


@dataclass(frozen=True)
class Cosigned:
    """The trusted witnesses whose cosignatures of a checkpoint verify, and those whose
    cosignature line is there but does not verify (each counts for nothing)."""

    valid: tuple[str, ...]
    invalid: tuple[str, ...]
    trusted: int
    quorum: int

    @property
    def ok(self) -> bool:
        return len(self.valid) >= self.quorum

    @property
    def reason(self) -> str:
        if not self.trusted:
            return "no witness is trusted (none configured), so no cosignature is needed"
        said = f"{len(self.valid)} of {self.trusted} cosignatures"
        if self.valid:
            said += f" ({', '.join(self.valid)})"
        said += f", quorum {self.quorum}"
        if self.invalid:
            said += f"; the cosignature of {', '.join(self.invalid)} does not verify"
        return said


def opened_checkpoint(message: bytes, log_verifier: Verifier, origin: str | None = None) -> tuple[Checkpoint, Note]:
    """The checkpoint signed by the log's key (receipts.tlog.notes errors otherwise): the
    witnesses' lines are left unverified here, to be counted one by one by `cosigned`."""
    return open_checkpoint(message, [log_verifier], origin)


def cosigned(note: Note, witnesses: Sequence[CosignatureVerifier], quorum: int) -> Cosigned:
    """Which of `witnesses` cosigned the note (C2SP tlog-cosignature), each on its own: one
    bad cosignature does not hide the others, as the site counts them."""
    distinct = {(witness.name, witness.key_id): witness for witness in witnesses}
    if not 0 <= quorum <= len(distinct):
        raise ValueError(f"a quorum of {quorum} cannot be met by {len(distinct)} witness(es)")
    valid: list[str] = []
    invalid: list[str] = []
    text = note.text.encode()
    for key, witness in distinct.items():
        lines = [s for s in (*note.signatures, *note.unverified) if (s.name, s.key_id) == key]
        if any(witness.verify(text, line.signature) for line in lines):
            valid.append(witness.name)
        elif lines:
            invalid.append(witness.name)
    return Cosigned(tuple(valid), tuple(invalid), len(distinct), quorum)


def find_entries(size: int, fetch: Fetch, wanted: Collection[bytes]) -> dict[bytes, int]:
    """The first leaf of the tree of `size` leaves holding each wanted entry, read from the
    entry bundles in order until every one is found (TileError for a bundle that is not one)."""
    remaining, found = set(wanted), {}
    for first in range(0, size, TILE_WIDTH):
        if not remaining:
            break
        bundle = Tile(ENTRIES, first // TILE_WIDTH, min(TILE_WIDTH, size - first))
        try:
            entries = parse_entry_bundle(fetch(bundle), bundle.width)
        except ValueError as error:
            raise TileError(f"{bundle.path} is not this tree's entry bundle: {error}") from error
        for offset, entry in enumerate(entries):
            if entry in remaining:
                found[entry] = first + offset
                remaining.discard(entry)
    return found


@dataclass(frozen=True)
class Inclusion:
    """One held entry against the checkpoint: its leaf, or why it is not shown to be in the log."""

    index: int | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def prove_entries(checkpoint: Checkpoint, fetch: Fetch, entries: Iterable[bytes]) -> dict[bytes, Inclusion]:
    """Each entry's inclusion in the checkpoint's tree, proven from the tiles; TileError when
    the tiles or bundles the tree needs are not this tree's (the log's fault, not an entry's)."""
    wanted = set(entries)
    size, root = checkpoint.size, checkpoint.root
    if size == 0:
        return {entry: Inclusion(None, "not in the log: its checkpoint is of the empty tree") for entry in wanted}
    fetch = remembering(fetch)
    found = find_entries(size, fetch, wanted)
    needed = sorted({stored for index in found.values() for stored in inclusion_indexes(index, size)})
    tiles = TileHashReader(size, root, fetch)  # one read: the root and each tile checked once, for every proof
    reader = MemoryHashes(dict(zip(needed, tiles.read_hashes(needed) if needed else [], strict=True)))
    results = {}
    for entry in wanted:
        index = found.get(entry)
        if index is None:
            results[entry] = Inclusion(
                None,
                f"not in the log: no leaf of the checkpoint's tree of {size} leaves holds it (a log takes in "
                "what is stored within minutes: if it was stored just now, check again later)",
            )
            continue
        try:
            verify_inclusion(leaf_hash(entry), index, size, prove_inclusion(index, size, reader), root)
        except ProofError as error:
            problem = f"the log's entry bundle names leaf {index}, but the tiles do not prove it: {error.reason}"
            results[entry] = Inclusion(index, problem)
            continue
        results[entry] = Inclusion(index)
    return results
