"""Site sessions that the server can end: a sign-in creates a session record in the store,
the browser's cookie carries only a random token for it, and signing out deletes the
record, so a copy of the cookie taken before sign-out opens nothing afterwards.

Only the SHA-256 of the token is stored (like API keys): a copy of the store holds no
usable session. A session has a hard lifetime from its sign-in, whatever its use; the
cookie's own signed timestamp gives the sliding idle limit on top.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in session of the site, for one API key."""

    session_hash: str  # lowercase hex SHA-256 of the token; the token itself is never stored
    key_id: str
    created_at: datetime  # UTC
    expires_at: datetime  # UTC: the hard end, however active the session is

    def live(self, now: datetime) -> bool:
        return self.created_at <= now < self.expires_at


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session(key_id: str, now: datetime, lifetime: timedelta) -> tuple[str, SessionRecord]:
    """A fresh token (for the cookie, never stored) and its record (for the store)."""
    token = secrets.token_urlsafe(32)
    return token, SessionRecord(session_hash(token), key_id, now, now + lifetime)
