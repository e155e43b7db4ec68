"""The local runner, and one fix to it.

Beam's BundleBasedDirectRunner (streaming, and our batch job) has a metrics bug: each
worker thread's StateSampler caches its per-step ScopedStates together with the
MetricsContainer of the first bundle it ran for that step. Later bundles get a new
container, but user counters still land in the cached first one, which was committed
already, so every counter stops after the first bundle of its step. We give the executor
one container per (thread, step), emptied at the start of each bundle, so the container
the sampler holds is always the one the executor commits.
"""

import threading

from apache_beam.metrics.execution import MetricsContainer
from apache_beam.runners.direct import executor

RUNNER = "BundleBasedDirectRunner"  # not Prism: it downloads a binary (PITFALLS.md)
_containers = threading.local()


def _bundle_container(step_name: str) -> MetricsContainer:
    cache = _containers.__dict__.setdefault("by_step", {})
    container = cache.get(step_name)
    if container is None:
        container = cache[step_name] = MetricsContainer(step_name)
    else:
        container.reset()
    return container


def fix_direct_runner_metrics() -> None:
    """Idempotent: make the executor use one metrics container per thread and step."""
    executor.MetricsContainer = _bundle_container
