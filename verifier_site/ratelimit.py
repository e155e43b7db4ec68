"""In-process token buckets per client IP and per API key: enough for one site process
(no Redis); a fleet behind a load balancer multiplies the limits by its processes."""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, request

from verifier_site.errors import SiteError
from verifier_site.metrics import count_rate_limited

V = TypeVar("V", bound=Callable[..., Any])
UNLIMITED_PATHS = frozenset({"/healthz", "/metrics"})  # probes and scrapers must always get through


class TokenBuckets:
    """One bucket per name: `burst` tokens, refilled at `per_second`; a request takes one.
    At most `tracked` buckets are kept; the least recently used is forgotten first."""

    def __init__(
        self, burst: int, per_second: float, tracked: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if burst < 1 or per_second <= 0:
            raise ValueError("a rate limit needs burst >= 1 and a positive refill rate")
        self.burst, self.per_second, self.tracked = burst, per_second, tracked
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # name -> (tokens, updated)

    def take(self, name: str) -> float:
        """0.0 when a token was taken; otherwise the seconds until one is back."""
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.pop(name, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * self.per_second)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.per_second
            self._buckets[name] = (tokens, now)
            while len(self._buckets) > self.tracked:
                self._buckets.popitem(last=False)
            return wait


@dataclass(frozen=True)
class RateLimits:
    by_ip: TokenBuckets | None
    by_key: TokenBuckets | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "RateLimits":
        def buckets(setting: str) -> TokenBuckets | None:
            value = config.get(setting)
            return TokenBuckets(int(value[0]), float(value[1]), int(config["RATE_LIMIT_TRACKED"])) if value else None

        return cls(buckets("RATE_LIMIT_IP"), buckets("RATE_LIMIT_KEY"))


def _enforce(buckets: TokenBuckets | None, name: str, what: str) -> None:
    if buckets is None:
        return
    wait = buckets.take(name)
    if wait > 0:
        count_rate_limited(what)
        seconds = max(1, math.ceil(wait))
        raise SiteError(
            429,
            f"too many requests for this {what}: retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def bounded_elsewhere(view: V) -> V:
    """Mark a view whose callers are bounded another way (the ingest API: publishes in
    flight per customer and per process); the per-IP bucket skips it before the view runs."""
    view.bounded_elsewhere = True  # type: ignore[attr-defined]
    return view


def limit_client_ip() -> None:
    """Before any request: the caller's IP (as ProxyFix reports it, when configured)."""
    if request.path in UNLIMITED_PATHS:
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "bounded_elsewhere", False):
        return
    charge_client_ip()


def charge_client_ip() -> None:
    """Take a token from the caller's IP bucket now (429 when it is empty)."""
    _enforce(current_app.extensions["rate_limits"].by_ip, request.remote_addr or "unknown", "IP address")


def limit_api_key(key_id: str) -> None:
    """After authentication: the key's own budget, wherever it is used from."""
    _enforce(current_app.extensions["rate_limits"].by_key, key_id, "API key")


def init_app(app: Flask) -> None:
    app.extensions["rate_limits"] = RateLimits.from_config(app.config)
    app.before_request(limit_client_ip)
