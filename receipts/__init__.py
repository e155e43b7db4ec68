"""Verifiable billing receipts. The modules here are the domain: pure rules over small
values, with no Beam, Flask, terminal or cloud library. Beside them: receipts.stores (every
adapter that touches a disk or a cloud API) and receipts.producer (the producers' client);
docs/LAYOUT.md."""

__version__ = "0.1.0"
