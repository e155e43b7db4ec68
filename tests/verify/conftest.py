"""The chain every verification test forges from, and a key that is not ours."""

from collections.abc import Callable

import pytest

from receipts.stores.signers import LocalKeySigner
from tests.verify.forgeries import Receipt, new_signer

# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(make_chain: Callable[..., list[Receipt]]) -> list[Receipt]:
    """Five receipts of one customer with distinct amounts (so balances tell them apart)."""
    return make_chain(5, customer="cust_v", amounts=["1.50", "2.25", "10.00", "0.01", "3.00"])


@pytest.fixture(scope="module")
def foreign() -> LocalKeySigner:
    """A well-formed RSA key that is not ours and is not in our JWKS."""
    return new_signer()
