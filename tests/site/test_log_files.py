"""The log's public resources with Flask's test client: the checkpoints, tiles and entry
bundles under /log/ with C2SP tlog-tiles' content types and cache headers, hostile tile
paths refused before any file is read, /v1/log's keys and policy, and the settings."""

from collections.abc import Callable
from typing import Any

import pytest

from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.note_keys import COSIGNATURE_V1, NoteSigner, NoteVerifier, generate_key
from receipts.tlog.tile_reader import TileHashReader
from receipts.tlog.tiles import Tile, parse_entry_bundle
from tests.site.conftest import Site, signed_chain
from tests.site.logs import ORIGIN, SiteLog, new_log
from verifier_site import create_app
from verifier_site import transparency as site_log_module

NOTE = "text/plain; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"


def verifier_of(log: SiteLog) -> NoteVerifier:
    return NoteVerifier.from_vkey(log.vkey)


def test_before_the_first_checkpoint_the_log_answers_404(make_site: Callable[..., Site], site_log: SiteLog) -> None:
    site = make_site(**site_log.config())
    response = site.client.get("/log/checkpoint")
    assert response.status_code == 404 and response.json["error"]["code"] == "no_checkpoint"
    assert site.client.get("/log/tile/0/000.p/1").status_code == 404
    info = site.client.get("/v1/log").json
    assert info["origin"] == ORIGIN and info["tree_size"] is None and info["vkey"] == site_log.vkey


def test_the_latest_checkpoint_is_the_stores_signed_note(log_site: Site) -> None:
    response = log_site.client.get("/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == NOTE
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.data == log_site.store.latest_checkpoint()
    checkpoint, _ = open_checkpoint(response.data, [verifier_of(log_site.extra["log"])], ORIGIN)
    assert checkpoint.size == 5


def test_tiles_and_bundles_are_the_sequencers_files(log_site: Site) -> None:
    log: SiteLog = log_site.extra["log"]
    tile = log_site.client.get("/log/tile/0/000.p/5")
    assert tile.status_code == 200 and tile.headers["Content-Type"] == "application/octet-stream"
    assert tile.headers["Cache-Control"] == "public, max-age=60"  # partial: may go once the full tile is out
    assert tile.data == log.files.read("tile/0/000.p/5") and len(tile.data) == 5 * 32
    bundle = log_site.client.get("/log/tile/entries/000.p/5")
    assert bundle.status_code == 200
    hashes = [r["receipt_hash"] for customer in ("cust_1", "cust_2") for r in log_site.receipts[customer]]
    assert [entry.hex() for entry in parse_entry_bundle(bundle.data, 5)] == hashes


def test_full_tiles_are_immutable_and_a_client_reads_the_tree_from_them(
    make_site: Callable[..., Site], site_log: SiteLog, signer
) -> None:
    site = make_site(**site_log.config())
    for customer in range(6):  # signed_chain timestamps minutes 0..59: 50 receipts a customer
        site.store.write_receipts(signed_chain(signer, f"bulk_{customer}", [None] * 50))
    assert site_log.integrate(site.store) == 305
    full = site.client.get("/log/tile/0/000")
    assert full.status_code == 200 and len(full.data) == 8192 and full.headers["Cache-Control"] == IMMUTABLE
    assert site.client.get("/log/tile/entries/000").headers["Cache-Control"] == IMMUTABLE
    assert site.client.get("/log/tile/1/000.p/1").status_code == 200
    assert site.client.get("/log/tile/0/001.p/49").status_code == 200

    checkpoint, _ = open_checkpoint(site.client.get("/log/checkpoint").data, [verifier_of(site_log)], ORIGIN)

    def fetch(tile: Tile) -> bytes:
        response = site.client.get(f"/log/{tile.path}")
        assert response.status_code == 200, tile.path
        return response.data

    reader = TileHashReader(checkpoint.size, checkpoint.root, fetch)
    assert reader.read_hashes([0, 600]) == site.store.log_hash_reader().read_hashes([0, 600])


HOSTILE_TILES = [
    "0/000.p/6",  # wider than the published tree
    "0/001",
    "0/000",  # a full tile the tree of 5 does not have
    "1/000.p/1",
    "entries/000",
    "0/00",
    "0/0000",
    "00/000",
    "0/x000/000",
    "0/000.p/0",
    "0/000.p/256",
    "0/000.p/05",
    "64/000",
    "-1/000",
    "0/000/",
    "/0/000",
    "0//000",
    "0/../0/000.p/5",
    "0/000.p/5/../../../../../etc/passwd",
    "0/%2e%2e/000",
    "0/000.p/5%00",
    "0/000.p/5%0a",  # (a raw newline never arrives: urlsplit drops it)
    "0/000.P/5",
    "data/000.p/5",
    "8/0/000.p/5",  # Go's sumdb path with the height: not C2SP
    "0/" + "x999/" * 30 + "999",
    "../checkpoints/5",
    "../../receipts.db",
]


@pytest.mark.parametrize("path", HOSTILE_TILES)
def test_hostile_tile_paths_answer_404_without_reading_a_file(
    log_site: Site, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    reads: list[str] = []
    files = log_site.extra["log"].files
    monkeypatch.setattr(site_log_module, "open_log_files", lambda url: RecordingFiles(files, reads))
    response = log_site.client.get(f"/log/tile/{path}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert reads == []


class RecordingFiles:
    def __init__(self, files: Any, reads: list[str]) -> None:
        self.files, self.reads = files, reads

    def read(self, path: str) -> bytes | None:
        self.reads.append(path)
        return self.files.read(path)


def test_a_file_past_the_published_size_is_not_served(log_site: Site) -> None:
    log: SiteLog = log_site.extra["log"]
    log.files.write_once("tile/0/000.p/7", b"\x00" * 7 * 32)  # planted, or written before its checkpoint
    assert log_site.client.get("/log/tile/0/000.p/7").status_code == 404
    log.files.write_once("tile/entries/000.p/4", b"\x00\x01x")  # in the tree's range, but no checkpoint of 4
    assert log_site.client.get("/log/tile/entries/000.p/4").status_code == 200  # what the folder holds
    assert log_site.client.get("/log/tile/0/000.p/3").status_code == 404  # never written


def test_a_damaged_tile_is_not_served(log_site: Site) -> None:
    path = log_site.extra["log"].folder / "tile/0/000.p/5"
    path.chmod(0o644)
    path.write_bytes(b"short")
    response = log_site.client.get("/log/tile/0/000.p/5")
    assert response.status_code == 503 and response.json["error"]["code"] == "log_damaged"


def test_old_checkpoints_by_size(make_site: Callable[..., Site], site_log: SiteLog, signer) -> None:
    site = make_site(**site_log.config())
    site_log.integrate(site.store)
    site.store.write_receipts(signed_chain(signer, "cust_3", ["later"]))
    assert site_log.integrate(site.store) == 6
    old = site.client.get("/v1/log/checkpoints/5")
    assert old.status_code == 200 and old.headers["Content-Type"] == NOTE
    assert old.headers["Cache-Control"] == IMMUTABLE
    assert open_checkpoint(old.data, [verifier_of(site_log)], ORIGIN)[0].size == 5
    assert site.client.get("/v1/log/checkpoints/6").data == site.client.get("/log/checkpoint").data
    for size, status, code in [
        ("4", 404, "unknown_tree_size"),
        ("7", 404, "unknown_tree_size"),
        ("05", 400, "invalid_parameter"),
        ("-5", 400, "invalid_parameter"),
        ("5.0", 400, "invalid_parameter"),
        ("٥", 400, "invalid_parameter"),  # an Arabic-Indic five: a digit to Python's int(), not to us
        ("1" * 30, 400, "invalid_parameter"),
    ]:
        response = site.client.get(f"/v1/log/checkpoints/{size}")
        assert (response.status_code, response.json["error"]["code"]) == (status, code), size


def test_the_log_key_witnesses_and_policy(make_site: Callable[..., Site], tmp_path) -> None:
    log = new_log(tmp_path / "log", witnesses=2)
    site = make_site(**log.config(quorum=1))
    log.integrate(site.store)
    response = site.client.get("/v1/log")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    info = response.json
    vkeys = [witness.vkey for witness in log.witnesses]
    assert info == {
        "origin": ORIGIN,
        "vkey": log.vkey,
        "tree_size": 5,
        "checkpoint_url": "/log/checkpoint",
        "tiles_url": "/log/",
        "witnesses": [{"name": "witness1.test", "vkey": vkeys[0]}, {"name": "witness2.test", "vkey": vkeys[1]}],
        "quorum": 1,
        "policy": f"log {log.vkey}\nwitness witness-1 {vkeys[0]}\nwitness witness-2 {vkeys[1]}\n"
        "group witnesses 1 witness-1 witness-2\nquorum witnesses\n",
    }


def test_without_witnesses_the_policy_asks_for_none(log_site: Site) -> None:
    info = log_site.client.get("/v1/log").json
    assert info["witnesses"] == [] and info["quorum"] == 0
    assert info["policy"] == f"log {log_site.extra['log'].vkey}\nquorum none\n"


def test_a_site_without_a_log_says_so(site: Site) -> None:
    response = site.client.get("/v1/log")
    assert response.status_code == 404 and response.json["error"]["code"] == "no_log"
    assert site.client.get("/log/tile/0/000.p/1").status_code == 404


def test_a_checkpoint_the_sites_key_refuses_is_not_served(make_site: Callable[..., Site], site_log: SiteLog) -> None:
    other = NoteSigner(generate_key(ORIGIN)).verifier.key.vkey
    site = make_site(**site_log.config(LOG_VKEY=other))
    site_log.integrate(site.store)
    response = site.client.get("/log/checkpoint")
    assert response.status_code == 503 and response.json["error"]["code"] == "log_damaged"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"LOG_VKEY": "not a key"}, "LOG_VKEY is not a verifier key"),
        ({"LOG_VKEY": generate_key("w.test", COSIGNATURE_V1).public.vkey}, "not an Ed25519 note key"),
        ({"LOG_WITNESSES": ["nope"]}, "LOG_WITNESSES holds"),
        ({"LOG_WITNESS_QUORUM": 1}, "LOG_WITNESS_QUORUM is 0 to the number"),
    ],
)
def test_log_settings_are_checked_when_the_app_is_made(tmp_path, keyring, settings, message) -> None:
    with pytest.raises(ValueError, match=message):
        create_app({"STORE_URL": f"sqlite:///{tmp_path / 'x.db'}", "KEYS_FOLDER": str(keyring.folder), **settings})
