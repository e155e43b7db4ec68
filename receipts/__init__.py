"""Verifiable billing receipts: the domain core (no Beam, no Flask)."""

__version__ = "0.1.0"
