"""Template filters for money, prices, dates and status badges, in the page's locale."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
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
def percent(context: template.Context, rate: str | Decimal | None, empty: str = "—") -> str:
    """A stored percentage ("7.5", as `partner_as_dict` gives it) as the locale writes it: "7,5 %" de_DE."""
    if rate is None or rate == "":
        return empty
    return Formatter(_locale(context), "XXX").percent(Decimal(str(rate)))


@register.simple_tag(takes_context=True)
def count(context: template.Context, value: int | None, empty: str = "–") -> str:
    """A whole number of things as the locale groups it: 2500 -> "2.500" de_DE, "2,500" en_US."""
    if value is None or value == "":
        return empty
    return Formatter(_locale(context), "XXX").count(int(value))


@register.simple_tag(takes_context=True)
def typed(context: template.Context, value: str) -> str:
    """An example number as people of the page's locale type it, for placeholders: "2500.00" -> "2.500,00" de_DE.

    Forms read numbers in the entity's locale (docs/decisions/0008), so their examples must be written that way too.
    """
    from babel.numbers import format_decimal

    places = len(value.partition(".")[2])
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(Decimal(value), format=pattern, locale=_locale(context))


LOCAL_TIME = "%Y-%m-%d %H:%M %Z"


@register.simple_tag(takes_context=True)
def local_time(context: template.Context, value: datetime | None, fmt: str = LOCAL_TIME) -> str:
    """An instant in the entity's time zone (the zone its periods and invoices use), the zone shown.

    The one way pages print a time: "2026-12-04 15:43 EST", so a run page and the audit trail
    never disagree about the hour. A format of its own (a date only, "%Y-%m-%d") is for dates.
    """
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
def invoice_state(inv: Any, today: date) -> str:
    """The status people care about: overdue is an issued invoice past its due date with money owed.

    `today` is the entity's date (`entities.selectors.today_in`), which the view reads once for
    its page (`inv|invoice_state:today`): the server's date is the wrong day for an entity in
    Tokyo before 09:00 or in Los Angeles after 16:00. It has no default, so a template that
    leaves it out fails when it is loaded instead of showing the server's day.
    """
    owed = inv.is_open and inv.balance_due_minor > 0
    if owed and inv.due_date and inv.due_date < today:
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


# Console pages that need more than reading; switching to an entity where the role is weaker opens its dashboard.
_ADMIN_PAGES = frozenset({"users", "automation", "entity_details"})


@register.simple_tag(takes_context=True)
def entity_switch(context: template.Context) -> list[dict[str, Any]]:
    """The entities the signed-in staff member may open, each with the same kind of page, when they have several.

    A list page (invoices, deliveries, ...) or the search opens the same page of the other entity
    (the search keeps its words); a page of one object (an invoice, a partner) opens the list it
    belongs to (`nav`), since that object is not in the other entity; an admin page opens the
    dashboard where the member is not admin. Filters are dropped: partner codes differ per entity.
    """
    from django.urls import NoReverseMatch, reverse
    from django.utils.http import urlencode

    from leadbill.web.access import staff_memberships

    request = context.get("request")
    entity = getattr(request, "entity", None)
    if entity is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return []
    memberships = list(staff_memberships(request.user).order_by("entity__legal_name", "entity__slug"))
    if len(memberships) < 2:
        return []
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match is not None and match.namespace == "console" else "dashboard"
    if match is None or set(match.kwargs) - {"entity"} or request.method != "GET":
        name = str(context.get("nav") or "dashboard")
    query = "?" + urlencode({"q": request.GET["q"]}) if name == "search" and request.GET.get("q") else ""
    out = []
    for m in memberships:
        target = "dashboard" if name in _ADMIN_PAGES and not m.can("admin") else name
        try:
            url = reverse(f"console:{target}", kwargs={"entity": m.entity.slug})
        except NoReverseMatch:  # a nav name that is not a page of its own
            url = reverse("console:dashboard", kwargs={"entity": m.entity.slug})
        out.append({"name": m.entity.legal_name, "slug": m.entity.slug, "url": url + (query if target == name else ""),
                    "current": m.entity_id == entity.pk})  # fmt: skip
    return out
