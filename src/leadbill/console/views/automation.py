"""Automation (admins): the entity's billing schedule, email templates, webhook endpoints and their log."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadbill.console.lookups import entity_of, perform
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.domain.schedules import WEEKDAYS, clock, read_clock
from leadbill.entities.models import Entity
from leadbill.mailing.services import mail_settings_of, mail_settings_set
from leadbill.mailing.wording import PLACEHOLDERS
from leadbill.scheduling.models import Frequency, Schedule, ScheduledRun
from leadbill.scheduling.services import describe, next_due, schedule_of, schedule_set
from leadbill.web.access import actor_of, console_view
from leadbill.web.models import Role
from leadbill.webhooks.models import EVENT_TYPES, Delivery, Endpoint
from leadbill.webhooks.services import delivery_retry, endpoint_add, endpoint_set_active

ADMIN = Role.ADMIN
LOG_SIZE = 50


def _back(entity: Entity) -> Callable[[], HttpResponse]:
    return lambda: redirect("console:automation", entity=entity.slug)


@console_view(read=ADMIN, write=ADMIN)
def automation(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    schedule = schedule_of(entity)
    endpoints = list(Endpoint.objects.filter(entity=entity).order_by("pk"))
    log = list(
        Delivery.objects.filter(endpoint__entity=entity).select_related("event", "endpoint").order_by("-pk")[:LOG_SIZE]
    )
    context = {
        "nav": "automation",
        "schedule": schedule,
        "described": describe(schedule)["description"] if schedule else "manual only",
        "due": next_due(schedule) if schedule else None,
        "form": _schedule_values(schedule),
        "weekdays": list(enumerate(WEEKDAYS)),
        "frequencies": Frequency.choices,
        "recent": ScheduledRun.objects.filter(schedule__entity=entity).select_related("schedule__partner", "run")
        .order_by("-due_at")[:12],
        "overrides": entity.schedules.filter(partner__isnull=False).select_related("partner").order_by("partner__code"),
        "mail": mail_settings_of(entity),
        "placeholders": PLACEHOLDERS,
        "endpoints": endpoints,
        "event_types": EVENT_TYPES,
        "log": log,
    }  # fmt: skip
    return render(request, "console/automation.html", context)


def _schedule_values(schedule: Schedule | None) -> dict[str, object]:
    """The form's values: the saved schedule, or the model's defaults (manual, monthly time 06:00)."""
    s = schedule or Schedule()
    return {
        "frequency": s.frequency, "start_day": s.window_start_day, "start_time": clock(s.window_start_minute),
        "end_day": s.window_end_day, "end_time": clock(s.window_end_minute),
        "generate_day": s.generate_day, "generate_time": clock(s.generate_minute),
        "draft": s.draft, "send_email": s.send_email,
    }  # fmt: skip


def _day(request: HttpRequest, name: str) -> int:
    day = whole_number(request.POST.get(name, "0"), max_digits=1)
    if day is None or day > 6:
        raise DomainError(f"{name}: choose a weekday", field=name)
    return day


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def schedule_save(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    post = request.POST

    def save() -> str:
        schedule = schedule_set(
            actor=actor_of(request), entity=entity, frequency=post.get("frequency", ""),
            window_start=(_day(request, "start_day"), read_clock(post.get("start_time", ""), "start_time")),
            window_end=(_day(request, "end_day"), read_clock(post.get("end_time", ""), "end_time")),
            generate_at=(_day(request, "generate_day"), read_clock(post.get("generate_time", ""), "generate_time")),
            draft=post.get("draft") == "on", send_email=post.get("send_email") == "on",
        )  # fmt: skip
        return f"Schedule saved: {describe(schedule)['description']}."

    return perform(request, save, refused="Schedule not saved", then=_back(entity))


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
