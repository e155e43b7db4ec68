"""Who is asking: an API key (`Authorization: Bearer sk_…`) for the API, or a session for
the pages. A session's key is looked up again on every request, so revoking it ends the
session at once; a bearer key is looked up at most once per API_KEY_CACHE_SECONDS per
process (verifier_site/verified_keys.py: 1 s by default, 0 for every request), so a
revoked key stops working within that time. Each key is rate limited.

A session lives in the store (receipts.sessions): the signed cookie carries only a random
token whose hash names the record. Signing out deletes the record, so a copy of the
cookie taken before opens nothing after; a session ends SESSION_MAX_HOURS after sign-in
however active it is, and SESSION_MINUTES after its last use (the cookie's signed age).
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import current_app, g, request, session

from receipts.api_keys import authenticate, may_read
from receipts.canonical import RECEIPT_ID_PATTERN
from receipts.events import ID_PATTERN
from receipts.rows import ApiKeyRecord
from receipts.sessions import new_session, session_hash
from verifier_site.checks import receipt_and_neighbour_ids
from verifier_site.errors import SiteError
from verifier_site.ratelimit import limit_api_key
from verifier_site.storage import get_store
from verifier_site.verified_keys import VerifiedKeys

P = ParamSpec("P")
R = TypeVar("R")

NO_KEY = (
    "send your API key as `Authorization: Bearer sk_…` (create one with `receipts api-keys create --customer ID`,"
    " or `--operator` for an operator key)"
)
BAD_KEY = "this API key is not valid: it is mistyped, unknown or revoked"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="receipts"'}


def current_key() -> ApiKeyRecord:
    """The authenticated key of this request (set by the decorators below)."""
    return g.api_key


def api_key_required(view: Callable[P, R]) -> Callable[P, R]:
    """For /v1 routes: 401 with a JSON error unless a valid bearer key is sent."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        limit_api_key(bearer_key().key_id)
        return view(*args, **kwargs)

    return wrapped


def bearer_key() -> ApiKeyRecord:
    """The active key sent as `Authorization: Bearer sk_…` (then the request's key); 401 otherwise."""
    credentials = request.authorization
    if credentials is None or credentials.type != "bearer" or not credentials.token:
        raise SiteError(401, NO_KEY, headers=CHALLENGE)
    verified: VerifiedKeys = current_app.extensions["verified_keys"]
    record = verified.authenticate(get_store(), credentials.token)
    if record is None:
        raise SiteError(401, BAD_KEY, headers=CHALLENGE)
    g.api_key = record
    return record


def sign_in(presented_key: str) -> ApiKeyRecord:
    """Check a key typed into the look-up form and start a session for it (the cookie holds
    a token for the stored session, never the key). A session already open ends first."""
    record = authenticate(get_store(), presented_key.strip())
    if record is None:
        raise SiteError(401, BAD_KEY)
    limit_api_key(record.key_id)
    sign_out()
    lifetime = timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    token, stored = new_session(record.key_id, _now(), lifetime)
    get_store().add_session(stored)
    session.permanent = True
    session["token"] = token
    return record


def sign_out() -> None:
    """End the session in the store, then forget it in the browser."""
    token = session.get("token")
    if isinstance(token, str):
        get_store().end_session(session_hash(token))
    session.clear()


def signed_in_key() -> ApiKeyRecord | None:
    """The session's key when the session is live and the key still active; otherwise the
    session is over (a revoked key, a sign-out elsewhere, the hard lifetime reached)."""
    token = session.get("token")
    if not isinstance(token, str):
        if session:
            session.clear()  # a cookie from before sessions were stored (key_id only) opens nothing
        return None
    store = get_store()
    stored = store.session(session_hash(token))
    record = store.api_key(stored.key_id) if stored is not None and stored.live(_now()) else None
    if record is None or record.revoked_at is not None:
        sign_out()
        return None
    return record


def _now() -> datetime:
    clock = current_app.config["SESSION_CLOCK"]
    return clock() if clock else datetime.now(UTC)


def session_required(view: Callable[P, R]) -> Callable[P, R]:
    """For pages: 401 with the sign-in form unless the session names an active key."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        record = signed_in_key()
        if record is None:
            raise SiteError(401, "enter your API key to see this receipt", code="sign_in_required")
        limit_api_key(record.key_id)
        g.api_key = record
        return view(*args, **kwargs)

    return wrapped


def may_see(customer_id: object) -> bool:
    """Whether the request's key may read this customer's receipts, evidence and statements
    (receipts.api_keys.may_read: its own customer's, or any for an operator key)."""
    return may_read(current_key(), customer_id)


def readable_customer(customer_id: str) -> str:
    """A customer id from a path, if the key may read that customer: 400 malformed, 404
    otherwise (another customer answers like a missing one)."""
    if not ID_PATTERN.fullmatch(customer_id):
        raise SiteError(400, "a customer id matches [A-Za-z0-9_-]{1,64}", code="invalid_customer_id")
    if not may_see(customer_id):
        raise SiteError(404, f"no customer {customer_id} for this API key")
    return customer_id


def owned_receipt(receipt_id: str) -> dict[str, Any]:
    """The receipt, if the authenticated key may read its customer's (may_see). Another
    customer's receipt answers exactly like a missing one, so ids cannot be probed."""
    _check_receipt_id(receipt_id)
    return _visible(receipt_id, get_store().receipt(receipt_id))


def owned_receipt_and_neighbour_ids(receipt_id: str) -> tuple[dict[str, Any], str | None, str | None]:
    """owned_receipt, with the ids of the receipts before and after it in its chain (one
    store read where the store can: verifier_site.checks.receipt_and_neighbour_ids)."""
    _check_receipt_id(receipt_id)
    found = receipt_and_neighbour_ids(get_store(), receipt_id)
    receipt = _visible(receipt_id, found[0] if found else None)
    return receipt, found[1], found[2]  # type: ignore[index]


def _check_receipt_id(receipt_id: str) -> None:
    if not RECEIPT_ID_PATTERN.fullmatch(receipt_id):
        raise SiteError(400, "a receipt id is r_ followed by 26 characters a-z and 2-7", code="invalid_receipt_id")


def _visible(receipt_id: str, receipt: dict[str, Any] | None) -> dict[str, Any]:
    if receipt is None or not may_see(receipt.get("customer_id")):
        raise SiteError(404, f"no receipt {receipt_id} for this API key's customer")
    return receipt
