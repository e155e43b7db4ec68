"""The OpenAPI paths of the transparency log: C2SP tlog-tiles resources under /log/ (public),
checkpoints by size, the log's keys, consistency proofs (public) and a receipt's inclusion
proof (its owner's API key); and the JSON shapes they answer with."""

from typing import Any

from verifier_site.openapi.refs import ref
from verifier_site.openapi.responses import BEARER, JSON, RECEIPT_ID, RETRY_AFTER, error, errors, json_response
from verifier_site.openapi.schemas import HEX64

NOTE = "text/plain; charset=utf-8"
MAX_SIZE = (1 << 64) - 1


def _size(name: str, where: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SIZE},
    }


def _text(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {NOTE: {"schema": {"type": "string"}}}}
    if headers:
        response["headers"] = headers
    return response


CACHE = {"Cache-Control": {"description": "How long the answer may be cached", "schema": {"type": "string"}}}
DAMAGED = {"503": error("The log's stored hashes or files do not match its signed checkpoint (log_damaged)")}
NOT_PUBLISHED = "Not a size this log published a checkpoint for (unknown_tree_size), or no log (no_log)"


def _tile(summary: str, *more: dict[str, Any]) -> dict[str, Any]:
    """A C2SP tlog-tiles resource. N is written in 3-digit groups, all but the last with an x
    (tile 1234067 of level 0 is tile/0/x001/x234/067); this document names the first 1000
    tiles of a level (one group), the site serves every one (its route is /log/tile/<path>)."""
    return {
        "summary": summary + " (C2SP tlog-tiles)",
        "parameters": [
            {
                "name": "level",
                "in": "path",
                "required": True,
                "description": "0 to 63 (hashes), or entries (entry bundles)",
                "schema": {"type": "string", "pattern": "^(entries|0|[1-9][0-9]?)$"},
            },
            {
                "name": "index",
                "in": "path",
                "required": True,
                "description": "N in 3 digits (larger N: x-prefixed groups before them, e.g. x001/234)",
                "schema": {"type": "string", "pattern": "^[0-9]{3}$"},
            },
            *more,
        ],
        "responses": {
            "200": {
                "description": "Hashes (32 bytes each) or entries (each a uint16 length and its bytes)",
                "headers": CACHE,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
            "404": error("Not a canonical tile path, not in the published tree, or not written"),
            **DAMAGED,
            **errors(JSON),
        },
    }


def log_paths() -> dict[str, Any]:
    published = {"404": error(NOT_PUBLISHED)}
    return {
        "/log/checkpoint": {
            "get": {
                "summary": "The latest checkpoint (C2SP tlog-checkpoint signed note); cached 5 s at most",
                "responses": {
                    "200": _text("The signed note, cosignatures included", CACHE),
                    "404": error("No checkpoint published yet (no_checkpoint)"),
                    **DAMAGED,
                    **errors(JSON),
                },
            }
        },
        "/log/tile/{level}/{index}": {"get": _tile("A full tile or entry bundle of the published tree: immutable")},
        "/log/tile/{level}/{index}.p/{width}": {
            "get": _tile(
                "A partial tile or entry bundle, of a tree size a checkpoint was published for: cached 60 s",
                {
                    "name": "width",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 255},
                },
            )
        },
        "/v1/log": {
            "get": {
                "summary": "The log's origin, verifier key (vkey), witnesses, quorum and tlog-policy text",
                "responses": {"200": json_response("The log", ref("LogInfo")), **published, **errors(JSON)},
            }
        },
        "/v1/log/checkpoints/{size}": {
            "get": {
                "summary": "The checkpoint published for one tree size (immutable)",
                "parameters": [_size("size", "path", "A published tree size")],
                "responses": {"200": _text("The signed note", CACHE), **published, **DAMAGED, **errors(JSON, 400)},
            }
        },
        "/v1/log/consistency": {
            "get": {
                "summary": "The RFC 6962 consistency proof between two published tree sizes (from <= to)",
                "parameters": [
                    {**_size("from", "query", "The older published size"), "required": True},
                    {**_size("to", "query", "The newer published size"), "required": True},
                ],
                "responses": {
                    "200": json_response("The proof (immutable)", ref("ConsistencyProof")),
                    **published,
                    **DAMAGED,
                    **errors(JSON, 400),
                },
            }
        },
        "/v1/receipts/{receipt_id}/proof": {
            "get": {
                "summary": "The receipt's inclusion proof: a c2sp.org/tlog-proof@v1 text, or JSON",
                "parameters": [
                    RECEIPT_ID,
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["text", "json"], "default": "text"},
                    },
                    _size("tree_size", "query", "A published tree size (default: the latest checkpoint)"),
                ],
                "security": BEARER,
                "responses": {
                    "200": {
                        "description": "The proof, for the latest checkpoint or the one of tree_size",
                        "content": {NOTE: {"schema": {"type": "string"}}, JSON: {"schema": ref("InclusionProof")}},
                    },
                    **errors(JSON, 400, 401),
                    "404": error(
                        "No such receipt for this key, tree_size not published (unknown_tree_size), or a tree "
                        "older than the receipt's leaf (not_in_tree)"
                    ),
                    "409": error(
                        "Stored, but no published checkpoint holds it yet (not_yet_logged): ask again later",
                        JSON,
                        RETRY_AFTER,
                    ),
                    **DAMAGED,
                },
            }
        },
    }


def log_schemas() -> dict[str, Any]:
    size = {"type": "integer", "minimum": 0}
    return {
        "LogInfo": {
            "type": "object",
            "required": ["origin", "vkey", "tree_size", "checkpoint_url", "witnesses", "quorum", "policy"],
            "properties": {
                "origin": {"type": "string"},
                "vkey": {"type": ["string", "null"], "description": "<origin>+<key id>+<base64(0x01 || key)>"},
                "tree_size": {"type": ["integer", "null"], "minimum": 0},
                "checkpoint_url": {"type": "string"},
                "tiles_url": {"type": ["string", "null"]},
                "witnesses": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "vkey"],
                        "properties": {"name": {"type": "string"}, "vkey": {"type": "string"}},
                    },
                },
                "quorum": {"type": "integer", "minimum": 0},
                "policy": {"type": "string", "description": "C2SP tlog-policy text: log, witnesses, quorum"},
            },
        },
        "InclusionProof": {
            "type": "object",
            "required": ["leaf_index", "tree_size", "inclusion_path", "checkpoint"],
            "properties": {
                "leaf_index": size,
                "tree_size": size,
                "inclusion_path": {"type": "array", "items": HEX64, "description": "Leaf's sibling first"},
                "checkpoint": {"type": "string", "description": "The signed note, verbatim"},
            },
        },
        "EvidenceLog": {
            "type": "object",
            "description": "The receipt's place in the transparency log; null while it is not in a published tree",
            "required": [
                "origin",
                "vkey",
                "leaf_index",
                "tree_size",
                "tlog_proof",
                "cosigned_by",
                "witnesses",
                "quorum",
            ],
            "properties": {
                "origin": {"type": "string"},
                "vkey": {"type": "string"},
                "leaf_index": size,
                "tree_size": size,
                "tlog_proof": {"type": "string", "description": "c2sp.org/tlog-proof@v1 (receipt.tlog-proof)"},
                "cosigned_by": {"type": "array", "items": {"type": "string"}},
                "witnesses": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The witnesses' cosignature/v1 vkeys, which verify.sh checks the cosignatures with",
                },
                "quorum": {"type": "integer", "minimum": 0, "description": "Cosignatures verify.sh requires"},
            },
        },
        "ConsistencyProof": {
            "type": "object",
            "required": ["from", "to", "consistency_path"],
            "properties": {"from": size, "to": size, "consistency_path": {"type": "array", "items": HEX64}},
        },
    }
