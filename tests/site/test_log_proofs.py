"""Proofs from the site, checked with receipts.tlog alone (no Go, no trust in the site): a
receipt's c2sp.org/tlog-proof@v1 text and its JSON form for the latest or an older
checkpoint, consistency proofs between published sizes, every parameter validated, the
owner's key required, and a clear answer for a receipt the log does not hold yet."""

from collections.abc import Callable

import pytest

from receipts.api_keys import issue_api_key
from receipts.tlog.checkpoints import open_checkpoint
from receipts.tlog.cosignatures import CosignatureVerifier
from receipts.tlog.hashing import leaf_hash
from receipts.tlog.note_keys import NoteVerifier
from receipts.tlog.proofs import verify_consistency, verify_inclusion
from receipts.tlog.stored import stored_hash_index
from receipts.tlog.tlog_proof import parse_tlog_proof, verify_tlog_proof
from tests.site.conftest import Site, signed_chain
from tests.site.logs import ORIGIN, SiteLog, new_log


def proof_url(receipt: dict, **query: str) -> str:
    suffix = "&".join(f"{name}={value}" for name, value in query.items())
    return f"/v1/receipts/{receipt['receipt_id']}/proof" + (f"?{suffix}" if suffix else "")


def verifier(site: Site) -> NoteVerifier:
    return NoteVerifier.from_vkey(site.client.get("/v1/log").json["vkey"])


def test_a_tlog_proof_verifies_with_the_logs_key_alone(log_site: Site) -> None:
    for customer in ("cust_1", "cust_2"):
        for receipt in log_site.receipts[customer]:
            response = log_site.client.get(proof_url(receipt), headers=log_site.bearer(customer))
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["Content-Disposition"] == f'inline; filename="{receipt["receipt_id"]}.tlog-proof"'
            proof = parse_tlog_proof(response.data)
            witnessed = verify_tlog_proof(proof, bytes.fromhex(receipt["receipt_hash"]), ORIGIN, [verifier(log_site)])
            assert witnessed.checkpoint.size == 5
            assert proof.index == log_site.store.log_leaf_index(receipt["receipt_id"])
            assert proof.checkpoint == log_site.client.get("/log/checkpoint").data


def test_the_json_proof_verifies_per_rfc_9162(log_site: Site) -> None:
    receipt = log_site.receipts["cust_2"][1]
    body = log_site.client.get(proof_url(receipt, format="json"), headers=log_site.bearer("cust_2")).json
    assert set(body) == {"leaf_index", "tree_size", "inclusion_path", "checkpoint"}
    assert (body["leaf_index"], body["tree_size"]) == (4, 5)
    checkpoint, _ = open_checkpoint(body["checkpoint"].encode(), [verifier(log_site)], ORIGIN)
    path = [bytes.fromhex(value) for value in body["inclusion_path"]]
    verify_inclusion(leaf_hash(bytes.fromhex(receipt["receipt_hash"])), 4, 5, path, checkpoint.root)


def test_a_proof_for_an_older_checkpoint(make_site: Callable[..., Site], site_log: SiteLog, signer) -> None:
    site = make_site(**site_log.config())
    site_log.integrate(site.store)
    site.store.write_receipts(signed_chain(signer, "cust_3", ["a", "b", "c"]))
    assert site_log.integrate(site.store) == 8
    receipt = site.receipts["cust_1"][2]
    old = site.client.get(proof_url(receipt, tree_size="5", format="json"), headers=site.bearer()).json
    new = site.client.get(proof_url(receipt, format="json"), headers=site.bearer()).json
    assert (old["tree_size"], new["tree_size"]) == (5, 8) and old["leaf_index"] == new["leaf_index"] == 2
    assert old["checkpoint"].encode() == site.client.get("/v1/log/checkpoints/5").data
    assert old["inclusion_path"] != new["inclusion_path"]

    third = next(site.store.receipts("cust_3"))
    site.api_keys["cust_3"] = issue_api_key(site.store, "cust_3")[0]
    answer = site.client.get(proof_url(third, tree_size="5"), headers=site.bearer("cust_3"))
    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_in_tree"
    assert "leaf 5" in answer.json["error"]["message"]


def test_consistency_between_published_sizes(make_site: Callable[..., Site], site_log: SiteLog, signer) -> None:
    site = make_site(**site_log.config())
    site_log.integrate(site.store)
    site.store.write_receipts(signed_chain(signer, "cust_3", ["a", "b", "c"]))
    site_log.integrate(site.store)
    response = site.client.get("/v1/log/consistency?from=5&to=8")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    body = response.json
    assert (body["from"], body["to"]) == (5, 8)
    roots = [
        open_checkpoint(site.client.get(f"/v1/log/checkpoints/{size}").data, [verifier(site)], ORIGIN)[0].root
        for size in (5, 8)
    ]
    verify_consistency(5, 8, [bytes.fromhex(value) for value in body["consistency_path"]], *roots)
    assert site.client.get("/v1/log/consistency?from=8&to=8").json["consistency_path"] == []


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("", 400, "invalid_parameter"),
        ("from=5", 400, "invalid_parameter"),
        ("to=5", 400, "invalid_parameter"),
        ("from=5&to=4", 400, "invalid_parameter"),
        ("from=4&to=5", 404, "unknown_tree_size"),
        ("from=5&to=6", 404, "unknown_tree_size"),
        ("from=05&to=5", 400, "invalid_parameter"),
        ("from=5&to=%2B5", 400, "invalid_parameter"),
        ("from=5&to=5e0", 400, "invalid_parameter"),
        ("from=5&to=18446744073709551616", 400, "invalid_parameter"),
        ("from=5&to=18446744073709551615", 404, "unknown_tree_size"),
    ],
)
def test_consistency_parameters_are_validated(log_site: Site, query: str, status: int, code: str) -> None:
    response = log_site.client.get(f"/v1/log/consistency?{query}")
    assert (response.status_code, response.json["error"]["code"]) == (status, code)


@pytest.mark.parametrize(
    "query, status, code",
    [
        ({"format": "xml"}, 400, "invalid_parameter"),
        ({"tree_size": "abc"}, 400, "invalid_parameter"),
        ({"tree_size": "-1"}, 400, "invalid_parameter"),
        ({"tree_size": "007"}, 400, "invalid_parameter"),
        ({"tree_size": "4"}, 404, "unknown_tree_size"),
        ({"tree_size": "6"}, 404, "unknown_tree_size"),
        ({"tree_size": "99999999999999999999999"}, 400, "invalid_parameter"),
    ],
)
def test_proof_parameters_are_validated(log_site: Site, query: dict, status: int, code: str) -> None:
    response = log_site.client.get(proof_url(log_site.receipts["cust_1"][0], **query), headers=log_site.bearer())
    assert (response.status_code, response.json["error"]["code"]) == (status, code)


def test_the_proof_is_its_owners_alone(log_site: Site) -> None:
    receipt = log_site.receipts["cust_2"][0]
    assert log_site.client.get(proof_url(receipt)).status_code == 401
    foreign = log_site.client.get(proof_url(receipt), headers=log_site.bearer("cust_1"))
    assert foreign.status_code == 404 and foreign.json["error"]["code"] == "not_found"
    bad = log_site.client.get("/v1/receipts/r_NOT/proof", headers=log_site.bearer())
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_receipt_id"


def test_a_receipt_not_logged_yet_is_409_with_retry_after(log_site: Site, signer) -> None:
    later = signed_chain(signer, "cust_3", ["not yet"])
    log_site.store.write_receipts(later)
    key = issue_api_key(log_site.store, "cust_3")[0]
    receipt = next(log_site.store.receipts("cust_3"))
    response = log_site.client.get(proof_url(receipt), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "not_yet_logged"
    assert response.headers["Retry-After"] == "60"


def test_before_any_checkpoint_every_proof_is_409(make_site: Callable[..., Site], site_log: SiteLog) -> None:
    site = make_site(**site_log.config())
    response = site.client.get(proof_url(site.receipts["cust_1"][0]), headers=site.bearer())
    assert response.status_code == 409 and "no checkpoint" in response.json["error"]["message"]


def test_a_leaf_past_the_latest_checkpoint_is_not_yet_logged(log_site: Site, signer) -> None:
    """Appended (the store has its leaf) but not checkpointed: no proof against an unpublished root."""
    log_site.store.write_receipts(signed_chain(signer, "cust_3", ["appended"]))
    log_site.store.append_log(ORIGIN, 100)
    key = issue_api_key(log_site.store, "cust_3")[0]
    receipt = next(log_site.store.receipts("cust_3"))
    assert log_site.store.log_leaf_index(receipt["receipt_id"]) == 5
    response = log_site.client.get(proof_url(receipt), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 409 and "past the latest checkpoint" in response.json["error"]["message"]
    assert log_site.client.get("/v1/log/checkpoints/6").status_code == 404


def test_damaged_stored_hashes_give_no_proof(log_site: Site) -> None:
    with log_site.store._transaction():
        sibling = stored_hash_index(0, 3)  # leaf 3's hash: on leaf 2's audit path
        log_site.store._db.execute("UPDATE log_hashes SET hash = ? WHERE stored_index = ?", (b"\x00" * 32, sibling))
    response = log_site.client.get(proof_url(log_site.receipts["cust_1"][2]), headers=log_site.bearer())
    assert response.status_code == 503 and response.json["error"]["code"] == "log_damaged"


def test_witnesses_cosignatures_ride_along(make_site: Callable[..., Site], tmp_path) -> None:
    log = new_log(tmp_path / "log", witnesses=2)
    site = make_site(**log.config(quorum=2))
    log.integrate(site.store)
    receipt = site.receipts["cust_1"][0]
    proof = parse_tlog_proof(site.client.get(proof_url(receipt), headers=site.bearer()).data)
    witnesses = [CosignatureVerifier.from_vkey(w["vkey"]) for w in site.client.get("/v1/log").json["witnesses"]]
    witnessed = verify_tlog_proof(proof, bytes.fromhex(receipt["receipt_hash"]), ORIGIN, [verifier(site)], witnesses, 2)
    assert witnessed.cosigned_by == {"witness1.test": 1_767_225_600, "witness2.test": 1_767_225_600}
