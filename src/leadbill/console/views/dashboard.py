"""The dashboard: this period at a glance, money owed, and twelve months of billing (this one so far) as a chart."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_compact_currency
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leadbill.console.lookups import entity_of
from leadbill.deliveries.models import Return
from leadbill.deliveries.selectors import delivered_in
from leadbill.documents.formatting import Formatter
from leadbill.domain import periods
from leadbill.domain.money import minor_to_decimal
from leadbill.invoicing.selectors import billed_by_month, preview_totals, receivables
from leadbill.invoicing.services import invoice_run_preview, today_in
from leadbill.web.access import console_view


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    x: float
    y: float
    height: float
    value: str
    year: str = ""  # under January's label (and the first bar's): where the year changes
    current: bool = False


CHART_W, CHART_H, CHART_PAD = 720, 236, 28
LABEL_CHARS = 7  # a bar's value label longer than this would run into the next bar's: left to the tooltip


def _months_back(today_y: int, today_m: int, count: int) -> list[tuple[int, int]]:
    """The `count` months ending with this one (it is shown so far)."""
    out = []
    y, m = today_y, today_m
    for _ in range(count):
        out.append((y, m))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


def _short(minor: int, currency: str, locale: str) -> str:
    """An amount short enough to sit over a bar ("$1.2K", "€950"), or "" when the locale cannot shorten it."""
    text = format_compact_currency(minor_to_decimal(minor, currency), currency, locale=locale, fraction_digits=1)
    return text if len(text) <= LABEL_CHARS else ""


def _nice_ceiling(value: int) -> int:
    """A round axis maximum above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def chart(
    months: list[tuple[int, int]], totals: dict[tuple[int, int, str], int], currency: str, fmt: Formatter
) -> dict:
    values = [totals.get((y, m, currency), 0) for y, m in months]
    top = _nice_ceiling(max(values, default=0))
    inner_h = CHART_H - 2 * CHART_PAD - 14  # room for the month and, under January, the year
    slot = (CHART_W - 70) / len(months)
    bars = []
    for i, ((y, m), v) in enumerate(zip(months, values, strict=True)):
        h = inner_h * v / top
        first = periods.month(y, m, "UTC").first_day
        current = i == len(months) - 1
        title = f"{first:%B %Y}{' so far' if current else ''}: {fmt.money(v)}"
        bars.append(Bar(label=first.strftime("%b"), title=title, x=60 + i * slot + slot * 0.15,
                        y=CHART_PAD + inner_h - h, height=h, value=_short(v, currency, fmt.locale) if v else "",
                        year=str(y) if m == 1 or i == 0 else "", current=current))  # fmt: skip
    grid = [{"y": CHART_PAD + inner_h * (1 - f), "label": _short(int(top * f), currency, fmt.locale)
             or fmt.money_whole(int(top * f))} for f in (0, 0.5, 1)]  # fmt: skip
    return {"bars": bars, "bar_width": slot * 0.7, "grid": grid, "width": CHART_W, "height": CHART_H,
            "baseline": CHART_PAD + inner_h, "label_y": CHART_PAD + inner_h + 16,
            "year_y": CHART_PAD + inner_h + 30, "empty": not any(values)}  # fmt: skip


@console_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    today = today_in(entity)
    period = periods.month(today.year, today.month, entity.timezone)
    delivered = delivered_in(entity, period)
    pending_returns = Return.objects.filter(entity=entity, status="requested").count()
    months = _months_back(today.year, today.month, 12)
    fmt = Formatter(entity.locale, entity.currency)
    totals = billed_by_month(entity, months)
    other = sorted({c for (_, _, c) in totals if c != entity.currency})
    context = {
        "period": period, "delivered": delivered, "pending_returns": pending_returns,
        "receivables": receivables(entity, today), "chart": chart(months, totals, entity.currency, fmt),
        "months": [(periods.month(y, m, "UTC").first_day, fmt.money(totals.get((y, m, entity.currency), 0)),
                    (y, m) == months[-1]) for y, m in months],
        "other_currencies": other, "today": today, "nav": "dashboard",
    }  # fmt: skip
    return render(request, "console/dashboard.html", context)


@console_view()
def billable(request: HttpRequest) -> HttpResponse:
    """This period's billable leads and amounts so far: the run preview, loaded after the page (htmx)."""
    entity = entity_of(request)
    today = today_in(entity)
    period = periods.month(today.year, today.month, entity.timezone)
    preview = invoice_run_preview(entity=entity, period=period)
    totals = preview_totals(preview)
    leads = sum(t["leads"] for t in totals.values())
    late = sum(t["late"] for t in totals.values())
    return render(request, "console/_billable.html", {"leads": leads, "late": late, "period": period,
                                                       "totals": sorted((c, t["total_minor"]) for c, t in totals.items()),
                                                       "partners": len(preview.drafts)})  # fmt: skip
