"""Text on pages. Everything a template prints passes `shown`, the app's Jinja `finalize`:
text from receipts, requests and the store (a usage_description, an idempotency key, a
reason that quotes input) has its control, format and separator characters made visible
(receipts.text.visible), so a bidi override cannot reorder what a customer reads, and the
templates isolate producer text in <bdi>. Markup built on purpose passes as it is: macros,
JSON (`json_text`, exact JSON that shows no invisible character) and `exact` text."""

from typing import Any

from markupsafe import Markup, escape

from receipts.text import visible, visible_json


def shown(value: Any) -> Any:
    """What a template prints: strings made visible, Markup untouched (Jinja then escapes)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def json_text(value: Any, indent: int | None = None) -> Markup:
    """JSON for a data- attribute or a <pre>: exact (it parses back to `value`), escaped for
    HTML, never inline script (the CSP forbids it)."""
    return escape(visible_json(value, indent))


def exact(text: str) -> Markup:
    """Text printed as it is (escaped for HTML, not made visible): what a person typed, put
    back into the form field to edit and send again, and our own multi-line text (a PEM)."""
    return escape(text)


def outcome(receipt: dict[str, Any]) -> str:
    """What a receipt did to the customer's money, in plain words."""
    asked = f"{receipt.get('amount')} {receipt.get('currency')}"
    if receipt.get("status") == "accepted":
        return f"Charged {asked}"
    if receipt.get("status") == "rejected":
        return f"Rejected — nothing charged ({asked} asked, {receipt.get('reason')})"
    return f"{receipt.get('status')}: {asked}"
