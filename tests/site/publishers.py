"""Stand-ins for Pub/Sub behind the site's ingest API, for the tests of what a real one
cannot be made to do on cue: confirm at once, hang, or fail. The happy path and the
flood run against the real Pub/Sub emulator (tests/gcp/test_ingest_gcp.py)."""

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime

from google.api_core import exceptions as api_exceptions

from receipts.events import parse_event
from receipts.jws import sign_payloads
from receipts.records import SignedReceipt


class InstantPublisher:
    """Pub/Sub confirming every message at once; keeps what it was given."""

    def __init__(self) -> None:
        self.messages: list[tuple[bytes, dict[str, str]]] = []

    def publish(self, raw: bytes, attributes: Mapping[str, str]) -> Future:
        self.messages.append((raw, dict(attributes)))
        future: Future = Future()
        future.set_result(str(len(self.messages)))
        return future


class HeldPublisher(InstantPublisher):
    """A slow Pub/Sub: messages for which `hold` is true stay unconfirmed until `confirm()`."""

    def __init__(self, hold: Callable[[Mapping[str, str]], bool] = lambda attributes: True) -> None:
        super().__init__()
        self.hold = hold
        self.held: list[Future] = []

    def publish(self, raw: bytes, attributes: Mapping[str, str]) -> Future:
        if not self.hold(attributes):
            return super().publish(raw, attributes)
        self.messages.append((raw, dict(attributes)))
        future: Future = Future()
        self.held.append(future)
        return future

    def confirm(self) -> None:
        for future in self.held:
            future.set_result("late")
        self.held.clear()


class FailingPublisher:
    """Pub/Sub that is down: every publish fails as the client does after its retries."""

    def __init__(self) -> None:
        self.calls = 0

    def publish(self, raw: bytes, attributes: Mapping[str, str]) -> Future:
        self.calls += 1
        future: Future = Future()
        future.set_exception(api_exceptions.ServiceUnavailable("connection refused"))
        return future


class ChargingPublisher(InstantPublisher):
    """Pub/Sub with the pipeline behind it: each event published is charged into `store` at
    once (chained on the stored head, signed, written), as the streaming job would, unless
    `hold` is true for it; `charge_held()` charges those later."""

    def __init__(
        self,
        store,
        signer,
        hold: Callable[[Mapping[str, str]], bool] = lambda attributes: False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.store, self.signer, self.hold, self.clock = store, signer, hold, clock
        self.held: list[bytes] = []

    def publish(self, raw: bytes, attributes: Mapping[str, str]) -> Future:
        future = super().publish(raw, attributes)
        if self.hold(attributes):
            self.held.append(raw)
        else:
            self.charge(raw)
        return future

    def charge(self, raw: bytes) -> None:
        event = parse_event(raw)
        if self.store.lookup_idempotency(event.customer_id, event.idempotent_key) is not None:
            return  # a duplicate or a conflict: the pipeline charges nothing
        processed_at = self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        chained = self.store.load_chain(event.customer_id).append(event, None, self.signer.kid, processed_at)
        self.store.write_receipts([SignedReceipt(chained, sign_payloads(self.signer, [chained.canonical])[0])])

    def charge_held(self) -> None:
        for raw in self.held:
            self.charge(raw)
        self.held.clear()
