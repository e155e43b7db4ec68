"""The verifier site's log routes on the Google Cloud store (the emulators): the log's state in
Spanner, its tiles in the bucket. Every answer is checked with receipts.tlog alone against
the checkpoint the log's key signed: tiles read back to the root (TileHashReader), entry
bundles, checkpoints by size, a receipt's tlog-proof (text and JSON) for its owner, and the
consistency proof between two published sizes; content types and cache headers per C2SP
tlog-tiles."""

import pytest

from receipts.api_keys import issue_api_key
from receipts.stores.log_locations import log_url
from receipts.stores.log_sequencer import integrate_log
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.proofs import verify_consistency, verify_inclusion
from receipts.tlog.stored import stored_hash_index
from receipts.tlog.tile_reader import TileHashReader
from receipts.tlog.tiles import parse_entry_bundle, parse_tile_path
from receipts.tlog.tlog_proof import parse_tlog_proof, verify_tlog_proof
from tests.gcp.test_log_gcp import KEY, ORIGIN, log_files
from tests.test_archive_outbox import chain
from verifier_site import create_app

NOTE = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def site(cloud, signer):
    """A site over a store with 275 receipts logged in two checkpoints (270 and 275)."""
    store = cloud.store()
    first = [*chain(signer, "a", 200), *chain(signer, "b", 70)]
    store.write_receipts(first)
    assert integrate_log(store, log_files(cloud), KEY, ORIGIN).size == 270
    later = chain(signer, "b", 5, start=70)
    store.write_receipts(later)
    assert integrate_log(store, log_files(cloud), KEY, ORIGIN).size == 275
    config = {
        "STORE_URL": cloud.url,
        "KEYS_FOLDER": str(cloud.keys.folder),
        "LOG_URL": log_url(cloud.location.archive_url),
        "LOG_VKEY": KEY.verifier.key.vkey,
        "LOG_CACHE_SECONDS": 0,
        "TESTING": True,
        "SECRET_KEY": b"s",
    }
    client = create_app(config).test_client()
    key, _ = issue_api_key(store, "b")
    yield client, store, {"Authorization": f"Bearer {key}"}, [*first, *later]
    store.close()


def opened(note: bytes):
    return open_checkpoint(note, [KEY.verifier], ORIGIN)[0]


def test_the_log_is_described_and_its_checkpoint_served_as_tlog_tiles_says(site) -> None:
    client, store, _, _ = site
    info = client.get("/v1/log")
    assert info.status_code == 200 and info.headers["Access-Control-Allow-Origin"] == "*"
    assert (info.json["origin"], info.json["vkey"], info.json["tree_size"]) == (ORIGIN, KEY.verifier.key.vkey, 275)
    answer = client.get("/log/checkpoint")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == NOTE
    assert answer.headers["Cache-Control"] == "public, max-age=5"  # mutable: cached seconds at most
    assert answer.data == store.latest_checkpoint()
    assert opened(answer.data).size == 275
    older = client.get("/v1/log/checkpoints/270")
    assert older.status_code == 200 and older.headers["Content-Type"] == NOTE
    assert older.headers["Cache-Control"] == IMMUTABLE and opened(older.data).size == 270
    assert client.get("/v1/log/checkpoints/271").status_code == 404  # no checkpoint of that size


def test_tiles_and_bundles_from_the_bucket_prove_the_signed_root(site) -> None:
    client, _, _, receipts = site
    checkpoint = opened(client.get("/log/checkpoint").data)
    full = client.get("/log/tile/0/000")
    assert full.status_code == 200 and full.headers["Content-Type"] == OCTETS
    assert full.headers["Cache-Control"] == IMMUTABLE and len(full.data) == 256 * 32
    partial = client.get("/log/tile/0/001.p/19")
    assert partial.status_code == 200 and partial.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/log/tile/0/001.p/14").status_code == 200  # the 270 tree's partial tile stays
    assert client.get("/log/tile/0/001.p/20").status_code == 404  # past the published tree
    assert client.get("/log/tile/0/1").status_code == 404  # not the canonical path

    def fetch(tile):
        answer = client.get(f"/log/{tile.path}")
        assert answer.status_code == 200, tile.path
        return answer.data

    reader = TileHashReader(checkpoint.size, checkpoint.root, fetch)
    entries = parse_entry_bundle(client.get("/log/tile/entries/000").data, 256)
    entries += parse_entry_bundle(client.get("/log/tile/entries/001.p/19").data, 19)
    bundle = client.get("/log/tile/entries/001.p/19")
    assert bundle.headers["Content-Type"] == OCTETS and parse_tile_path("tile/entries/001.p/19").is_partial
    hashes = {bytes.fromhex(receipt.chained.receipt_hash) for receipt in receipts}
    assert len(entries) == 275 and set(entries) == hashes
    leaves = reader.read_hashes([stored_hash_index(0, n) for n in range(275)])
    assert leaves == [leaf_hash(entry) for entry in entries]  # the bundles are the tiles' leaves


def test_a_receipts_proofs_verify_against_the_signed_checkpoint(site) -> None:
    client, store, owner, receipts = site
    receipt = receipts[-1]  # b's 75th
    index = store.log_leaf_index(receipt.receipt_id)
    entry = bytes.fromhex(receipt.chained.receipt_hash)
    answer = client.get(f"/v1/receipts/{receipt.receipt_id}/proof", headers=owner)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == NOTE
    proof = parse_tlog_proof(answer.data)
    witnessed = verify_tlog_proof(proof, entry, ORIGIN, [KEY.verifier])
    assert (proof.index, witnessed.checkpoint.size) == (index, 275)
    body = client.get(f"/v1/receipts/{receipt.receipt_id}/proof?format=json&tree_size=275", headers=owner).json
    assert (body["leaf_index"], body["tree_size"]) == (index, 275)
    checkpoint = opened(body["checkpoint"].encode())
    path = [bytes.fromhex(value) for value in body["inclusion_path"]]
    verify_inclusion(leaf_hash(entry), index, 275, path, checkpoint.root)
    first = receipts[200]  # b's first, in the 270 tree too: its proof for the older checkpoint
    body = client.get(f"/v1/receipts/{first.receipt_id}/proof?format=json&tree_size=270", headers=owner).json
    old_index, old = store.log_leaf_index(first.receipt_id), opened(body["checkpoint"].encode())
    assert (body["leaf_index"], body["tree_size"], old.size) == (old_index, 270, 270)
    path = [bytes.fromhex(value) for value in body["inclusion_path"]]
    verify_inclusion(leaf_hash(bytes.fromhex(first.chained.receipt_hash)), old_index, 270, path, old.root)
    other = client.get(f"/v1/receipts/{receipts[0].receipt_id}/proof", headers=owner)
    assert other.status_code == 404  # a's receipt, not the owner's: as if it did not exist
    assert client.get(f"/v1/receipts/{receipt.receipt_id}/proof").status_code == 401  # no key


def test_the_consistency_proof_between_published_sizes_verifies(site) -> None:
    client, _, _, _ = site
    old, new = opened(client.get("/v1/log/checkpoints/270").data), opened(client.get("/log/checkpoint").data)
    answer = client.get("/v1/log/consistency?from=270&to=275")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == IMMUTABLE
    path = [bytes.fromhex(value) for value in answer.json["consistency_path"]]
    verify_consistency(270, 275, path, old.root, new.root)
    assert client.get("/v1/log/consistency?from=271&to=275").status_code == 404
    assert client.get("/v1/log/consistency?from=x&to=275").status_code == 400
