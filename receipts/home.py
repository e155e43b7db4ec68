"""Where the embedded default keeps things: one folder (`--home`, `RECEIPTS_HOME`)."""

from dataclasses import dataclass
from pathlib import Path

from receipts.keys import KeyRing


@dataclass(frozen=True)
class Home:
    root: Path
    store_url_override: str | None = None

    @property
    def store_url(self) -> str:
        return self.store_url_override or f"sqlite:///{(self.root / 'receipts.db').resolve()}"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    def keyring(self) -> KeyRing:
        """The signing key ring; the first key is created on first use (mode 0600)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return KeyRing(self.keys)
