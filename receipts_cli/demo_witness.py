"""The demo's own witness: a tlog-witness on loopback for the length of the demo, with its
key and state in HOME/witness (as `receipts witness serve` keeps them), so the demo's run
ends with a checkpoint cosigned by a witness, as production's do."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from werkzeug.serving import make_server

from receipts.stores.witness_state import FileWitnessState
from receipts.tlog.witness import Witness
from receipts_cli.home import Home, store_of
from receipts_cli.log import log_vkey
from receipts_cli.witness import ensure_key, witness_folder
from receipts_cli.witness_server import create_witness_app

DEMO_WITNESS = "witness.demo.local"


@contextmanager
def local_witness(home: Home) -> Iterator[Home]:
    """`home` with a witness of its log listening on 127.0.0.1 (quorum 1) while inside."""
    vkey = log_vkey(home, store_of(home))
    signer, _ = ensure_key(home, DEMO_WITNESS)
    witness = Witness.for_vkeys(signer, [vkey], FileWitnessState(witness_folder(home) / "state.json"))
    server = make_server("127.0.0.1", 0, create_witness_app(witness), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-witness", daemon=True)
    thread.start()
    try:
        yield replace(
            home, log_witnesses=(f"{signer.vkey}@http://127.0.0.1:{server.server_port}",), log_witness_quorum=1
        )
    finally:
        server.shutdown()
        thread.join(10)
