"""Stand-ins for Pub/Sub behind the site's ingest API, for the tests of what a real one
cannot be made to do on cue: confirm at once, hang, or fail. The happy path and the
flood run against the real Pub/Sub emulator (tests/gcp/test_ingest_gcp.py)."""

from collections.abc import Callable, Mapping
from concurrent.futures import Future

from google.api_core import exceptions as api_exceptions


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
