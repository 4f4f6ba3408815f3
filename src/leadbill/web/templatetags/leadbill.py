"""Template filters for money, prices, dates and status badges, in the page's locale."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone

from leadbill.documents.formatting import Formatter

register = template.Library()


def _locale(context: template.Context) -> str:
    request = context.get("request")
    for owner in (getattr(request, "entity", None), getattr(getattr(request, "partner", None), "entity", None)):
        if owner is not None:
            return str(owner.locale)
    return "en_US"


@register.simple_tag(takes_context=True)
def money(context: template.Context, minor: int | None, currency: str) -> str:
    """Minor units as the locale writes money: money(123450, "EUR") -> "€1,234.50"."""
    if minor is None or minor == "":
        return "—"
    return Formatter(_locale(context), currency).money(int(minor))


@register.simple_tag(takes_context=True)
def price(context: template.Context, micros: int | None, currency: str) -> str:
    if micros is None:
        return "varies"
    return Formatter(_locale(context), currency).price(int(micros))


@register.simple_tag(takes_context=True)
def local_time(context: template.Context, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant in the entity's time zone (the zone its periods and invoices use)."""
    if value is None:
        return "—"
    request = context.get("request")
    owner = getattr(request, "entity", None) or getattr(getattr(request, "partner", None), "entity", None)
    if owner is not None:
        from leadbill.domain.periods import zone

        value = value.astimezone(zone(owner.timezone))
    else:
        value = timezone.localtime(value)
    return value.strftime(fmt)


@register.filter
def invoice_state(inv: Any, today: date | None = None) -> str:
    """The status people care about: overdue is an issued invoice past its due date with money owed."""
    owed = inv.is_open and inv.balance_due_minor > 0
    if owed and inv.due_date and inv.due_date < (today or timezone.localdate()):
        return "overdue"
    return str(inv.status)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def ref(inv: Any) -> str:
    """An invoice's URL key: its number, or draft-<id> before it has one."""
    from leadbill.invoicing.selectors import display_number

    return display_number(inv)
