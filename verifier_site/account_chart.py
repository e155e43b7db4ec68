"""The account's chart of charges and credits per day: an SVG drawn by the server (no script),
one chart per currency, since amounts in two currencies share no scale. Geometry only, in
whole pixels from integer minor units; the template writes it and Jinja escapes every text."""

import calendar
from dataclasses import dataclass

from receipts.money import format_amount
from receipts.statements.activity import DayTotal
from receipts.statements.periods import Period

BAR_WIDTH = 8
DAY_WIDTH = 2 * BAR_WIDTH + 4
PLOT_HEIGHT = 160
LEFT, TOP, BOTTOM = 8, 16, 22


@dataclass(frozen=True)
class Bar:
    kind: str  # "charge" or "credit"
    x: int
    y: int
    height: int
    title: str


@dataclass(frozen=True)
class DayLabel:
    x: int
    text: str


@dataclass(frozen=True)
class CurrencyChart:
    currency: str
    width: int
    height: int
    baseline: int
    bars: list[Bar]
    labels: list[DayLabel]
    most: str  # the tallest bar's amount, for the axis
    charged: str
    credited: str
    title: str


def charts(totals: list[DayTotal], period: Period) -> list[CurrencyChart]:
    """One chart per currency with money in `period`, in currency order (none: no chart)."""
    days = calendar.monthrange(period.year, period.month)[1]
    width, height = LEFT * 2 + days * DAY_WIDTH, TOP + PLOT_HEIGHT + BOTTOM
    baseline = TOP + PLOT_HEIGHT
    labeled = [day for day in range(1, days + 1) if day == 1 or day % 5 == 0]
    labels = [DayLabel(LEFT + (day - 1) * DAY_WIDTH + DAY_WIDTH // 2, str(day)) for day in labeled]
    drawn = []
    for currency in sorted({total.currency for total in totals}):
        mine = [total for total in totals if total.currency == currency]
        most = max(max(total.charged, total.credited) for total in mine) or 1
        bars = []
        for total in mine:
            x = LEFT + (int(total.day[8:10]) - 1) * DAY_WIDTH + 2
            for offset, kind, amount in ((0, "charge", total.charged), (BAR_WIDTH, "credit", total.credited)):
                if amount:
                    tall = max(1, amount * PLOT_HEIGHT // most)
                    words = "charged" if kind == "charge" else "credited"
                    title = f"{total.day}: {words} {format_amount(amount, currency)} {currency}"
                    bars.append(Bar(kind, x + offset, baseline - tall, tall, title))
        charged = format_amount(sum(total.charged for total in mine), currency)
        credited = format_amount(sum(total.credited for total in mine), currency)
        title = f"Charges and credits per day in {currency}, {period}: charged {charged}, credited {credited}"
        drawn.append(
            CurrencyChart(
                currency, width, height, baseline, bars, labels, format_amount(most, currency), charged, credited, title
            )
        )
    return drawn
