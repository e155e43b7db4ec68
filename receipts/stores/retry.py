"""Retry with exponential backoff for calls to a store that may be briefly down.

Only errors that say "try again" are retried (unavailable, deadline exceeded, aborted,
throttled, connection refused); anything else is a real error and raised at once.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from google.api_core import exceptions as api_exceptions

T = TypeVar("T")
log = logging.getLogger("receipts.retry")  # the name operators know; kept when the module moved

TRANSIENT: tuple[type[BaseException], ...] = (
    api_exceptions.ServiceUnavailable,
    api_exceptions.DeadlineExceeded,
    api_exceptions.Aborted,
    api_exceptions.InternalServerError,
    api_exceptions.TooManyRequests,
    api_exceptions.ResourceExhausted,
    api_exceptions.RetryError,
    ConnectionError,
    TimeoutError,
)
try:  # Cloud Storage talks HTTP through requests
    import requests

    TRANSIENT += (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
except ImportError:  # pragma: no cover - requests comes with google-cloud-storage
    pass


def with_backoff(
    what: str,
    call: Callable[[], T],
    give_up_after: float = 600.0,
    first_delay: float = 0.2,
    max_delay: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying transient failures with jittered exponential backoff for up to
    `give_up_after` seconds; then the last error is raised."""
    deadline = time.monotonic() + give_up_after
    delay = first_delay
    attempt = 1
    while True:
        try:
            return call()
        except TRANSIENT as error:
            if time.monotonic() + delay > deadline:
                raise
            log.warning(
                "%s failed (attempt %d, %s: %s); retrying in %.1f s",
                what,
                attempt,
                type(error).__name__,
                str(error)[:200],
                delay,
            )
            sleep(delay)
            delay = min(max_delay, delay * 2) * random.uniform(0.8, 1.2)
            attempt += 1
