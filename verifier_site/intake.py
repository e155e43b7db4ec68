"""Whether intake is frozen, as the site sees it: the store's state (receipts intake
freeze|resume) read through a small cache, at most once per INTAKE_CACHE_SECONDS per
process, whatever the number of threads and requests. While frozen, ingest answers 503
`intake_frozen`, the pages show a banner and /healthz and /metrics say so."""

import threading
import time
from collections.abc import Callable

from flask import Flask, current_app

from receipts.rows import IntakeState
from verifier_site.errors import SiteError
from verifier_site.storage import get_store

RETRY_AFTER_SECONDS = 60


class IntakeCache:
    """The last state read and when; one reader at a time (a lock), so a burst of requests
    after the cache time costs one store read."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._lock = threading.Lock()
        self._state: IntakeState | None = None
        self._read_at = 0.0

    def state(self, read: Callable[[], IntakeState]) -> IntakeState:
        with self._lock:
            if self._state is None or self.clock() - self._read_at >= self.seconds:
                self._state = read()
                self._read_at = self.clock()
            return self._state


def intake_state() -> IntakeState:
    """The store's intake state, at most INTAKE_CACHE_SECONDS old."""
    cache: IntakeCache = current_app.extensions["intake"]
    return cache.state(lambda: get_store().intake())


def refuse_while_frozen() -> None:
    """For ingest: 503 `intake_frozen` with the reason and Retry-After while frozen."""
    state = intake_state()
    if state.frozen:
        raise SiteError(
            503,
            f"intake is frozen: new usage is not being charged right now ({state.reason}); "
            f"send the same event again after Retry-After: it is charged once",
            code="intake_frozen",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            extra={"reason": state.reason, "since": state.changed_at},
        )


def _banner() -> dict[str, IntakeState | None]:
    """The pages' `intake` (base.html shows a banner while frozen); a store that cannot
    answer shows no banner rather than breaking the page (its error page included)."""
    try:
        return {"intake": intake_state()}
    except Exception as error:  # a page reports, never crashes
        current_app.logger.warning("intake state unavailable: %s", error)
        return {"intake": None}


def init_app(app: Flask) -> None:
    app.extensions["intake"] = IntakeCache(
        app.config["INTAKE_CACHE_SECONDS"], app.config["INTAKE_CLOCK"] or time.monotonic
    )
    app.context_processor(_banner)
