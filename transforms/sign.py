"""Sign chained receipts as RS256 JWS, a batch at a time."""

import apache_beam as beam

from receipts.keys import KeyRing
from receipts.ledger import ChainedReceipt
from receipts.records import SignedReceipt
from receipts.signers import LocalKeySigner, sign_payloads


class SignReceipts(beam.DoFn):
    """list[ChainedReceipt] -> SignedReceipt each. The key is loaded in setup(), never pickled."""

    def __init__(self, keys_folder: str, kid: str) -> None:
        self.keys_folder = keys_folder
        self.kid = kid

    def setup(self) -> None:
        self.signer = LocalKeySigner(KeyRing(self.keys_folder).private_pem(self.kid))
        if self.signer.kid != self.kid:
            raise ValueError(f"key file for {self.kid} holds key {self.signer.kid}")

    def process(self, batch: list[ChainedReceipt]):
        signatures = sign_payloads(self.signer, [receipt.canonical for receipt in batch])
        for receipt, signature in zip(batch, signatures, strict=True):
            yield SignedReceipt(receipt, signature)
