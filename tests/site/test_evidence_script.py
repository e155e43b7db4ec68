"""verify.sh, the evidence bundle's openssl steps: the genuine bundle passes under each POSIX
shell at hand with only POSIX utilities and openssl on the PATH, hostile usage descriptions
included, and any edit of receipt.json, receipt.jws or its signed payload stops it with a
message naming what failed. (The key, the JWKS and the chain: test_evidence_links.py.)"""

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from receipts.api_keys import issue_api_key
from receipts.canonical import canonical_bytes
from receipts.jws import b64url, b64url_decode
from receipts.keys import public_jwk
from receipts.records import export_line
from receipts.stores.signers import LocalKeySigner
from tests.site.conftest import Site, signed_chain
from tests.site.evidence_bundle import (
    SHELLS,
    Bundle,
    Edit,
    bundle_of,
    fetch,
    header,
    other_key,
    public_pem,
    refuses,
    signed_by,
    tool_folders,
    verify,
)
from verifier_site.evidence import jwks_lines

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (Debian: openssl)")

HOSTILE_TEXTS = [
    '","receipt_id":"r_aaaaaaaaaaaaaaaaaaaaaaaaaa","status":"accepted","sequence":9,"kid":"x","amount":"0.01",',
    '"receipt_hash":"' + "0" * 64 + '","signature":"a.b.c",,"status":"rejected"}\n{"v":1,',
    'back\\slash \\" \\\\" \\u0041 \\n (not escapes) "quoted" & /slashes/ | pipes, ends with a comma,',
    "unicode é 東京 😀 \u2028 \u2029 \u202e bidi \u200b zero-width \x00 nul \x1b[31m escape \t tab \r\n newline \\",
    "long " + 'ü😀,"' * 200 + "end",
]


@pytest.fixture(scope="module")
def tool_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tool_folders(tmp_path_factory)


@pytest.fixture
def hostile_site(site: Site, signer: LocalKeySigner) -> Site:
    """cust_1 and cust_2 as in the site fixture, and cust_3 whose usage descriptions are HOSTILE_TEXTS."""
    site.store.write_receipts(signed_chain(signer, "cust_3", list(HOSTILE_TEXTS)))
    site.api_keys["cust_3"] = issue_api_key(site.store, "cust_3")[0]
    site.receipts["cust_3"] = list(site.store.receipts("cust_3"))
    return site


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize("index", [0, 1, 2], ids=["first", "middle", "head"])
def test_the_genuine_bundle_passes_under_each_shell(
    site: Site, tmp_path: Path, tool_paths: dict[str, Path], shell: str, index: int
) -> None:
    receipt = site.receipts["cust_1"][index]
    output = verify(fetch(site, "cust_1", index), tmp_path / "bundle", tool_paths, shell)
    for line in ("receipt.jws OK", "public-key.pem OK", "jwks.json OK", "Verified OK", "receipt_hash OK"):
        assert line in output
    assert (
        f"chain OK: sequence {receipt['sequence']}, previous_receipt_hash {receipt['previous_receipt_hash']}" in output
    )
    assert ("no next receipt yet" in output) == (index == 2)
    last = output.splitlines()[-1]
    assert last.startswith(f"evidence OK: receipt {receipt['receipt_id']} (customer cust_1, sequence {index + 1})")
    assert receipt["receipt_hash"] in last
    assert json.loads((tmp_path / "bundle" / "payload.json").read_bytes()) == {
        name: value for name, value in receipt.items() if name not in ("receipt_hash", "signature")
    }


def test_the_files_must_agree_with_the_issuers_statement(
    site: Site, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    bundle = bundle_of(site, "cust_1", 0)
    bundle.replace("verify.sh", site.receipts["cust_1"][0]["receipt_hash"], "0" * 64)
    refuses(bundle, tmp_path / "statement", tool_paths, "not receipt_hash " + "0" * 64)


def _reorder(bundle: Bundle) -> None:
    bundle.files["receipt.json"] = (
        json.dumps(dict(reversed(bundle.receipt.items())), ensure_ascii=False) + "\n"
    ).encode()


def _duplicate(bundle: Bundle) -> None:
    bundle.replace("receipt.json", b'{"amount":', b'{"amount":"999.00","amount":')


def _description(bundle: Bundle) -> None:
    bundle.edit_receipt(usage_description=bundle.receipt["usage_description"] + ".")


HOSTILE_TEXT_EDITS = {
    "a changed description",
    "a duplicated member",
    "reordered members",
    "the same JSON escaped otherwise",
}
NOT_THE_PAYLOAD = "receipt.json is not the signed payload with receipt_hash and signature added"
ONE_LINE = "receipt.json must be one line ending with a newline"
RECEIPT_EDITS = [
    Edit("a changed amount", lambda b: b.edit_receipt(amount="999.00"), NOT_THE_PAYLOAD),
    Edit("a changed description", _description, NOT_THE_PAYLOAD),
    Edit("a duplicated member", _duplicate, NOT_THE_PAYLOAD),
    Edit("reordered members", _reorder, NOT_THE_PAYLOAD),
    Edit("whitespace between members", lambda b: b.replace("receipt.json", b'","', b'", "'), NOT_THE_PAYLOAD),
    Edit(
        "the same JSON escaped otherwise",
        lambda b: b.replace("receipt.json", b'"currency":"U', b'"currency":"\\u0055'),
        NOT_THE_PAYLOAD,
    ),
    Edit(
        "the same JSON with its text ASCII-escaped",
        lambda b: b.files.update(
            {"receipt.json": (json.dumps(b.receipt, sort_keys=True, separators=(",", ":")) + "\n").encode()}
        ),
        NOT_THE_PAYLOAD,
    ),
    Edit(
        "pretty printed", lambda b: b.files.update({"receipt.json": json.dumps(b.receipt, indent=2).encode()}), ONE_LINE
    ),
    Edit("a CRLF line end", lambda b: b.replace("receipt.json", b"}\n", b"}\r\n"), NOT_THE_PAYLOAD),
    Edit("no line end", lambda b: b.replace("receipt.json", b"}\n", b"}"), ONE_LINE),
    Edit("a second line", lambda b: b.files.update({"receipt.json": b.files["receipt.json"] * 2}), ONE_LINE),
    Edit("a member added", lambda b: b.edit_receipt(note="refunded"), NOT_THE_PAYLOAD),
    Edit(
        "a member removed",
        lambda b: b.files.update({"receipt.json": export_line({k: v for k, v in b.receipt.items() if k != "reason"})}),
        NOT_THE_PAYLOAD,
    ),
    Edit("another receipt_hash", lambda b: b.edit_receipt(receipt_hash="0" * 64), "receipt.json's receipt_hash is not"),
    Edit(
        "the receipt_hash of the JSON as written",
        lambda b: b.edit_receipt(receipt_hash=hashlib.sha256(b.files["receipt.json"]).hexdigest()),
        "receipt.json's receipt_hash is not",
    ),
    Edit(
        "another signature", lambda b: b.edit_receipt(signature="a.b.c"), "receipt.json's signature is not receipt.jws"
    ),
]


@pytest.mark.parametrize("edit", RECEIPT_EDITS, ids=lambda edit: edit.name)
def test_any_edit_of_receipt_json_fails(site: Site, tmp_path: Path, tool_paths: dict[str, Path], edit: Edit) -> None:
    bundle = bundle_of(site, "cust_1", 1)
    edit.apply(bundle)
    refuses(bundle, tmp_path / "edited", tool_paths, edit.message)


@pytest.mark.parametrize("index", range(len(HOSTILE_TEXTS)))
def test_hostile_usage_descriptions_pass_and_an_edit_of_them_fails(
    hostile_site: Site, tmp_path: Path, tool_paths: dict[str, Path], index: int
) -> None:
    files = fetch(hostile_site, "cust_3", index)
    assert json.loads(files["receipt.json"])["usage_description"] == HOSTILE_TEXTS[index]
    verify(files, tmp_path / "genuine", tool_paths)
    for number, edit in enumerate(edit for edit in RECEIPT_EDITS if edit.name in HOSTILE_TEXT_EDITS):
        bundle = Bundle(dict(files), {})
        edit.apply(bundle)
        refuses(bundle, tmp_path / f"edit-{number}", tool_paths, edit.message)


def _forged_signature(bundle: Bundle) -> None:
    head, payload, signature = bundle.parts
    forged = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    bundle.set_jws(head, payload, forged)
    bundle.edit_receipt(signature=".".join([head, payload, forged]))


def _stray_bits(bundle: Bundle) -> None:
    """The same signature bytes, spelled otherwise: the last character's unused bits set."""
    head, payload, signature = bundle.parts
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spelled = signature[:-1] + alphabet[alphabet.index(signature[-1]) | 0b1111]
    assert spelled != signature
    bundle.set_jws(head, payload, spelled)
    bundle.edit_receipt(signature=".".join([head, payload, spelled]))


def _header(spaced: bool = False, **fields: Any) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        head, payload, signature = bundle.parts
        document = {**json.loads(b64url_decode(head)), **fields}
        text = json.dumps(document).encode() if spaced else canonical_bytes(document)
        bundle.set_jws(b64url(text), payload, signature)

    return edit


def _neighbour_jws(bundle: Bundle) -> None:
    bundle.files["receipt.jws"] = bundle.other["receipt.jws"]


def _neighbour_receipt(bundle: Bundle) -> None:
    bundle.files["receipt.jws"] = bundle.other["receipt.jws"]
    bundle.files["receipt.json"] = bundle.other["receipt.json"]


JWS_EDITS = [
    Edit("a forged signature", _forged_signature, "the RS256 signature in receipt.jws does not verify"),
    Edit("the signature spelled otherwise", _stray_bits, "receipt.jws is not canonical base64url"),
    Edit("a fourth part", lambda b: b.set_jws(*b.parts, "AAAA"), "receipt.jws is not a compact JWS"),
    Edit("two parts", lambda b: b.set_jws(*b.parts[:2]), "receipt.jws is not a compact JWS"),
    Edit("an empty payload", lambda b: b.set_jws(b.parts[0], "", b.parts[2]), "receipt.jws is not a compact JWS"),
    Edit("padding", lambda b: b.set_jws(b.parts[0], b.parts[1], b.parts[2] + "=="), "receipt.jws is not a compact JWS"),
    Edit("a second line", lambda b: b.replace("receipt.jws", b"\n", b"\n\n"), "receipt.jws must hold one line"),
    Edit("a trailing space", lambda b: b.replace("receipt.jws", b"\n", b" \n"), "receipt.jws is not a compact JWS"),
    Edit("no line end", lambda b: b.replace("receipt.jws", b"\n", b""), "receipt.jws must hold one line"),
    Edit("alg none", _header(alg="none"), "the JWS header is not exactly"),
    Edit("another typ", _header(typ="JWT"), "the JWS header is not exactly"),
    Edit("whitespace in the header", _header(spaced=True), "the JWS header is not exactly"),
    Edit("an extra header member", _header(crit=["b64"]), "the JWS header is not exactly"),
    Edit("a kid that is not a thumbprint", _header(kid="k1"), "the JWS header is not exactly"),
    Edit("another receipt's genuine JWS", _neighbour_jws, "receipt.json's signature is not receipt.jws"),
    Edit("another genuine receipt", _neighbour_receipt, "the SHA-256 of the signed payload is"),
]


@pytest.mark.parametrize("edit", JWS_EDITS, ids=lambda edit: edit.name)
def test_any_edit_of_receipt_jws_fails(site: Site, tmp_path: Path, tool_paths: dict[str, Path], edit: Edit) -> None:
    bundle = bundle_of(site, "cust_1", 1)
    edit.apply(bundle)
    refuses(bundle, tmp_path / "edited", tool_paths, edit.message)


def test_a_forged_signature_is_refused_by_openssl(site: Site, tmp_path: Path, tool_paths: dict[str, Path]) -> None:
    bundle = bundle_of(site, "cust_1", 1)
    _forged_signature(bundle)
    output = refuses(bundle, tmp_path / "forged", tool_paths, "the RS256 signature in receipt.jws does not verify")
    assert "Verification failure" in output and "Verified OK" not in output


def _payload(key: rsa.RSAPrivateKey | None, kid: str | None = None, pem: bool = False) -> Callable[[Bundle], None]:
    """A payload charging more, in receipt.jws and receipt.json alike: the old signature kept
    (key None) or a new one by `key`, under the JWS kid or `kid`, with public-key.pem that
    key's (pem) or still the issuer's."""

    def edit(bundle: Bundle) -> None:
        head, _, signature = bundle.parts
        body = {**bundle.body, "amount": "999.25"}
        payload = b64url(canonical_bytes(body))
        if kid is not None:
            head = header(kid)
        if key is not None:
            signature = signed_by(key, head, payload)
        if pem:
            bundle.files["public-key.pem"] = public_pem(key)
        jws = f"{head}.{payload}.{signature}"
        receipt_hash = hashlib.sha256(canonical_bytes(body)).hexdigest()
        bundle.files["receipt.json"] = export_line({**body, "receipt_hash": receipt_hash, "signature": jws})
        bundle.set_jws(head, payload, signature)

    return edit


def _whole_forgery(bundle: Bundle) -> None:
    """Everything re-made consistently with another key: only the issuer's statement (and the
    site's JWKS, which an auditor compares it with) tells."""
    key = other_key()
    jwk = {**public_jwk(public_pem(key))}
    body = {**bundle.body, "amount": "999.25", "kid": jwk["kid"]}
    head, payload = header(jwk["kid"]), b64url(canonical_bytes(body))
    jws = f"{head}.{payload}.{signed_by(key, head, payload)}"
    bundle.files["receipt.json"] = export_line(
        {**body, "receipt_hash": hashlib.sha256(canonical_bytes(body)).hexdigest(), "signature": jws}
    )
    bundle.files["receipt.jws"] = (jws + "\n").encode()
    bundle.files["public-key.pem"] = public_pem(key)
    bundle.files["jwks.json"] = jwks_lines({"keys": [jwk]})


PAYLOAD_EDITS = [
    Edit("a changed payload, the signature kept", _payload(None), "the RS256 signature in receipt.jws does not verify"),
    Edit(
        "a changed payload signed by another key, the issuer's key kept",
        _payload(other_key()),
        "the RS256 signature in receipt.jws does not verify",
    ),
    Edit(
        "a changed payload signed by another key, its PEM swapped in, the kid kept",
        _payload(other_key(), pem=True),
        "public-key.pem's RFC 7638 thumbprint is",
    ),
    Edit("the whole bundle forged with another key", _whole_forgery, "the JWS names key"),
]


@pytest.mark.parametrize("edit", PAYLOAD_EDITS, ids=lambda edit: edit.name)
def test_any_edit_of_the_signed_payload_fails(
    site: Site, tmp_path: Path, tool_paths: dict[str, Path], edit: Edit
) -> None:
    bundle = bundle_of(site, "cust_1", 1)
    edit.apply(bundle)
    refuses(bundle, tmp_path / "edited", tool_paths, edit.message)
