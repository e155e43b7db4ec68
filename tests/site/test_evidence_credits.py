"""verify.sh and the receipt contract's versions: a v2 credit's bundle passes and names the
charge it corrects, a v1 receipt's bundle still passes, and a payload signed by the issuer's
own key that breaks v2's type and corrects rules (or names another version) is refused."""

import shutil
from pathlib import Path
from typing import Any

import pytest

from receipts.api_keys import issue_api_key
from receipts.canonical import canonical_bytes, sha256_hex
from receipts.credits import ChargeBook
from receipts.jws import sign_payloads
from receipts.ledger import ChainedReceipt, ChainState
from receipts.records import SignedReceipt
from receipts.stores.signers import LocalKeySigner
from tests.conftest import make_event
from tests.site.conftest import Site
from tests.site.evidence_bundle import bundle_of, fetch, refuses, tool_folders, verify
from tests.vectors.forge import as_v1

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (Debian: openssl)")
PROCESSED_AT = "2026-02-01T09:00:00.000000Z"


@pytest.fixture(scope="module")
def tool_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tool_folders(tmp_path_factory)


def _store(site: Site, customer: str, receipts: list[SignedReceipt]) -> None:
    assert {outcome.value for outcome in site.store.write_receipts(receipts)} == {"written"}
    site.api_keys[customer] = issue_api_key(site.store, customer)[0]
    site.receipts[customer] = list(site.store.receipts(customer))


def _signed(signer: LocalKeySigner, chained: ChainedReceipt) -> SignedReceipt:
    return SignedReceipt(chained, sign_payloads(signer, [chained.canonical])[0])


def _chain(signer: LocalKeySigner, customer: str, events: list[dict[str, Any]], v1: bool = False) -> list:
    state, book, out = ChainState(customer), ChargeBook(), []
    for index, fields in enumerate(events):
        event = make_event(customer_id=customer, timestamp=f"2026-01-25T10:{index:02d}:00Z", **fields)
        chained = state.append(event, None, signer.kid, PROCESSED_AT, book)
        if v1:
            chained = as_v1(chained)
            state.head_hash = chained.receipt_hash
        out.append(_signed(signer, chained))
    return out


@pytest.fixture
def credit_site(site: Site, signer: LocalKeySigner) -> Site:
    """cust_cr: a charge, a credit of it, a refused credit; cust_v1: two v1 charges."""
    charge = make_event(customer_id="cust_cr", idempotent_key="c-1")
    _store(
        site,
        "cust_cr",
        _chain(
            signer,
            "cust_cr",
            [
                {"idempotent_key": "c-1", "amount": "5.00"},
                {"idempotent_key": "cr-1", "amount": "2.00", "type": "credit", "corrects": charge.receipt_id},
                {"idempotent_key": "cr-2", "amount": "4.00", "type": "credit", "corrects": charge.receipt_id},
            ],
        ),
    )
    _store(site, "cust_v1", _chain(signer, "cust_v1", [{"idempotent_key": "a"}, {"idempotent_key": "b"}], v1=True))
    return site


def test_a_credits_bundle_passes_and_names_its_charge(
    credit_site: Site, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    charge, credit, refused = credit_site.receipts["cust_cr"]
    assert (credit["type"], credit["corrects"], refused["reason"]) == (
        "credit",
        charge["receipt_id"],
        "credit_exceeds_charge",
    )
    output = verify(fetch(credit_site, "cust_cr", 1), tmp_path / "credit", tool_paths)
    assert f"(receipt contract v2, a credit correcting charge {charge['receipt_id']})" in output
    assert output.splitlines()[-1].startswith(f"evidence OK: receipt {credit['receipt_id']}")
    output = verify(fetch(credit_site, "cust_cr", 0), tmp_path / "charge", tool_paths)
    assert "(receipt contract v2, a charge)" in output and "evidence OK" in output


def test_a_v1_receipts_bundle_still_passes(credit_site: Site, tmp_path: Path, tool_paths: dict[str, Path]) -> None:
    first = credit_site.receipts["cust_v1"][0]
    assert first["v"] == 1 and "type" not in first
    output = verify(fetch(credit_site, "cust_v1", 1), tmp_path / "v1", tool_paths)
    assert "(receipt contract v1, a charge)" in output
    assert output.splitlines()[-1].startswith("evidence OK")


def test_an_edit_of_a_credits_type_or_corrects_fails(
    credit_site: Site, tmp_path: Path, tool_paths: dict[str, Path]
) -> None:
    bundle = bundle_of(credit_site, "cust_cr", 1)
    bundle.edit_receipt(type="charge")
    refuses(bundle, tmp_path / "type", tool_paths, "receipt.json is not the signed payload")
    bundle = bundle_of(credit_site, "cust_cr", 1)
    bundle.edit_receipt(corrects=credit_site.receipts["cust_cr"][2]["receipt_id"])
    refuses(bundle, tmp_path / "corrects", tool_paths, "receipt.json is not the signed payload")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"type": "refund"}, "type must be charge or credit"),
        ({"corrects": "r_" + "a" * 26}, "a v2 charge's corrects must be null"),
        ({"type": "credit"}, "a v2 credit's corrects must be the receipt id"),
        ({"v": 1}, "a v1 signed payload has no type or corrects"),
        ({"v": 3}, "v must be 1 or 2"),
    ],
    ids=["type-refund", "charge-with-corrects", "credit-without-corrects", "v1-with-type", "v3"],
)
def test_a_payload_the_issuer_signed_against_the_contract_is_refused(
    site: Site, signer: LocalKeySigner, tmp_path: Path, tool_paths: dict[str, Path], edit: dict, message: str
) -> None:
    [genuine] = _chain(signer, "cust_bad", [{"idempotent_key": "x"}])
    body = {**genuine.chained.body, **edit}
    canonical = canonical_bytes(body)
    _store(site, "cust_bad", [_signed(signer, ChainedReceipt(body, canonical, sha256_hex(canonical), None))])
    refuses(bundle_of(site, "cust_bad", 0), tmp_path / "bad", tool_paths, message)
