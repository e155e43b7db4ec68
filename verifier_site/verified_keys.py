"""API keys that authenticated a moment ago, kept per process for API_KEY_CACHE_SECONDS
(1 s by default), so a client's burst of requests costs one key read per second instead
of one each: the read was the largest part of a receipt look-up under load (a store
round trip, on SQLite a read transaction, and the wait to get the interpreter back).

What still holds: an entry is found by the SHA-256 of the whole key presented (the hash
the store keeps), so only the exact key that the store accepted finds it; a wrong,
unknown or revoked key is never kept and goes to the store every time. A key revoked in
the store is refused by every worker within API_KEY_CACHE_SECONDS; 0 turns the cache off
(every request reads the key, as the pages' sessions always do). At most `limit`
entries; past it the cache starts empty again rather than tracking which is oldest.
"""

import time
from collections.abc import Callable

from receipts.api_keys import authenticate, key_hash
from receipts.rows import ApiKeyRecord
from receipts.stores import Store

DEFAULT_LIMIT = 10_000


class VerifiedKeys:
    """Key hash -> (record, when the store last accepted it). Reads and writes are single
    dict operations (atomic in CPython), so threads share it without a lock; two threads
    missing at once both read the store, which is harmless."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic, limit: int = DEFAULT_LIMIT):
        self.seconds, self.clock, self.limit = float(seconds), clock, limit
        self._entries: dict[str, tuple[ApiKeyRecord, float]] = {}

    def authenticate(self, store: Store, presented: str) -> ApiKeyRecord | None:
        """receipts.api_keys.authenticate, answered from the cache while the store's
        acceptance is less than `seconds` old."""
        if self.seconds <= 0:
            return authenticate(store, presented)
        digest = key_hash(presented)
        now = self.clock()
        entry = self._entries.get(digest)
        if entry is not None and now - entry[1] < self.seconds:
            return entry[0]
        record = authenticate(store, presented)
        if record is None:
            self._entries.pop(digest, None)
            return None
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[digest] = (record, now)
        return record
