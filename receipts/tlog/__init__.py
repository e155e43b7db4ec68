"""The transparency log's math and formats (C2SP tlog-tiles, tlog-checkpoint,
signed-note, tlog-cosignature, tlog-witness, tlog-proof; RFC 6962 / RFC 9162 hashing):
pure functions over hashes, sizes, tiles and texts. Storage stays with the caller: hashes
come in through a `HashReader` (`read_hashes(indexes) -> hashes`), tiles through a fetch
function, the witness's state through a `WitnessState`.

Entries are the 32 raw bytes of a receipt's (statement's, endorsement's) SHA-256 payload
hash; leaf hash SHA-256(0x00 || entry), node SHA-256(0x01 || left || right).

The sequencer, per batch (receipts.tlog.integrate):

    result = integrate(size, reader, entries, partial_bundle)
    # 1. persist result.stored_hashes ({stored index: hash}, write-once) with the new size
    # 2. publish result.files() ({"tile/0/x001/234.p/7": bytes, "tile/entries/…": …}),
    #    each path written once (a partial tile's path names its width)
    # 3. sign the checkpoint and publish it at <prefix>/checkpoint:
    note = sign_checkpoint(Checkpoint(origin, result.size, result.root), [log_signer])

where `reader` reads the stored hashes persisted so far and `partial_bundle` is the log's
last `size % 256` entries. Proofs from the stored hashes: `prove_inclusion(index, size,
reader)`, `prove_consistency(size1, size2, reader)` (receipts.tlog.proving); a receipt's
proof file: `TlogProof(index, tuple(path), cosigned_note).text()` (receipts.tlog.tlog_proof).

The site serves `/log/tile/...` from `parse_tile_path(path)` (strict, hostile input;
`in_tree(tile, size)` before looking the tile up) and `/log/checkpoint`; clients check
`verify_inclusion`, `verify_consistency` (receipts.tlog.proofs), `open_checkpoint`,
`open_witnessed_checkpoint`, `verify_tlog_proof`, and read tiles with
`TileHashReader(size, root, fetch)` (receipts.tlog.tile_reader), which checks every tile
against the signed root. A client holding entries checks them all at once with
`prove_entries(checkpoint, fetch, entries)` and counts cosignatures one by one with
`cosigned(note, witnesses, quorum)` (receipts.tlog.held_entries).

Keys (receipts.tlog.note_keys): `generate_key(name)`, `parse_private_key(text)`,
`parse_vkey(vkey)`, `NoteSigner`, `NoteVerifier`; the witness's key and checks in
receipts.tlog.cosignatures, its protocol in receipts.tlog.witness.
"""
