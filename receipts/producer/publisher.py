"""Publishing raw event messages to Pub/Sub: the one place that builds the client, names
the topic and sets the attributes, for `receipts publish`, the site's ingest API and the
`receipts.producer` client.

A message is exactly the bytes the producer wrote: that is what the pipeline parses and
hashes. `idempotent_key` and `customer_id` ride along as attributes, so subscribers can
route or filter without parsing.
"""

from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from pathlib import Path
from typing import TYPE_CHECKING

from receipts.canonical import strict_loads
from receipts.events import Event

if TYPE_CHECKING:
    from google.cloud import pubsub_v1

# The Pub/Sub names a project's events travel by (receipts_cli.provision creates them).
TOPIC = "billing-events"
SUBSCRIPTION = "billing-events-sub"
DEAD_LETTER_TOPIC = "billing-events-dead"
ATTRIBUTE_FIELDS = ("idempotent_key", "customer_id")
ATTRIBUTE_LIMIT = 1024  # bytes in a Pub/Sub attribute value


def jsonl_messages(path: Path) -> Iterator[bytes]:
    """Non-empty lines, split on "\\n" only (U+2028 inside a string is not a break)."""
    for line in Path(path).read_bytes().split(b"\n"):
        line = line.removesuffix(b"\r")
        if line:
            yield line


def attributes_of(raw: bytes) -> dict[str, str]:
    """Attributes of a message that may not be a valid event (then as many as it names)."""
    try:
        document = strict_loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    found = {}
    for name in ATTRIBUTE_FIELDS:
        value = document.get(name)
        if isinstance(value, str) and value and len(value.encode("utf-8")) <= ATTRIBUTE_LIMIT:
            found[name] = value
    return found


def event_attributes(event: Event) -> dict[str, str]:
    """Attributes of a validated event: no second parse (a valid key is at most 1020 bytes)."""
    return {"idempotent_key": event.idempotent_key, "customer_id": event.customer_id}


def topic_path(project: str, topic: str) -> str:
    """`projects/P/topics/T` from a topic name (or a path, kept as it is)."""
    return topic if topic.startswith("projects/") else f"projects/{project}/topics/{topic}"


def publisher_client(max_messages: int = 100, max_latency: float = 0.01) -> "pubsub_v1.PublisherClient":
    """A PublisherClient that batches up to `max_messages` or `max_latency` seconds.

    Create it in the process that publishes: gRPC channels do not survive a fork.
    """
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=max_messages, max_latency=max_latency)
    )


def publish_retry(deadline: float):
    """The client's own retry of one publish, bounded: gRPC "try again" errors are retried
    for at most `deadline` seconds in total, then the publish future fails."""
    from google.api_core import exceptions as api_exceptions
    from google.api_core import retry

    # Pub/Sub's own retryable publish codes (its client's defaults, UNKNOWN and CANCELLED
    # included), not receipts.stores.retry.TRANSIENT: that list is for our idempotent store calls,
    # wrapped whole; this one is the gRPC client's retry of a single publish RPC.
    return retry.Retry(
        initial=0.1,
        maximum=min(2.0, deadline),
        multiplier=2.0,
        timeout=deadline,
        predicate=retry.if_exception_type(
            api_exceptions.Aborted,
            api_exceptions.DeadlineExceeded,
            api_exceptions.InternalServerError,
            api_exceptions.ResourceExhausted,
            api_exceptions.ServiceUnavailable,
            api_exceptions.Unknown,
            api_exceptions.Cancelled,
        ),
    )


def publish_message(
    client: "pubsub_v1.PublisherClient",
    topic: str,
    raw: bytes,
    attributes: Mapping[str, str],
    deadline: float | None = None,
) -> futures.Future:
    """Queue one message on the client's batcher; the future gives its message id.

    With `deadline`, each attempt and the client's retries together end within it.
    """
    if deadline is None:
        return client.publish(topic, raw, **attributes)
    return client.publish(topic, raw, retry=publish_retry(deadline), timeout=deadline, **attributes)


def publish_lines(
    project: str,
    topic: str,
    lines: list[bytes],
    progress: Callable[[int], None] = lambda _: None,
) -> list[str]:
    """Publish every line as it is (a line that is not a valid event too: judging it is the
    pipeline's job); return the message ids in line order. Raises if any failed."""
    client = publisher_client(max_messages=500, max_latency=0.05)
    path = topic_path(project, topic)
    pending = [publish_message(client, path, line, attributes_of(line)) for line in lines]
    for done in futures.as_completed(pending):
        done.result()
        progress(1)
    return [future.result() for future in pending]
