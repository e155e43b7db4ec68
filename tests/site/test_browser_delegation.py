"""static/delegation.js in real headless Chromium: with the key-endorsements document, the
browser verifier's key_endorsement check gives receipts.verify's result and reason for a
root-signed receipt, one signed in its key's window, one outside it, one after its
revocation and one by a key nobody endorsed; and a forged endorsement is no endorsement."""

import json
from pathlib import Path
from typing import Any

import pytest

from receipts.canonical import canonical_bytes
from receipts.delegation import REVOCATION_TYP, Delegations, key_endorsements_document, revocation_body
from receipts.jws import sign_payloads
from receipts.keys import Jwks
from receipts.ledger import ChainState
from receipts.records import SignedReceipt
from receipts.stores.delegated import public_jwks_of
from receipts.stores.keyring import KeyRing
from receipts.stores.pem_signer import LocalKeySigner
from receipts.stores.signers import signer_from_url
from receipts.stores.sqlite import SqliteStore
from receipts.verify import verify_chain
from tests.conftest import make_event
from tests.site.conftest import results_of, run_in_verify_page, serve, serve_empty_site
from tests.site.test_evidence_delegated import delegated_site  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

RUN = """async (text) => {
  const { trustedKeys, verifyChain } = await import("/static/verifier.js");
  const { trustedDelegations } = await import("/static/delegation.js");
  const { readReceipts } = await import("/static/verifier.js");
  const input = JSON.parse(text);
  const keys = await trustedKeys(JSON.stringify(input.jwks));
  const delegations = await trustedDelegations(JSON.stringify(input.document), keys);
  const { receipts } = readReceipts(input.receipts);
  const results = await verifyChain(receipts, keys, delegations);
  return { checks: results.map((r) => r.checks.map((c) => [c.check, c.ok, c.reason])), problems: delegations.problems };
}"""


def receipt(key, customer: str, processed_at: str) -> dict[str, Any]:
    chained = ChainState(customer).append(make_event(customer_id=customer), None, key.kid, processed_at)
    return SignedReceipt(chained, sign_payloads(key, [chained.canonical])[0]).export()


def test_the_browser_checks_delegated_keys_as_python_does(browser: Any, tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    root = ring.ensure_current()
    store = SqliteStore(f"sqlite:///{tmp_path / 'keys.db'}")
    signer = signer_from_url(f"delegated://local{ring.folder}?window=1d", store)
    key = signer.signer_at("2026-03-01T10:00:00Z")
    stranger = LocalKeySigner(KeyRing(tmp_path / "other").private_pem(KeyRing(tmp_path / "other").ensure_current()))
    revocation = revocation_body(key.kid, "2026-03-01T20:00:00.5Z", "leaked \u202e in a test", root)
    store.add_key_revocation(sign_payloads(signer.endorser, [canonical_bytes(revocation)], REVOCATION_TYP)[0])
    receipts = [
        receipt(signer.endorser, "c_root", "2026-03-01T10:00:00.000000Z"),
        receipt(key, "c_in", "2026-03-01T10:00:00.123456Z"),
        receipt(key, "c_out", "2026-03-02T00:00:00.000000Z"),
        receipt(key, "c_revoked", "2026-03-01T20:00:00.500000Z"),
        receipt(stranger, "c_stranger", "2026-03-01T10:00:00.000000Z"),
    ]
    endorsements = [doc.jws for doc in store.key_documents("endorsement")]
    header, payload, signature = endorsements[0].split(".")
    forged = f"{header}.{payload}.{signature[:-2]}AA"
    revocations = [doc.jws for doc in store.key_documents("revocation")]
    document = key_endorsements_document([root], [forged, *endorsements], revocations)
    jwks = {"keys": [*ring.jwks()["keys"], *public_jwks_of(store.delegated_keys()), stranger.jwk]}
    python = verify_chain(receipts, Jwks(jwks), Delegations.from_document(document, Jwks(jwks)))
    expected = [[[c.check, c.ok, c.reason] for c in result.checks] for result in python]
    text = json.dumps({"jwks": jwks, "document": document, "receipts": "\n".join(map(json.dumps, receipts))})
    site = serve_empty_site(tmp_path / "site", ring.folder)
    origin = next(site)
    try:
        found = run_in_verify_page(browser, origin, {"answer": (RUN, text)})
    finally:
        site.close()
    assert found["problems"] == []
    assert found["answer"]["checks"] == expected
    named = [check[2].split(":")[0] for checks in expected for check in checks if check[0] == "key_endorsement"]
    assert named == [
        f"key {root} is an HSM key",
        f"key {key.kid} is endorsed by the HSM key for this time",
        "outside_key_window",
        "key_revoked",
        "no_endorsement",
    ]
    assert len(found["answer"]["problems"]) == 1 and "does not verify" in found["answer"]["problems"][0]
    store.close()


def test_the_receipt_page_checks_the_key_in_the_browser(delegated_site, browser: Any) -> None:  # noqa: F811
    """The receipt page fetches key-endorsements.json: in the window it passes; a day late the
    browser fails it with the server's named reason."""
    served = serve(delegated_site.app)
    base = next(served)
    context = browser.new_context()
    page = context.new_page()
    try:
        for customer, state, words in (
            ("cust_1", "pass", "is endorsed by the HSM key"),
            ("cust_2", "fail", "outside_key_window"),
        ):
            receipt = delegated_site.receipts[customer][0]
            delegated_site.sign_in_browser(page, base, receipt)
            page.click("#verify-in-browser")
            result = results_of(page, "#browser-results")
            assert result["state"] == state, result["text"]
            assert words in page.inner_text("#browser-results")
    finally:
        context.close()
        served.close()
