"""The customer's account: signed in with a customer key (the session the look-up form starts,
or this page's own sign-in form), a customer sees their balances, their statements (each with
its lines, totals, the site's checks and a browser check), their receipts in pages with
filters, credits linked to their charges, and a chart of charges and credits per day.
GET routes read only; another customer's statement answers like a missing one."""

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for

from receipts.api_keys import CUSTOMER
from receipts.rows import ApiKeyRecord
from receipts.statements import Period, receipt_type
from receipts.statements.activity import ReceiptFilter
from receipts.statements.lines import CHARGE
from verifier_site import account_chart
from verifier_site.account_statements import (
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    browser_data,
    keeps_statements,
    statement_report,
)
from verifier_site.auth import sign_in, signed_in_key
from verifier_site.errors import SiteError
from verifier_site.ratelimit import limit_api_key
from verifier_site.storage import get_store

blueprint = Blueprint("account", __name__, url_prefix="/account")
MAX_SEQUENCE = 2**63 - 1
SIGN_IN = "enter your customer API key to see your account"


def _customer() -> ApiKeyRecord | None:
    """The session's key when it is a customer's (an operator key has no account of its own)."""
    record = signed_in_key()
    if record is None:
        return None
    if record.role != CUSTOMER:
        raise SiteError(403, "the account page is for customer keys: sign in with your customer's key")
    limit_api_key(record.key_id)
    g.api_key = record
    return record


def _sign_in_form(message: str = SIGN_IN) -> tuple[str, int]:
    return render_template("account_sign_in.html", message=message), 401


def _number(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name, "")
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not low <= int(text) <= high:
        raise SiteError(400, f"{name} must be a whole number from {low} to {high}", code="invalid_parameter")
    return int(text)


def _filter() -> ReceiptFilter:
    try:
        return ReceiptFilter.parse(request.args.get("period"), request.args.get("status"), request.args.get("type"))
    except ValueError as error:
        raise SiteError(400, str(error), code="invalid_parameter") from None


def _chart_period(chosen: ReceiptFilter, customer_id: str) -> Period:
    """The filter's period, else the event month of the customer's latest receipt (this month at
    most: an event may be dated ahead), else this month."""
    if chosen.period is not None:
        return chosen.period
    latest = get_store().latest_receipt(customer_id)
    now = Period.of(datetime.now(UTC))
    return min(now, Period.of_timestamp(latest["event_timestamp"])) if latest else now


@blueprint.get("")
def page() -> Any:
    record = _customer()
    if record is None:
        return _sign_in_form()
    chosen = _filter()
    after = _number("after", 0, 0, MAX_SEQUENCE)
    limit = _number("limit", PAGE_SIZE_DEFAULT, 1, PAGE_SIZE_MAX)
    store = get_store()
    customer = record.customer_id
    receipts = store.account_receipts(customer, chosen, after, limit)
    charges = [r["receipt_id"] for r in receipts.receipts if receipt_type(r) == CHARGE]
    period = _chart_period(chosen, customer)
    return render_template(
        "account.html",
        customer=record,
        balances=store.customer_balances(customer),
        statements=list(store.statements(customer)) if keeps_statements() else None,
        page=receipts,
        after=after,
        limit=limit,
        chosen=chosen,
        credits=store.credits_of(customer, charges),
        chart_period=period,
        charts=account_chart.charts(store.daily_totals(customer, period), period),
    )


@blueprint.post("/sign-in")
def account_sign_in() -> Response:
    """Sign in with a key typed into the account's form (same-origin only, like /lookup)."""
    key = request.form.get("api_key", "")
    if not key.strip():
        raise SiteError(401, SIGN_IN, code="sign_in_required")
    sign_in(key)
    return redirect(url_for("account.page"), code=303)


@blueprint.get("/statements/<statement_id>")
def statement(statement_id: str) -> Any:
    record = _customer()
    if record is None:
        return _sign_in_form("enter your customer API key to see this statement")
    report = statement_report(statement_id, record.customer_id)
    return render_template("account_statement.html", report=report)


@blueprint.get("/statements/<statement_id>/data")
def statement_data(statement_id: str) -> Response:
    """The statement, its lines and their signed receipts, for the browser's own check."""
    record = _customer()
    if record is None:
        raise SiteError(401, SIGN_IN, code="sign_in_required")
    return jsonify(browser_data(statement_report(statement_id, record.customer_id, verify=False)))
