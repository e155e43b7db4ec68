"""A client's check that held entries are in the log (receipts.tlog.held_entries): each
found in the entry bundles and proven from the tiles; a bundle that lies about an entry's
place is caught by the proof, one that hides it makes it absent, a tile that does not make
the root is the log's fault; and cosignatures are counted one by one."""

import base64

import pytest

from receipts.tlog.held_entries import cosigned, opened_checkpoint, prove_entries
from receipts.tlog.notes import with_signature_lines
from receipts.tlog.proving import inclusion_indexes, prove_inclusion
from receipts.tlog.stored import MemoryHashes
from receipts.tlog.tile_reader import TileError
from receipts.tlog.tiles import Tile, encode_entry_bundle, read_tile_data
from receipts.tlog.witness import MemoryWitnessState, Witness
from tests.tlog.naive import entry
from tests.tlog.witnessing import Log, witness_signer

SIZE = 600


def served(log: Log, bundles: dict[int, list[bytes]] | None = None):
    """What a static tlog-tiles server of `log` answers, with some bundles replaced."""

    def fetch(tile: Tile) -> bytes:
        if tile.is_entry_bundle:
            first = tile.n * 256
            entries = (bundles or {}).get(tile.n) or [entry(i) for i in range(first, first + tile.width)]
            return encode_entry_bundle(entries)
        return read_tile_data(tile, log.hashes)

    return fetch


def test_held_entries_are_proven_and_others_are_absent() -> None:
    log = Log().grow(SIZE)
    held = [entry(0), entry(255), entry(256), entry(599), entry(SIZE)]
    results = prove_entries(log.checkpoint(), served(log), held)
    assert [results[e].index for e in held[:4]] == [0, 255, 256, 599]
    assert all(results[e].ok for e in held[:4])
    assert not results[entry(SIZE)].ok and "not in the log" in (results[entry(SIZE)].problem or "")


def test_a_bundle_that_lies_about_a_place_is_caught_and_one_that_hides_makes_it_absent() -> None:
    log = Log().grow(SIZE)
    second = [entry(i) for i in range(256, 512)]
    second[3], second[4] = second[4], second[3]  # leaves 259 and 260 swapped
    hidden = [entry(i) for i in range(512, SIZE)]
    hidden[0] = b"\x00" * 32
    results = prove_entries(log.checkpoint(), served(log, {1: second, 2: hidden}), [entry(259), entry(512)])
    assert "the tiles do not prove it" in (results[entry(259)].problem or "")
    assert "not in the log" in (results[entry(512)].problem or "")


def test_a_tile_that_does_not_make_the_root_is_the_logs_fault() -> None:
    log = Log().grow(SIZE)
    honest = served(log)

    def tampered(tile: Tile) -> bytes:
        data = honest(tile)
        return data if tile.is_entry_bundle or tile.level else bytes([data[0] ^ 1]) + data[1:]

    with pytest.raises(TileError):
        prove_entries(log.checkpoint(), tampered, [entry(1)])


def test_cosignatures_are_counted_one_by_one() -> None:
    log = Log().grow(4)
    good, other = witness_signer(), witness_signer()
    line = Witness.for_vkeys(good, [log.signer.verifier.key.vkey], MemoryWitnessState()).add_checkpoint(log.body(0))
    note = with_signature_lines(log.note(), line.body)
    _, opened = opened_checkpoint(note, log.signer.verifier)
    counted = cosigned(opened, [good.verifier], 1)
    assert counted.ok and counted.valid == (good.name,)
    name, encoded = line.body.decode().removeprefix("— ").split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    forged = f"— {name} {base64.b64encode(bytes(raw)).decode()}\n".encode()
    _, bad = opened_checkpoint(with_signature_lines(log.note(), forged), log.signer.verifier)
    counted = cosigned(bad, [good.verifier], 1)
    assert not counted.ok and counted.invalid == (good.name,) and "does not verify" in counted.reason
    with pytest.raises(ValueError, match="cannot be met"):
        cosigned(opened, [good.verifier, other.verifier], 3)


def test_inclusion_indexes_are_what_a_proof_reads() -> None:
    log = Log().grow(300)
    asked: list[int] = []

    class Recording:
        def read_hashes(self, indexes):
            asked.extend(indexes)
            return log.hashes.read_hashes(indexes)

    for size in (1, 2, 3, 7, 8, 9, 255, 256, 257, 300):
        for index in {0, size // 2, size - 1}:
            asked.clear()
            path = prove_inclusion(index, size, Recording())
            assert asked == inclusion_indexes(index, size)
            held = MemoryHashes(dict(zip(asked, log.hashes.read_hashes(asked), strict=True)))
            assert prove_inclusion(index, size, held) == path
