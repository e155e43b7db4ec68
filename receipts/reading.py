"""Reading receipts that users hand us: JSONL (split on "\\n" only), a JSON array, or
one JSON object. Unreadable lines are reported by number, never skipped silently."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from receipts.canonical import strict_loads


@dataclass(frozen=True)
class Unreadable:
    line: int
    reason: str


def read_receipts(data: bytes) -> Iterator[dict[str, Any] | Unreadable]:
    text = data.decode("utf-8", errors="strict").lstrip("\ufeff")
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = strict_loads(stripped)
        except (ValueError, RecursionError) as error:
            yield Unreadable(1, f"not valid JSON: {error}")
            return
        for number, item in enumerate(items, start=1):
            yield item if isinstance(item, dict) else Unreadable(number, "not a JSON object")
        return
    if stripped.startswith("{") and "\n" in stripped:
        try:  # one pretty-printed object
            item = strict_loads(stripped)
            if isinstance(item, dict):
                yield item
                return
        except (ValueError, RecursionError):
            pass
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = strict_loads(line)
        except (ValueError, RecursionError) as error:
            yield Unreadable(number, f"not valid JSON: {error}")
            continue
        yield item if isinstance(item, dict) else Unreadable(number, "not a JSON object")


def readable_and_not(items: list[dict[str, Any] | Unreadable]) -> tuple[list[dict[str, Any]], list[Unreadable]]:
    """What read_receipts gave, as (the receipts, the lines that were none), each in order."""
    return [item for item in items if not isinstance(item, Unreadable)], [
        item for item in items if isinstance(item, Unreadable)
    ]
