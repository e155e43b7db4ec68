"""The `receipts` command (receipts_cli.main:main): click commands, what they print, the home
folder, the demo and the emulator manager. The composition root: the one package that may
import the pipelines, the verifier site and the stores together (docs/LAYOUT.md)."""
