"""The transparency log: its C2SP tlog-tiles resources under /log/ (the latest checkpoint,
tiles and entry bundles), older checkpoints, its keys and witness policy, consistency
proofs (public), and a receipt's inclusion proof (its owner's API key).

Paths and parameters are hostile input: a tile path is parsed strictly
(receipts.tlog.tiles.parse_tile_path) and must be in the published tree before any file is
read; sizes must be published checkpoints. Anything else answers 404 (or 400 for a
parameter that is not a size) without touching the files.
"""

from flask import Blueprint, Response, jsonify, request, url_for

from receipts.tlog.hashing import HASH_SIZE
from receipts.tlog.tiles import TilePathError, in_tree, parse_tile_path
from verifier_site.auth import api_key_required, owned_receipt
from verifier_site.errors import SiteError
from verifier_site.log_proofs import consistency_proof, published_at, receipt_proof, size_arg
from verifier_site.storage import get_store
from verifier_site.transparency import latest, log_files, published_size, settings

blueprint = Blueprint("log", __name__)

NOTE = "text/plain; charset=utf-8"  # notes hold an em dash: without a charset clients read mojibake
OCTETS = "application/octet-stream"
IMMUTABLE = "public, max-age=31536000, immutable"  # full tiles, bundles, old checkpoints, consistency proofs
PARTIAL = "public, max-age=60"  # a partial tile may be removed once its full tile is out
LATEST = "public, max-age=5"  # tlog-tiles: the checkpoint is mutable, cached a few seconds at most
PROOF_FORMATS = ("text", "json")


def _public(response: Response, cache: str) -> Response:
    response.headers["Cache-Control"] = cache
    response.headers["Access-Control-Allow-Origin"] = "*"  # the log is public: any monitor or page may read it
    return response


@blueprint.get("/log/checkpoint")
def checkpoint() -> Response:
    """The latest checkpoint (C2SP tlog-checkpoint), signed by the log and any witnesses."""
    found = latest()
    if found is None:
        raise SiteError(404, "the log has published no checkpoint yet", "no_checkpoint")
    return _public(Response(found.note, content_type=NOTE), LATEST)


@blueprint.get("/log/tile/<path:rest>", merge_slashes=False)  # //: a 404, not a redirect
def tile(rest: str) -> Response:
    """A tile or an entry bundle of the published tree, as the sequencer wrote it."""
    try:
        wanted = parse_tile_path(f"tile/{rest}")
    except TilePathError:
        raise SiteError(404, "not a tile of this log: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]") from None
    if not in_tree(wanted, published_size()):
        raise SiteError(404, f"{wanted.path} is not in the log's published tree: see /log/checkpoint")
    data = log_files().read(wanted.path)
    if data is None:
        raise SiteError(404, f"{wanted.path} is not published (a partial tile of a size no checkpoint names?)")
    if not wanted.is_entry_bundle and len(data) != wanted.width * HASH_SIZE:
        raise SiteError(503, f"the log's file {wanted.path} is damaged: tell the operator", "log_damaged")
    return _public(Response(data, content_type=OCTETS), PARTIAL if wanted.is_partial else IMMUTABLE)


@blueprint.get("/v1/log")
def log_info() -> Response:
    """Who the log is: its origin, its verifier key, the witnesses and the quorum to ask for."""
    config = settings()
    found = latest()
    state = get_store().log_state()
    origin = config.origin or (found.checkpoint.origin if found else None) or (state.origin if state else None)
    if origin is None:
        raise SiteError(404, "this site has no transparency log yet", "no_log")
    body = {
        "origin": origin,
        "vkey": config.verifier.key.vkey if config.verifier else None,
        "tree_size": found.checkpoint.size if found else None,
        "checkpoint_url": url_for("log.checkpoint"),
        "tiles_url": url_for("log.checkpoint").removesuffix("checkpoint") if config.files_url else None,
        "witnesses": [{"name": witness.name, "vkey": witness.key.vkey} for witness in config.witnesses],
        "quorum": config.quorum,
        "policy": config.policy(),
    }
    return _public(jsonify(body), LATEST)


@blueprint.get("/v1/log/checkpoints/<size>")
def old_checkpoint(size: str) -> Response:
    """The checkpoint published for one tree size (kept forever: it never changes)."""
    found = published_at("size", size_arg("size", size))
    return _public(Response(found.note, content_type=NOTE), IMMUTABLE)


@blueprint.get("/v1/log/consistency")
def consistency() -> Response:
    """The proof that the published tree of `to` leaves extends the one of `from`."""
    first, second = size_arg("from", request.args.get("from")), size_arg("to", request.args.get("to"))
    path = consistency_proof(first, second)
    body = {"from": first, "to": second, "consistency_path": [value.hex() for value in path]}
    return _public(jsonify(body), IMMUTABLE)


@blueprint.get("/v1/receipts/<receipt_id>/proof")
@api_key_required
def proof(receipt_id: str) -> Response:
    """The receipt's inclusion proof in the latest (or tree_size) checkpoint: a
    c2sp.org/tlog-proof@v1 text, or JSON with ?format=json."""
    kind = request.args.get("format", "text")
    if kind not in PROOF_FORMATS:
        raise SiteError(400, f"format must be one of {', '.join(PROOF_FORMATS)}", "invalid_parameter")
    text = request.args.get("tree_size")
    tree_size = None if text is None else size_arg("tree_size", text)
    found = receipt_proof(owned_receipt(receipt_id), tree_size)
    if kind == "json":
        return jsonify(found.as_json())
    response = Response(found.text(), content_type=NOTE)
    response.headers["Content-Disposition"] = f'inline; filename="{receipt_id}.tlog-proof"'
    return response
