"""Manual invoices: typed lines for one partner and a service period.

They go through the services every other document uses (`manual_invoice_create`, then
`invoice_issue`), so numbering, the parties' snapshot, the audit trail and the e-invoices are
the same as a run's. One partner's deliveries billed now is the run page with a partner chosen
(`runs.run_preview?partner=`), the same run path for one partner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from leadbill.console.lookups import entity_of
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.domain.generation import MANUAL_LINES_MAX, ManualLine
from leadbill.domain.numbers import whole_number
from leadbill.domain.tax import rate_from_bp
from leadbill.entities.models import Entity
from leadbill.invoicing import services as billing
from leadbill.invoicing.selectors import display_number
from leadbill.partners.models import Partner
from leadbill.web.access import actor_of, console_view
from leadbill.web.inputs import count_input, decimal_input

FIRST_ROWS = 3


@dataclass
class LineRow:
    """One typed line as the form shows it back: the text as typed, and what is wrong with it."""

    description: str = ""
    quantity: str = ""
    unit_price: str = ""
    tax_rate: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return not (self.description.strip() or self.quantity.strip() or self.unit_price.strip())


def _last_month(entity: Entity) -> str:
    today = billing.today_in(entity)
    return periods.month(today.year, today.month, entity.timezone).previous().key


def _buyers(entity: Entity) -> list[Partner]:
    return list(Partner.objects.filter(entity=entity, is_buyer=True).order_by("name").only("code", "name")[:1000])


def _quantity(text: str, locale: str) -> int:
    sign, digits = (-1, text.strip()[1:]) if text.strip().startswith("-") else (1, text)
    return sign * count_input(digits, "quantity", locale=locale, max_digits=10)


def _read_rows(post: Any) -> list[LineRow]:
    count = min(whole_number(post.get("rows", "")) or FIRST_ROWS, MANUAL_LINES_MAX)
    return [
        LineRow(
            *(str(post.get(f"{name}_{i}", ""))[:300] for name in ("description", "quantity", "unit_price", "tax_rate"))
        )
        for i in range(count)
    ]


def _parse(row: LineRow, default_rate: Decimal, locale: str) -> ManualLine | None:
    """The line a row says (numbers as the entity's locale writes them), or None with `row.errors`
    naming each bad field."""
    values: dict[str, Any] = {"description": row.description.strip()}
    readers = {
        "quantity": lambda t: _quantity(t, locale),
        "unit_price": lambda t: decimal_input(t, "unit_price", locale=locale),
        "tax_rate": lambda t: decimal_input(t, "tax_rate", locale=locale) if t.strip() else default_rate,
    }
    for name, read in readers.items():
        try:
            values[name] = read(getattr(row, name))
        except DomainError as exc:
            row.errors[name] = exc.message
    if not values["description"]:
        row.errors["description"] = "say what is invoiced"
    return None if row.errors else ManualLine(**values)


@console_view()
def manual_invoice_new(request: HttpRequest) -> HttpResponse:
    """A manual invoice: partner, service period and lines; saved as a draft or issued at once."""
    entity = entity_of(request)
    data = request.POST if request.method == "POST" else request.GET
    chosen = {"partner": str(data.get("partner", "")).strip()[:60], "period": str(data.get("period", "")).strip()[:60]}
    chosen["period"] = chosen["period"] or _last_month(entity)
    rows = _read_rows(request.POST) if request.method == "POST" else [LineRow() for _ in range(FIRST_ROWS)]
    problems: list[str] = []
    partner = Partner.objects.filter(entity=entity, code=chosen["partner"]).first() if chosen["partner"] else None
    default_rate = rate_from_bp(partner.tax_rate()) if partner else rate_from_bp(entity.default_tax_rate_bp)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "add":
        rows.append(LineRow())
    elif action in ("draft", "issue"):
        lines, filled = [], [r for r in rows if not r.blank]
        for i, row in enumerate(filled):
            line = _parse(row, default_rate, entity.locale)
            if line is None:
                problems += [f"line {i + 1}, {name.replace('_', ' ')}: {why}" for name, why in row.errors.items()]
            else:
                lines.append(line)
        if partner is None:
            problems.insert(0, "partner: choose the partner to invoice")
        try:
            period = periods.parse(chosen["period"], entity.timezone)
        except DomainError as exc:
            problems.append(f"period: {exc.message}")
        if not filled:
            problems.append("lines: give at least one line")
        if not problems and partner is not None:
            try:
                inv = billing.manual_invoice_create(actor=actor_of(request), partner=partner, period=period,
                                                    lines=lines, issue=action == "issue")  # fmt: skip
            except DomainError as exc:
                problems.append(_name_line(exc))
            else:
                messages.success(
                    request, f"Issued {inv.number}." if inv.number else "Draft saved; review and issue it."
                )
                return redirect("console:invoice", entity=entity.slug, ref=display_number(inv))
    rows = rows or [LineRow()]
    context = {"partners": _buyers(entity), "chosen": chosen, "rows": rows, "row_count": len(rows),
               "problems": problems, "partner": partner, "default_rate": default_rate, "nav": "invoices"}  # fmt: skip
    return render(request, "console/manual_invoice.html", context, status=422 if problems else 200)


def _name_line(exc: DomainError) -> str:
    """A service's error about lines[i].x, as the form's "line i+1, x"."""
    where = exc.field or ""
    if where.startswith("lines[") and "]" in where:
        index, _, name = where[6:].partition("]")
        number = whole_number(index)
        if number is not None:
            return f"line {number + 1}, {name.lstrip('.').replace('_', ' ')}: {exc.message}"
    return str(exc)
