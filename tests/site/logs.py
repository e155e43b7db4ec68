"""A transparency log for the site's tests: the store's receipts logged by the real
sequencer (receipts.stores.log_sequencer) into a folder, signed by a test log key, and
optionally cosigned by test witnesses; and the site's settings that serve it."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receipts.stores.log_files import FolderLogFiles
from receipts.stores.log_sequencer import integrate_log
from receipts.stores.sqlite import SqliteStore
from receipts.tlog.checkpoints import Checkpoint, sign_checkpoint
from receipts.tlog.cosignatures import CosignatureSigner
from receipts.tlog.note_keys import COSIGNATURE_V1, NoteSigner, generate_key
from receipts.tlog.notes import with_signature_lines

ORIGIN = "billing.test/log"
COSIGNED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass
class SiteLog:
    folder: Path
    signer: NoteSigner
    witnesses: tuple[CosignatureSigner, ...] = ()

    @property
    def files(self) -> FolderLogFiles:
        return FolderLogFiles(self.folder)

    @property
    def vkey(self) -> str:
        return self.signer.verifier.key.vkey

    def config(self, quorum: int = 0, **extra: Any) -> dict[str, Any]:
        return {
            "LOG_URL": str(self.folder),
            "LOG_VKEY": self.vkey,
            "LOG_WITNESSES": [witness.vkey for witness in self.witnesses],
            "LOG_WITNESS_QUORUM": quorum,
            "LOG_CACHE_SECONDS": 0,
            **extra,
        }

    def integrate(self, store: SqliteStore, cosigned_by: Sequence[CosignatureSigner] | None = None) -> int:
        """Log every stored receipt not logged yet and publish a checkpoint; return its size.
        Without witnesses, the sequencer's own integrate_log does it all; with them, its
        steps are taken one by one so that the checkpoint is cosigned before it is kept."""
        witnesses = self.witnesses if cosigned_by is None else tuple(cosigned_by)
        if not witnesses:
            run = integrate_log(store, self.files, self.signer, ORIGIN)
            assert run.ok, run.failed
            return run.size
        store.ensure_log(ORIGIN)
        while (appended := store.append_log(ORIGIN, 10_000)) is not None:
            integration = appended.integration
            self.files.write_all(integration.files())
            store.mark_log_published(integration.old_size, integration.size)
        state = store.log_state()
        assert state is not None
        checkpoint = Checkpoint(ORIGIN, state.size, state.root)
        note = sign_checkpoint(checkpoint, [self.signer])
        for witness in witnesses:
            note = with_signature_lines(note, witness.cosign(checkpoint.text, COSIGNED_AT).line.encode())
        kept = store.add_checkpoint(state.size, note)
        self.files.publish_checkpoint(state.size, kept)
        return state.size


def new_log(folder: Path, witnesses: int = 0) -> SiteLog:
    signers = tuple(
        CosignatureSigner(generate_key(f"witness{number}.test", COSIGNATURE_V1)) for number in range(1, witnesses + 1)
    )
    return SiteLog(folder, NoteSigner(generate_key(ORIGIN)), signers)
