"""Publish a JSONL file to Pub/Sub: one message per line, exactly its bytes.

`idempotent_key` and `customer_id` ride along as attributes when the line names them,
so subscribers can route or filter without parsing. A line that is not a valid event is
published all the same: judging it is the pipeline's job (it becomes a dead letter).
"""

from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

from receipts.canonical import strict_loads

ATTRIBUTE_FIELDS = ("idempotent_key", "customer_id")


def jsonl_messages(path: Path) -> Iterator[bytes]:
    """Non-empty lines, split on "\\n" only (U+2028 inside a string is not a break)."""
    for line in Path(path).read_bytes().split(b"\n"):
        line = line.removesuffix(b"\r")
        if line:
            yield line


def attributes_of(raw: bytes) -> dict[str, str]:
    try:
        document = strict_loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    found = {}
    for name in ATTRIBUTE_FIELDS:
        value = document.get(name)
        if isinstance(value, str) and value and len(value.encode("utf-8")) <= 1024:
            found[name] = value
    return found


def publish_lines(
    project: str,
    topic: str,
    lines: list[bytes],
    progress: Callable[[int], None] = lambda _: None,
) -> list[str]:
    """Publish every line; return the message ids in line order. Raises if any failed."""
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=500, max_latency=0.05)
    )
    path = topic if topic.startswith("projects/") else publisher.topic_path(project, topic)
    pending = [publisher.publish(path, line, **attributes_of(line)) for line in lines]
    for done in futures.as_completed(pending):
        done.result()
        progress(1)
    return [future.result() for future in pending]
