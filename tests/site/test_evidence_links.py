"""verify.sh against edits of the bundle's key, JWKS and chain: public-key.pem must be the
signing key (its RFC 7638 thumbprint is the JWS kid), jwks.json must list it as the issuer
published it, and chain.json must link this receipt to the neighbours the issuer named,
also at the chain's ends and for bodies the issuer's own key signed."""

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from receipts.api_keys import issue_api_key
from receipts.canonical import canonical_bytes
from receipts.jws import sign_payloads
from receipts.keys import public_jwk
from receipts.records import export_line
from receipts.stores.signers import LocalKeySigner
from tests.site.conftest import Site, signed_chain
from tests.site.evidence_bundle import (
    Bundle,
    Edit,
    bundle_of,
    fetch,
    other_key,
    public_pem,
    refuses,
    tool_folders,
    verify,
)
from verifier_site.evidence import chain_lines, jwks_lines

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (Debian: openssl)")


@pytest.fixture(scope="module")
def tool_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tool_folders(tmp_path_factory)


def _pkcs1(bundle: Bundle) -> None:
    key = serialization.load_pem_public_key(bundle.files["public-key.pem"])
    bundle.files["public-key.pem"] = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)


def _rewrapped(bundle: Bundle) -> None:
    lines = bundle.files["public-key.pem"].decode().splitlines()
    text = "".join(lines[1:-1])
    bundle.files["public-key.pem"] = "\n".join(
        [lines[0], *(text[i : i + 76] for i in range(0, len(text), 76)), lines[-1], ""]
    ).encode()


THUMBPRINT = "public-key.pem's RFC 7638 thumbprint is"
NOT_OPENSSL_PEM = "public-key.pem is not one public key in PEM (SubjectPublicKeyInfo) exactly as openssl writes it"
KEY_EDITS = [
    Edit("another 2048-bit key", lambda b: b.files.update({"public-key.pem": public_pem(other_key())}), THUMBPRINT),
    Edit("a 4096-bit key", lambda b: b.files.update({"public-key.pem": public_pem(other_key(4096))}), THUMBPRINT),
    Edit(
        "a 1024-bit key", lambda b: b.files.update({"public-key.pem": public_pem(other_key(1024))}), "is a 1024-bit key"
    ),
    Edit(
        "an EC key",
        lambda b: b.files.update({"public-key.pem": public_pem(ec.generate_private_key(ec.SECP256R1()))}),
        "public-key.pem is not an RSA key",
    ),
    Edit(
        "junk after the key",
        lambda b: b.replace(
            "public-key.pem",
            b"-----\n",
            b"-----\njunk\n",
        ),
        NOT_OPENSSL_PEM,
    ),
    Edit(
        "a second key after it",
        lambda b: b.files.update({"public-key.pem": b.files["public-key.pem"] + public_pem(other_key())}),
        NOT_OPENSSL_PEM,
    ),
    Edit("the same key as PKCS#1", _pkcs1, NOT_OPENSSL_PEM),
    Edit("the same key wrapped at 76", _rewrapped, NOT_OPENSSL_PEM),
    Edit("CRLF line ends", lambda b: b.replace("public-key.pem", b"\n", b"\r\n"), NOT_OPENSSL_PEM),
    Edit("no key", lambda b: b.files.pop("public-key.pem"), "public-key.pem is missing from the bundle"),
]


@pytest.mark.parametrize("edit", KEY_EDITS, ids=lambda edit: edit.name)
def test_any_edit_of_the_public_key_fails(site: Site, tmp_path: Path, tool_paths: dict[str, Path], edit: Edit) -> None:
    bundle = bundle_of(site, "cust_1", 1)
    edit.apply(bundle)
    refuses(bundle, tmp_path / "edited", tool_paths, edit.message)


def _jwks(change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        keys = json.loads(bundle.files["jwks.json"])["keys"]
        bundle.files["jwks.json"] = jwks_lines({"keys": change(keys)})

    return edit


def _other_jwk(**changes: Any) -> dict[str, Any]:
    return {**public_jwk(public_pem(other_key())), **changes}


JWKS_LAYOUT = "jwks.json is not in the layout the bundle has"
JWKS_EDITS = [
    Edit("the kid missing", _jwks(lambda keys: [_other_jwk()]), "jwks.json does not list key"),
    Edit("no key", _jwks(lambda keys: []), JWKS_LAYOUT),
    Edit(
        "another n", _jwks(lambda keys: [{**keys[0], "n": _other_jwk()["n"]}]), "has another n or e than public-key.pem"
    ),
    Edit("another e", _jwks(lambda keys: [{**keys[0], "e": "AQAD"}]), "has another n or e than public-key.pem"),
    Edit("the kid twice", _jwks(lambda keys: keys + keys), "jwks.json lists key"),
    Edit(
        "a key whose kid is not its thumbprint",
        _jwks(lambda keys: [*keys, _other_jwk(kid=keys[0]["kid"][::-1])]),
        "which is not the RFC 7638 thumbprint of its n and e",
    ),
    Edit(
        "a key the issuer did not publish", _jwks(lambda keys: [*keys, _other_jwk()]), "does not list exactly the keys"
    ),
    Edit("private key material", _jwks(lambda keys: [{**keys[0], "d": "AQAB"}]), JWKS_LAYOUT),
    Edit("another alg", _jwks(lambda keys: [{**keys[0], "alg": "RS512"}]), JWKS_LAYOUT),
    Edit(
        "pretty printed",
        lambda b: b.files.update(
            {"jwks.json": json.dumps(json.loads(b.files["jwks.json"]), indent=2).encode() + b"\n"}
        ),
        JWKS_LAYOUT,
    ),
    Edit("a comma missing", lambda b: b.replace("jwks.json", b"[\n{", b"[{"), JWKS_LAYOUT),
    Edit("a trailing comma", lambda b: b.replace("jwks.json", b"}\n]}", b"},\n]}"), JWKS_LAYOUT),
    Edit("no line end", lambda b: b.replace("jwks.json", b"]}\n", b"]}"), "jwks.json must end with a newline"),
    Edit("a line after", lambda b: b.replace("jwks.json", b"]}\n", b"]}\n\n"), JWKS_LAYOUT),
    Edit("no jwks.json", lambda b: b.files.pop("jwks.json"), "jwks.json is missing from the bundle"),
]


@pytest.mark.parametrize("edit", JWKS_EDITS, ids=lambda edit: edit.name)
def test_any_edit_of_jwks_json_fails(site: Site, tmp_path: Path, tool_paths: dict[str, Path], edit: Edit) -> None:
    bundle = bundle_of(site, "cust_1", 1)
    edit.apply(bundle)
    refuses(bundle, tmp_path / "edited", tool_paths, edit.message)


def _lines(change: Callable[[list[bytes]], list[bytes]]) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        bundle.files["chain.json"] = b"".join(change(bundle.files["chain.json"].splitlines(keepends=True)))

    return edit


CHAIN_LAYOUT = "chain.json is not in the layout the bundle has"
THIS_ENTRY = "chain.json's entry for this receipt is not the signed payload's"
CHAIN_EDITS = [
    Edit("a wrong previous hash", lambda b: b.edit_chain("previous", receipt_hash="1" * 64), "has hash 1111"),
    Edit("a wrong previous sequence", lambda b: b.edit_chain("previous", sequence=7), "is sequence 7, not 1"),
    Edit("another previous receipt id", lambda b: b.edit_chain("previous", receipt_id="r_" + "a" * 26), "issuer named"),
    Edit(
        "another previous's previous hash", lambda b: b.edit_chain("previous", previous_receipt_hash="1" * 64), "named"
    ),
    Edit("no previous", lambda b: b.edit_chain("previous"), "chain.json names no receipt before"),
    Edit(
        "a wrong next link", lambda b: b.edit_chain("next", previous_receipt_hash="1" * 64), "not this receipt's hash"
    ),
    Edit("a wrong next sequence", lambda b: b.edit_chain("next", sequence=2), "is sequence 2, not 3"),
    Edit(
        "another next hash",
        lambda b: b.edit_chain("next", receipt_hash="1" * 64),
        "next receipt is not the one the issuer named",
    ),
    Edit("no next", lambda b: b.edit_chain("next"), "next receipt is not the one the issuer named"),
    Edit("a wrong sequence of this receipt", lambda b: b.edit_chain("this", sequence=5), THIS_ENTRY),
    Edit("a wrong hash of this receipt", lambda b: b.edit_chain("this", receipt_hash="1" * 64), THIS_ENTRY),
    Edit("another id for this receipt", lambda b: b.edit_chain("this", receipt_id="r_" + "a" * 26), THIS_ENTRY),
    Edit("this receipt's previous hash", lambda b: b.edit_chain("this", previous_receipt_hash="1" * 64), THIS_ENTRY),
    Edit(
        "pretty printed",
        lambda b: b.files.update({"chain.json": json.dumps(b.chain, indent=2).encode() + b"\n"}),
        CHAIN_LAYOUT,
    ),
    Edit("entries swapped", _lines(lambda lines: [lines[0], lines[3], lines[2], lines[1], lines[4]]), CHAIN_LAYOUT),
    Edit("an entry twice", _lines(lambda lines: [*lines[:2], *lines[1:]]), CHAIN_LAYOUT),
    Edit("a comma missing", lambda b: b.replace("chain.json", b'},\n"this"', b'}\n"this"'), CHAIN_LAYOUT),
    Edit(
        "whitespace in an entry", lambda b: b.replace("chain.json", b'"sequence":1}', b'"sequence": 1}'), CHAIN_LAYOUT
    ),
    Edit(
        "a sequence with a leading zero",
        lambda b: b.replace("chain.json", b'"sequence":1}', b'"sequence":01}'),
        CHAIN_LAYOUT,
    ),
    Edit("no line end", lambda b: b.replace("chain.json", b"}\n}\n", b"}\n}"), CHAIN_LAYOUT),
    Edit("no chain.json", lambda b: b.files.pop("chain.json"), "chain.json is missing from the bundle"),
]


@pytest.mark.parametrize("edit", CHAIN_EDITS, ids=lambda edit: edit.name)
def test_any_edit_of_chain_json_fails(site: Site, tmp_path: Path, tool_paths: dict[str, Path], edit: Edit) -> None:
    bundle = bundle_of(site, "cust_1", 1)
    edit.apply(bundle)
    refuses(bundle, tmp_path / "edited", tool_paths, edit.message)


def test_the_first_receipt_has_no_previous(site: Site, tmp_path: Path, tool_paths: dict[str, Path]) -> None:
    bundle = bundle_of(site, "cust_1", 0)
    assert bundle.chain["previous"] is None and bundle.body["previous_receipt_hash"] == "0" * 64
    second = json.loads(bundle.other["receipt.json"])  # a real receipt, placed before the first
    previous = {name: second[name] for name in ("receipt_id", "receipt_hash", "previous_receipt_hash")}
    bundle.files["chain.json"] = chain_lines({**bundle.chain, "previous": {**previous, "sequence": second["sequence"]}})
    refuses(bundle, tmp_path / "a-previous", tool_paths, "chain.json names a receipt before")


def test_the_head_of_the_chain_has_no_next(site: Site, tmp_path: Path, tool_paths: dict[str, Path]) -> None:
    bundle = bundle_of(site, "cust_1", 2)
    assert bundle.chain["next"] is None
    this = bundle.chain["this"]
    bundle.files["chain.json"] = chain_lines(
        {
            **bundle.chain,
            "next": {
                "receipt_id": "r_" + "a" * 26,
                "sequence": this["sequence"] + 1,
                "receipt_hash": "1" * 64,
                "previous_receipt_hash": this["receipt_hash"],
            },
        }
    )
    refuses(bundle, tmp_path / "a-next", tool_paths, "chain.json's next receipt is not the one the issuer named")


def reissue(bundle: Bundle, signer: LocalKeySigner, **changes: Any) -> None:
    """The body changed and signed again by the issuer's own key, everything else made to
    agree (receipt.json, receipt.jws, chain.json and the statement's receipt_hash), so that
    only the rule under test can tell."""
    old_hash = bundle.receipt["receipt_hash"]
    body = {**bundle.body, **changes}
    payload = canonical_bytes(body)
    [jws] = sign_payloads(signer, [payload])
    new_hash = hashlib.sha256(payload).hexdigest()
    bundle.files["receipt.json"] = export_line({**body, "receipt_hash": new_hash, "signature": jws})
    bundle.files["receipt.jws"] = (jws + "\n").encode()
    this = {name: body[name] for name in ("receipt_id", "sequence", "previous_receipt_hash")}
    chain = {**bundle.chain, "this": {**this, "receipt_hash": new_hash}}
    bundle.files["chain.json"] = chain_lines(chain).replace(old_hash.encode(), new_hash.encode())
    bundle.replace("verify.sh", old_hash, new_hash)


@pytest.mark.parametrize(
    ("index", "changes", "message"),
    [
        (0, {"previous_receipt_hash": "1" * 64}, "is sequence 1, so its previous_receipt_hash must be 64 zeros"),
        (1, {"sequence": 5}, "previous receipt r_"),
        (1, {"previous_receipt_hash": "1" * 64}, "but the signed payload's previous_receipt_hash is 1111"),
        (2, {"sequence": 1, "previous_receipt_hash": "0" * 64}, "chain.json names a receipt before"),
        (1, {"kid": "k" * 43}, "the signed payload names key kkkk"),
    ],
    ids=["first-not-zeros", "sequence-gap", "previous-link", "head-as-first", "payload-kid"],
)
def test_the_rules_hold_even_for_what_the_issuer_signed(
    site: Site,
    signer: LocalKeySigner,
    tmp_path: Path,
    tool_paths: dict[str, Path],
    index: int,
    changes: dict[str, Any],
    message: str,
) -> None:
    bundle = bundle_of(site, "cust_1", index)
    reissue(bundle, signer, **changes)
    refuses(bundle, tmp_path / "reissued", tool_paths, message)
    unchanged = bundle_of(site, "cust_1", index)
    reissue(unchanged, signer)
    verify(unchanged.files, tmp_path / "reissued-unchanged", tool_paths)


def test_a_receipt_signed_by_an_unpublished_key(site: Site, tmp_path: Path, tool_paths: dict[str, Path]) -> None:
    stranger = LocalKeySigner(
        other_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    site.store.write_receipts(signed_chain(stranger, "cust_4", ["signed elsewhere"]))
    site.api_keys["cust_4"] = issue_api_key(site.store, "cust_4")[0]
    site.receipts["cust_4"] = list(site.store.receipts("cust_4"))
    bundle = Bundle(fetch(site, "cust_4", 0), {})
    assert "public-key.pem" not in bundle.files
    refuses(bundle, tmp_path / "unpublished", tool_paths, f"key {stranger.kid} is not published by this site")
