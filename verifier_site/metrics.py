"""Prometheus metrics, one registry per app (several apps in one test process must not
share counters): requests by route and status, latency, verification outcomes, 429s, and whether intake is frozen."""

import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class SiteMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    verifications: Counter
    rate_limited: Counter
    intake_frozen: Gauge
    # The children of `requests` and `latency` by label values, as labels() returns them:
    # labels() checks and joins its values on every call, twice per request.
    children: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def request_child(self, route: str, method: str, status: str) -> Any:
        key = ("requests", route, method, status)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.requests.labels(route, method, status)
        return child

    def latency_child(self, route: str) -> Any:
        key = ("latency", route)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.latency.labels(route)
        return child

    @classmethod
    def create(cls) -> "SiteMetrics":
        registry = CollectorRegistry()
        return cls(
            registry,
            Counter(
                "verifier_requests",
                "HTTP requests by route template, method and status",
                ["route", "method", "status"],
                registry=registry,
            ),
            Histogram(
                "verifier_request_duration_seconds",
                "Time to answer a request, by route template",
                ["route"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            Counter(
                "verifier_verifications",
                "Receipts the server verified, by where and outcome",
                ["source", "result"],
                registry=registry,
            ),
            Counter("verifier_rate_limited", "Requests answered 429, by limit", ["limit"], registry=registry),
            Gauge(
                "receipts_intake_frozen",
                "1 while intake is frozen (nothing new is charged), else 0",
                registry=registry,
            ),
        )


def _metrics() -> SiteMetrics:
    return current_app.extensions["metrics"]


def count_verification(source: str, ok: bool) -> None:
    """One receipt verified by the server for `source` (page, api, form, evidence)."""
    _metrics().verifications.labels(source, "pass" if ok else "fail").inc()


def count_rate_limited(limit: str) -> None:
    _metrics().rate_limited.labels(limit).inc()


def set_intake_frozen(frozen: bool) -> None:
    _metrics().intake_frozen.set(1 if frozen else 0)


def exposition() -> Response:
    return Response(generate_latest(_metrics().registry), mimetype=None, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _record(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else "(unmatched)"  # templates only: bounded labels
    site = _metrics()
    site.request_child(route, request.method, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        site.latency_child(route).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    app.extensions["metrics"] = SiteMetrics.create()
    app.before_request(_start_timer)
    app.after_request(_record)
