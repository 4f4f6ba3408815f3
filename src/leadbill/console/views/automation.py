"""Automation: billing schedules (the entity's and each partner's cycle), issue-and-send, email, webhooks.

Schedules and issue-and-send are finance's work: finance staff set them. The sender and
templates of every email, and webhook endpoints (whose signing secrets this page shows),
are the entity's own settings and stay with admins: those sections are not even shown to
finance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadbill.console.forms import price_text
from leadbill.console.lookups import entity_of, partner_or_404, perform
from leadbill.domain.errors import DomainError
from leadbill.domain.money import decimal_to_minor, exponent, minor_to_decimal, parse_decimal
from leadbill.domain.numbers import whole_number
from leadbill.domain.schedules import WEEKDAYS, clock, read_clock
from leadbill.entities.models import Entity
from leadbill.invoicing.bounds import safety_bounds_set
from leadbill.mailing.services import mail_settings_of, mail_settings_set
from leadbill.mailing.wording import PLACEHOLDERS
from leadbill.partners.models import Partner
from leadbill.scheduling.models import Frequency, Schedule, ScheduledRun
from leadbill.scheduling.selectors import partner_cycle, scheduler_status
from leadbill.scheduling.services import (
    describe,
    issue_and_send_set,
    next_due,
    schedule_clear,
    schedule_of,
    schedule_set,
)
from leadbill.web.access import actor_of, console_view
from leadbill.web.models import Role
from leadbill.webhooks.models import EVENT_TYPES, Delivery, Endpoint
from leadbill.webhooks.services import delivery_retry, endpoint_add, endpoint_set_active

ADMIN = Role.ADMIN
FINANCE = Role.FINANCE
LOG_SIZE = 50
FOLLOW = "follow"  # a partner's cycle: no schedule of its own, the entity's applies


def _back(entity: Entity) -> Callable[[], HttpResponse]:
    return lambda: redirect("console:automation", entity=entity.slug)


@console_view(write=FINANCE)
def automation(request: HttpRequest) -> HttpResponse:
    return _page(request, entity_of(request))


def _page(request: HttpRequest, entity: Entity, form: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    """The page; after a refused schedule, with what was typed and the errors beside their fields."""
    schedule = schedule_of(entity)
    admin = request.membership.can(ADMIN)  # type: ignore[attr-defined]
    context = {
        "nav": "automation",
        "schedule": schedule,
        "described": describe(schedule)["description"] if schedule else "manual only",
        "due": next_due(schedule) if schedule else None,
        "form": form or schedule_values(schedule),
        "errors": errors or {},
        "weekdays": list(enumerate(WEEKDAYS)),
        "frequencies": Frequency.choices,
        "recent": ScheduledRun.objects.filter(schedule__entity=entity).select_related("schedule__partner", "run")
        .order_by("-due_at")[:12],
        "overrides": [
            {"partner": o.partner, "description": describe(o)["description"]}
            for o in entity.schedules.filter(partner__isnull=False).select_related("partner").order_by("partner__name")
        ],
        "scheduled": Schedule.objects.filter(entity=entity).exclude(frequency=Frequency.MANUAL).exists(),
        "heartbeat": scheduler_status(),
        "bounds_limit": "" if entity.bound_limit_minor is None else price_text(
            str(minor_to_decimal(entity.bound_limit_minor, entity.currency)), entity.locale,
            min_places=exponent(entity.currency)),
    }  # fmt: skip
    if admin:
        context |= {
            "mail": mail_settings_of(entity), "placeholders": PLACEHOLDERS,
            "endpoints": list(Endpoint.objects.filter(entity=entity).order_by("pk")), "event_types": EVENT_TYPES,
            "log": list(Delivery.objects.filter(endpoint__entity=entity).select_related("event", "endpoint")
                        .order_by("-pk")[:LOG_SIZE]),
        }  # fmt: skip
    return render(request, "console/automation.html", context, status=status)


def schedule_values(schedule: Schedule | None) -> dict[str, Any]:
    """The form's values: the saved schedule, or the model's defaults (manual, monthly time 06:00)."""
    s = schedule or Schedule()
    return {
        "frequency": s.frequency, "start_day": s.window_start_day, "start_time": clock(s.window_start_minute),
        "end_day": s.window_end_day, "end_time": clock(s.window_end_minute),
        "generate_day": s.generate_day, "generate_time": clock(s.generate_minute),
        "draft": s.draft, "send_email": s.send_email,
    }  # fmt: skip


FIELDS_OF = {"window_start": "start_time", "window_end": "end_time", "generate_at": "generate_time"}


def _typed(post: Any) -> dict[str, Any]:
    """What was sent, as the form shows it again (weekdays as numbers where they are numbers)."""
    values: dict[str, Any] = {k: str(post.get(k, "")).strip()[:20] for k in
                              ("frequency", "start_time", "end_time", "generate_time")}  # fmt: skip
    for name in ("start_day", "end_day", "generate_day"):
        day = whole_number(str(post.get(name, "")), max_digits=1)
        values[name] = day if day is not None else post.get(name, "")
    values |= {"draft": post.get("draft") == "on", "send_email": post.get("send_email") == "on"}
    return values


def _day(post: Any, name: str) -> int:
    day = whole_number(str(post.get(name, "0")), max_digits=1)
    if day is None or day > 6:
        raise DomainError("choose a weekday", field=name)
    return day


def _save_schedule(request: HttpRequest, entity: Entity, partner: Partner | None) -> Schedule:
    """Read the form (weekly fields only for weekly: the page hides and disables them otherwise) and save."""
    post = request.POST
    frequency = post.get("frequency", "")
    kwargs: dict[str, Any] = {}
    if frequency == Frequency.WEEKLY:
        kwargs = {"window_start": (_day(post, "start_day"), read_clock(post.get("start_time", ""), "start_time")),
                  "window_end": (_day(post, "end_day"), read_clock(post.get("end_time", ""), "end_time")),
                  "generate_at": (_day(post, "generate_day"),
                                  read_clock(post.get("generate_time", ""), "generate_time"))}  # fmt: skip
    elif frequency == Frequency.MONTHLY:
        kwargs = {"generate_at": (0, read_clock(post.get("generate_time", "") or "06:00", "generate_time"))}
    draft, send_email = post.get("draft") == "on", post.get("send_email") == "on"
    if frequency == Frequency.MANUAL:  # the boxes are hidden for manual: keep what they said
        kept = schedule_of(entity, partner) or Schedule()
        draft, send_email = kept.draft, kept.send_email
    return schedule_set(actor=actor_of(request), entity=entity, partner=partner, frequency=frequency,
                        draft=draft, send_email=send_email, **kwargs)  # fmt: skip


def _errors(exc: DomainError) -> dict[str, str]:
    name = FIELDS_OF.get(exc.field or "", exc.field or "frequency")
    return {name: exc.message}


@require_POST
@console_view(read=FINANCE, write=FINANCE)
def schedule_save(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    try:
        schedule = _save_schedule(request, entity, None)
    except DomainError as exc:
        return _page(request, entity, _typed(request.POST), _errors(exc), status=400)
    messages.success(request, f"Schedule saved: {describe(schedule)['description']}.")
    return redirect("console:automation", entity=entity.slug)


@require_POST
@console_view(read=FINANCE, write=FINANCE)
def issue_and_send_save(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    on = request.POST.get("issue_and_send") == "on"
    issue_and_send_set(actor=actor_of(request), entity=entity, on=on)
    messages.success(request, "Issuing from the console now also emails each document." if on
                     else "Issuing from the console no longer emails; use Email all on the run page.")  # fmt: skip
    return redirect("console:automation", entity=entity.slug)


def _multiple(text: str, locale: str, field: str) -> int | None:
    """A threshold typed in the form: a whole number, or blank for off."""
    if not text.strip():
        return None
    value = whole_number(text[:20], max_digits=4, locale=locale)
    if value is None:
        raise DomainError("a whole number such as 5, or blank to turn it off", field=field)
    return value


@require_POST
@console_view(read=FINANCE, write=FINANCE)
def safety_bounds_save(request: HttpRequest) -> HttpResponse:
    """The entity's safety bounds: total and unit-price multiples (blank: off) and a limit per document."""
    entity = entity_of(request)
    post = request.POST

    def save() -> str:
        limit_text = post.get("limit", "").strip()
        limit = None if not limit_text else decimal_to_minor(
            parse_decimal(limit_text[:40], field="limit", locale=entity.locale), entity.currency, field="limit"
        )  # fmt: skip
        safety_bounds_set(actor=actor_of(request), entity=entity, limit_minor=limit,
                          total_multiple=_multiple(post.get("total_multiple", ""), entity.locale, "total_multiple"),
                          unit_price_multiple=_multiple(post.get("unit_price_multiple", ""), entity.locale,
                                                        "unit_price_multiple"))  # fmt: skip
        return "Safety bounds saved; the next run holds documents by them."

    return perform(request, save, refused="Safety bounds not saved", then=_back(entity))


# --- a partner's own billing cycle (its section on the partner page) ---------------------------


def cycle_context(partner: Partner, form: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    cycle = partner_cycle(partner)
    values = form or {**schedule_values(cycle.own), **({} if cycle.own else {"frequency": FOLLOW})}
    return {"partner": partner, "cycle": cycle, "form": values, "errors": errors or {}, "heartbeat": scheduler_status(),
            "weekdays": list(enumerate(WEEKDAYS)),
            "frequencies": [(FOLLOW, "Follow the entity's schedule"), *Frequency.choices]}  # fmt: skip


@require_POST
@console_view(read=FINANCE, write=FINANCE)
def partner_cycle_save(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)
    if request.POST.get("frequency") == FOLLOW:
        schedule_clear(actor=actor_of(request), partner=partner)
        messages.success(request, f"{partner.name} follows the entity's schedule.")
        return redirect("console:partner", entity=entity.slug, code=partner.code)
    try:
        schedule = _save_schedule(request, entity, partner)
    except DomainError as exc:
        context = {**cycle_context(partner, _typed(request.POST), _errors(exc)), "nav": "partners"}
        return render(request, "console/partner_cycle.html", context, status=400)
    messages.success(request, f"{partner.name}'s billing cycle: {describe(schedule)['description']}.")
    return redirect("console:partner", entity=entity.slug, code=partner.code)


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def mail_save(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    post = request.POST

    def save() -> str:
        mail_settings_set(actor=actor_of(request), entity=entity, sender=post.get("sender", ""),
                          reply_to=post.get("reply_to", ""), subject_template=post.get("subject_template", ""),
                          body_template=post.get("body_template", ""))  # fmt: skip
        return "Email settings saved; new sends use them."

    return perform(request, save, refused="Email settings not saved", then=_back(entity))


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def endpoint_new(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)

    def add() -> str:
        endpoint = endpoint_add(actor=actor_of(request), entity=entity, url=request.POST.get("url", ""),
                                events=request.POST.getlist("events"),
                                description=request.POST.get("description", ""))  # fmt: skip
        return f"Endpoint added. Its signing secret is {endpoint.secret} (shown with the endpoint below)."

    return perform(request, add, refused="Endpoint not added", then=_back(entity))


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def endpoint_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    endpoint = get_object_or_404(Endpoint, entity=entity, pk=pk)

    def toggle() -> str:
        endpoint_set_active(actor=actor_of(request), endpoint=endpoint, active=not endpoint.is_active)
        return f"{endpoint.url} {'enabled' if endpoint.is_active else 'disabled'}."

    return perform(request, toggle, refused="Not changed", then=_back(entity))


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    delivery = get_object_or_404(Delivery, endpoint__entity=entity, pk=pk)

    def retry() -> str:
        delivery_retry(actor=actor_of(request), delivery=delivery)
        return "Queued for delivery again."

    return perform(request, retry, refused="Not queued", then=_back(entity))
