"""Reads of scheduling: is a scheduler alive, a partner's billing cycle, and the weekly windows to pick from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from leadbill.domain import periods, schedules
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from leadbill.scheduling.models import Frequency, Schedule, SchedulerHeartbeat
from leadbill.scheduling.services import describe, next_due, rule_of

# A scheduler ticks every 30 s by default, or every few minutes from cron (`leadbill scheduler --once`);
# silent longer than this, nothing is making the scheduled runs and the pages say so.
SCHEDULER_SILENT_AFTER = timedelta(minutes=15)
WINDOWS_OFFERED = 8  # recent weekly windows per cycle in the run page's picker
WINDOW_CHOICES_MAX = 400  # a drop-down longer than this helps nobody; the ISO week and date range remain


@dataclass(frozen=True, slots=True)
class SchedulerStatus:
    last_tick_at: datetime | None
    host: str
    alive: bool


def scheduler_status(now: datetime | None = None) -> SchedulerStatus:
    """When a scheduler last ticked, and whether that is recent enough to trust "next run" promises."""
    now = now or timezone.now()
    beat = SchedulerHeartbeat.objects.order_by("-last_tick_at").first()
    if beat is None:
        return SchedulerStatus(None, "", False)
    return SchedulerStatus(beat.last_tick_at, beat.host, now - beat.last_tick_at <= SCHEDULER_SILENT_AFTER)


@dataclass(frozen=True, slots=True)
class Cycle:
    """A partner's billing cycle: its own schedule, or the entity's it follows."""

    own: Schedule | None
    followed: Schedule | None
    description: str
    due: schedules.Due | None


def partner_cycle(partner: Partner) -> Cycle:
    own = Schedule.objects.filter(partner=partner).select_related("entity").first()
    followed = None if own else Schedule.objects.filter(entity_id=partner.entity_id, partner=None).first()
    shown = own or followed
    if shown is not None:
        shown.entity = partner.entity
    text = describe(shown)["description"] if shown else "manual only"
    return Cycle(own, followed, text, next_due(shown) if shown else None)


@dataclass(frozen=True, slots=True)
class WindowChoice:
    """A weekly window the run page offers: the period, and the partner it bills (None: every buyer)."""

    period: periods.Period
    partner_code: str | None
    partner_name: str

    @property
    def value(self) -> str:
        return f"{self.partner_code or ''}|{self.period.key}"


def weekly_windows(entity: Entity, now: datetime | None = None, count: int = WINDOWS_OFFERED) -> list[WindowChoice]:
    """The latest windows of every weekly cycle of the entity (its own and its partners'), newest first.

    The entity's own cycle comes first, then its partners' by name, at most `WINDOW_CHOICES_MAX` in all.
    """
    now = now or timezone.now()
    found: list[WindowChoice] = []
    weekly = (Schedule.objects.filter(entity=entity, frequency=Frequency.WEEKLY).select_related("partner")
              .order_by(F("partner__name").asc(nulls_first=True)))  # fmt: skip
    for schedule in weekly:
        rule = rule_of(schedule)
        assert isinstance(rule, schedules.Weekly)
        dues = rule.due(now - timedelta(weeks=count + 1), now, entity.timezone)
        if not dues:
            continue
        # then the windows whose run is not due yet: ended, waiting for the generation time, or under way
        windows = [d.period for d in dues]
        while (following := windows[-1].next()).start <= now:
            windows.append(following)
        choices = windows[::-1]
        for period in choices[:count]:
            partner = schedule.partner
            found.append(WindowChoice(period, partner.code if partner else None,
                                      partner.name if partner else entity.legal_name))  # fmt: skip
            if len(found) >= WINDOW_CHOICES_MAX:
                return found
    return found
