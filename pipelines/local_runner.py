"""The local runner, one fix and two tunings of it.

Beam's BundleBasedDirectRunner (streaming, the reconciliation, and the batch job when it is
started without `workers`; `receipts run` uses the FnApiRunner, pipelines/workers.py) has a metrics bug: each
worker thread's StateSampler caches its per-step ScopedStates together with the
MetricsContainer of the first bundle it ran for that step. Later bundles get a new
container, but user counters still land in the cached first one, which was committed
already, so every counter stops after the first bundle of its step. We give the executor
one container per (thread, step), emptied at the start of each bundle, so the container
the sampler holds is always the one the executor commits.

It also starts every bundle by inspecting the DoFn's methods for state and timer
parameters (`userstate.get_dofn_specs`, several calls per bundle), and after a GroupByKey
every key is a bundle of its own: that inspection was a sixth of the reconcile job's time.
The answer depends on the DoFn's class, so we keep it per class.

And each `PipelineOptions.view_as` call parses the command line again with a parser of every
option Beam and we define (~0.4 ms); building and running a job asks for views hundreds of
times (the reconcile job: 427 calls while building it alone), a tenth of its CPU on 20,000
receipts. A view keeps nothing of its own (every value lives in the options' shared
`_all_options`), so one view per (options, class) is kept and handed out again.
"""

import threading
import types
import weakref

from apache_beam.metrics.execution import MetricsContainer
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.direct import executor, transform_evaluator
from apache_beam.transforms import userstate
from google.api_core import exceptions as api_exceptions

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


_inspect_dofn = userstate.get_dofn_specs
_dofn_specs: dict[tuple[type, frozenset], tuple[set, set]] = {}


def _cached_dofn_specs(dofn):
    """Beam's answer, kept per DoFn class. The runner round-trips the DoFn through pickle for
    every bundle, so the class is what stays. Beam inspects the bound methods the instance
    shows: its class's, less those an instance attribute hides (beam.Map's wrapper sets
    `process` to the function), plus bound methods held by the instance, which are
    inspected every time, as Beam does."""
    attributes = vars(dofn)
    if any(isinstance(value, types.MethodType) for value in attributes.values()):
        return _inspect_dofn(dofn)
    key = (type(dofn), frozenset(attributes))  # an instance attribute may hide a method
    specs = _dofn_specs.get(key)
    if specs is None:
        specs = _dofn_specs[key] = _inspect_dofn(dofn)
    state_specs, timer_specs = specs
    return set(state_specs), set(timer_specs)  # the caller's own sets, as Beam's are


_parse_view = PipelineOptions.view_as
_views: "weakref.WeakKeyDictionary[PipelineOptions, dict[type, PipelineOptions]]" = weakref.WeakKeyDictionary()
_views_lock = threading.RLock()


def _kept_view(options: PipelineOptions, cls: type) -> PipelineOptions:
    """Beam's view of `options` as `cls`, made once: every later one is the same object, and
    a view reads and writes the values all views share, as a new one would."""
    with _views_lock:
        kept = _views.setdefault(options, {})
        view = kept.get(cls)
        if view is None:
            view = kept[cls] = _parse_view(options, cls)
        return view


def prepare_direct_runner() -> None:
    """Idempotent: the metrics fix, each DoFn's state and timer specs inspected once, and each
    view of a job's options parsed once."""
    fix_direct_runner_metrics()
    userstate.get_dofn_specs = _cached_dofn_specs
    PipelineOptions.view_as = _kept_view


class _ShortPull:
    """A SubscriberClient whose pull waits at most `seconds` and takes up to `max_messages`."""

    def __init__(self, client, seconds: float, max_messages: int) -> None:
        self._client, self._seconds, self._max_messages = client, seconds, max_messages

    def pull(self, subscription: str, max_messages: int, timeout: float, **kwargs):
        from google.cloud.pubsub_v1.types import PullResponse

        try:
            return self._client.pull(
                subscription=subscription,
                max_messages=max(max_messages, self._max_messages),
                timeout=min(timeout, self._seconds),
                **kwargs,
            )
        except api_exceptions.DeadlineExceeded:
            return PullResponse()  # nothing arrived in time: an empty bundle, as the runner expects

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def tune_direct_runner_pubsub(seconds: float = 2.0, max_messages: int = 500) -> None:
    """The DirectRunner pulls 10 messages at a time and, on an idle subscription, waits 30 s
    in one pull. Its executor has one thread, so for those 30 s nothing else runs, the
    watermark stands still (no archive window closes) and a cancel cannot finish. Pull up
    to `max_messages` and wait at most `seconds`. Local runner only; Dataflow reads Pub/Sub
    natively."""
    evaluator = transform_evaluator._PubSubReadEvaluator
    if getattr(evaluator, "_receipts_tuned", False):
        return
    original = evaluator._get_subscriber_client.__func__

    def short_pull_client(cls, transform):
        return _ShortPull(original(cls, transform), seconds, max_messages)

    evaluator._get_subscriber_client = classmethod(short_pull_client)
    evaluator._receipts_tuned = True


def stop(result, timeout: float = 60.0) -> None:
    """Cancel a local job and wait until its worker thread has finished the bundle it was in:
    the DirectRunner's cancel does not wait, and a write landing after we return could race
    a new job started on the same store."""
    result.cancel()
    service = getattr(getattr(getattr(result, "_executor", None), "_executor", None), "executor_service", None)
    for worker in getattr(service, "workers", []):
        worker.join(timeout)
