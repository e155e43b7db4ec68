"""The verifier site: customers look up their receipts, anyone verifies receipts."""

from verifier_site.app import create_app

__all__ = ["create_app"]
