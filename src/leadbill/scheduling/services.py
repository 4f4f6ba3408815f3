"""Writes of scheduling: setting schedules, and the scheduler's tick that starts due runs once.

Exactly once per (schedule, period): the tick inserts a `ScheduledRun` row under a
unique constraint in the same transaction that creates the invoice run and queues its
task. A second scheduler racing for the same period fails on that constraint and
rolls back; nothing of its attempt remains. Catch-up is the same tick: every period
whose generation time passed since the schedule became active (at most
`CATCH_UP_LIMIT` ago) and has no row yet is started, oldest first, each once the run of the
period before it has finished (`_earlier_run_open`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.domain import schedules as rules
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.invoicing.models import InvoiceRun, ItemState
from leadbill.partners.models import Partner
from leadbill.scheduling.models import Frequency, Schedule, ScheduledRun, SchedulerHeartbeat

logger = logging.getLogger(__name__)
ACTOR = "system:scheduler"
CATCH_UP_LIMIT = timedelta(days=400)  # a scheduler down longer than this does not bill further back
STALLED_RUN = timedelta(minutes=10)  # a run with pending partners and no progress this long is queued again


def rule_of(schedule: Schedule) -> rules.Rule | None:
    if schedule.frequency == Frequency.WEEKLY:
        return rules.Weekly(schedule.window_start_day, schedule.window_start_minute, schedule.window_end_day,
                            schedule.window_end_minute, schedule.generate_day, schedule.generate_minute)  # fmt: skip
    if schedule.frequency == Frequency.MONTHLY:
        return rules.Monthly(schedule.generate_minute)
    return None


def schedule_of(entity: Entity, partner: Partner | None = None) -> Schedule | None:
    return Schedule.objects.filter(entity=entity, partner=partner).first()


RULE_FIELDS = ("frequency", "window_start_day", "window_start_minute", "window_end_day", "window_end_minute",
               "generate_day", "generate_minute")  # fmt: skip


def schedule_set(
    *,
    actor: str,
    entity: Entity,
    partner: Partner | None = None,
    frequency: str,
    window_start: tuple[int, int] = (0, 0),
    window_end: tuple[int, int] = (0, 0),
    generate_at: tuple[int, int] = (0, rules.DEFAULT_MONTHLY_MINUTE),
    draft: bool = False,
    send_email: bool = True,
) -> Schedule:
    """Set the entity's schedule (or a partner's own); a weekly window after its generation time is refused.

    A changed rule starts counting from now, except for the period the old rule still had
    pending: one already ended whose run was still ahead (moving Monday 08:00 to 06:00 at
    07:00). Counting from now would skip it, its run due under neither rule, and its leads
    would land a period late. Runs the old rule missed (a scheduler down) are not caught up.
    """
    if frequency not in Frequency.values:
        raise DomainError(f"unknown frequency {frequency!r}; use {', '.join(Frequency.values)}", field="frequency")
    if partner is not None and partner.entity_id != entity.pk:
        raise DomainError(f"partner {partner.code} belongs to another entity", field="partner")
    values: dict[str, Any] = {"frequency": frequency, "draft": draft, "send_email": send_email}
    if frequency == Frequency.WEEKLY:
        values |= {"window_start_day": window_start[0], "window_start_minute": window_start[1],
                   "window_end_day": window_end[0], "window_end_minute": window_end[1],
                   "generate_day": generate_at[0], "generate_minute": generate_at[1]}  # fmt: skip
    elif frequency == Frequency.MONTHLY:
        values |= {"generate_day": 0, "generate_minute": generate_at[1]}
    now = timezone.now()
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().filter(entity=entity, partner=partner).first()
        if schedule is None:
            schedule = Schedule(entity=entity, partner=partner)
        before = {name: getattr(schedule, name) for name in RULE_FIELDS} if schedule.pk else None
        pending = _pending(schedule, now)  # under the old rule, before it changes
        for name, value in values.items():
            setattr(schedule, name, value)
        rule_of(schedule)  # refuses an impossible rule before anything is saved
        if before != {name: getattr(schedule, name) for name in RULE_FIELDS}:
            schedule.active_from = _counting_from(pending, now)
        schedule.save()
        audit_record(actor=actor, action="schedule.set", obj=schedule, entity=entity,
                     partner=partner.code if partner else None, **describe(schedule))  # fmt: skip
    return schedule


def _pending(schedule: Schedule, now: datetime) -> rules.Due | None:
    """The saved rule's next run, or None for a new schedule or a saved rule no longer valid (it is being fixed)."""
    if schedule.pk is None:
        return None
    try:
        return next_due(schedule, now)
    except rules.ScheduleError:
        return None


def _counting_from(pending: rules.Due | None, now: datetime) -> datetime:
    """Where a changed rule's `active_from` starts: now, or just before the end of the period pending.

    Just before, not at: `due` leaves out a run at exactly `since`, and a rule may generate
    at the instant a period ends. A period already started keeps its `ScheduledRun` row and
    is not started again.
    """
    if pending is not None and pending.period.end <= now:
        return pending.period.end - timedelta(microseconds=1)
    return now


def schedule_clear(*, actor: str, partner: Partner) -> None:
    """A partner follows the entity's schedule again."""
    with transaction.atomic():
        schedule = Schedule.objects.filter(partner=partner).first()
        if schedule is not None:
            audit_record(actor=actor, action="schedule.cleared", obj=schedule, entity=partner.entity,
                         partner=partner.code)  # fmt: skip
            schedule.delete()


def describe(schedule: Schedule) -> dict[str, Any]:
    """The schedule in words and the next run, for pages, the CLI and the audit trail."""
    text = "manual only"
    if schedule.frequency == Frequency.WEEKLY:
        w = rules.Weekly.describe
        text = (f"weekly: window {w(schedule.window_start_day, schedule.window_start_minute)} to "
                f"{w(schedule.window_end_day, schedule.window_end_minute)}, generated "
                f"{w(schedule.generate_day, schedule.generate_minute)}")  # fmt: skip
    elif schedule.frequency == Frequency.MONTHLY:
        text = f"monthly: generated on the 1st at {rules.clock(schedule.generate_minute)}"
    if schedule.frequency != Frequency.MANUAL:
        text += (
            ", left as drafts" if schedule.draft else (", issued and emailed" if schedule.send_email else ", issued")
        )
    return {"frequency": schedule.frequency, "description": text}


def next_due(schedule: Schedule, now: datetime | None = None) -> rules.Due | None:
    rule = rule_of(schedule)
    if rule is None:
        return None
    now = now or timezone.now()
    upcoming = rule.due(now, now + timedelta(days=40), schedule.entity.timezone)
    return upcoming[0] if upcoming else None


# --- the tick ------------------------------------------------------------------------------------


@dataclass
class Tick:
    started: list[ScheduledRun] = field(default_factory=list)
    lost_races: int = 0
    swept: dict[str, Any] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)  # schedule id -> why it started nothing this tick


def scheduler_tick(*, now: datetime | None = None) -> Tick:
    """Start every due run not started yet, then sweep: retries that fell due, stalled runs.

    A schedule whose run is refused (a `DomainError`) is logged and tried again next tick;
    the other entities' schedules and the sweep go on, so one bad schedule never stops
    everyone's runs, emails and webhooks. Anything else (a database error) still fails the tick.
    """
    now = now or timezone.now()
    heartbeat_record(now)
    tick = Tick()
    for schedule in Schedule.objects.exclude(frequency=Frequency.MANUAL).select_related("entity", "partner"):
        try:
            _start_due(schedule, now, tick)
        except DomainError as error:
            logger.error(
                "schedule %s (entity %s): no run started this tick: %s", schedule.pk, schedule.entity_id, error
            )
            tick.failed[schedule.pk] = str(error)
    tick.swept = sweep(now)
    return tick


def _start_due(schedule: Schedule, now: datetime, tick: Tick) -> None:
    """Start the schedule's due periods not started yet, oldest first, noting them in `tick`."""
    rule = rule_of(schedule)
    assert rule is not None
    since = max(schedule.active_from, now - CATCH_UP_LIMIT)
    due = rule.due(since, now, schedule.entity.timezone)
    if not due:
        return
    done = set(
        ScheduledRun.objects.filter(schedule=schedule, period_key__in=[d.period.key for d in due]).values_list(
            "period_key", flat=True
        )
    )
    for d in due:
        if d.period.key in done:
            continue
        if _earlier_run_open(schedule):
            return  # oldest first, also across workers: the next tick starts this period
        started = _start(schedule, d)
        if started is None:
            tick.lost_races += 1
            return
        tick.started.append(started)


def heartbeat_record(now: datetime, name: str = "scheduler") -> None:
    """Note that a scheduler ticked, for the pages that promise scheduled runs.

    Not audited: it is the process's pulse (every 30 s), not a decision anyone made.
    """
    import os
    import socket

    host = f"{socket.gethostname()}:{os.getpid()}"[:200]
    updated = SchedulerHeartbeat.objects.filter(name=name).update(last_tick_at=now, host=host, ticks=F("ticks") + 1)
    if not updated:
        try:
            with transaction.atomic():
                SchedulerHeartbeat.objects.create(name=name, last_tick_at=now, host=host, ticks=1)
        except IntegrityError:  # a second scheduler created it first
            SchedulerHeartbeat.objects.filter(name=name).update(last_tick_at=now, host=host, ticks=F("ticks") + 1)


def _earlier_run_open(schedule: Schedule) -> bool:
    """Whether a run this schedule started is still issuing.

    A later period's run must not start beside it: whichever of the two reaches a partner first
    bills every unbilled lead, so the older period's leads would land on the newer invoice as
    late lines. Inline (the embedded default) a run is finished when `_start` returns, so a
    catch-up of several periods still happens in one tick; with workers it is one period per
    tick, each after the one before. A run whose worker vanished is failed by
    `runs_mark_stale`, which releases the next period.
    """
    return ScheduledRun.objects.filter(schedule=schedule, run__isnull=False, run__finished_at__isnull=True).exists()


def _start(schedule: Schedule, due: rules.Due) -> ScheduledRun | None:
    from leadbill.invoicing.services import invoice_run_start

    entity, partner = schedule.entity, schedule.partner
    try:
        with transaction.atomic():
            scheduled = ScheduledRun.objects.create(schedule=schedule, period_key=due.period.key, due_at=due.at)
            if partner is not None and not (partner.is_buyer and partner.is_active):
                scheduled.note = f"{partner.code} is not an active buyer; nothing to invoice"
                scheduled.save(update_fields=["note"])
            else:
                scope: dict[str, Any]
                if partner is not None:
                    scope = {"partners": [partner.code]}
                else:
                    scope = {"exclude": sorted(Schedule.objects.filter(entity=entity, partner__isnull=False)
                                               .values_list("partner__code", flat=True))}  # fmt: skip
                run = invoice_run_start(actor=ACTOR, entity=entity, period=due.period, draft=schedule.draft,
                                        send_email=schedule.send_email, scope=scope)  # fmt: skip
                scheduled.run = run
                scheduled.save(update_fields=["run"])
            audit_record(actor=ACTOR, action="schedule.run_started", obj=schedule, entity=entity,
                         period=due.period.key, due_at=due.at.isoformat(),
                         run=scheduled.run_id)  # fmt: skip
    except IntegrityError:
        logger.info("schedule %s period %s: another scheduler started it", schedule.pk, due.period.key)
        return None
    return scheduled


def sweep(now: datetime) -> dict[str, Any]:
    """Work that fell due or stalled: reminders, email and webhook retries, runs whose worker vanished,
    self-invoices whose acceptance period passed in silence (deemed accepted)."""
    from leadbill.invoicing.services import runs_mark_stale
    from leadbill.mailing.services import sends_sweep
    from leadbill.receivables.dunning import reminders_due
    from leadbill.selfbilling.acceptance import self_invoices_deem
    from leadbill.webhooks.services import deliveries_sweep

    stale = [run.pk for run in runs_mark_stale(now)]  # before the re-queue: a stale run is failed, not retried
    reminders = len(reminders_due(now))
    deemed = len(self_invoices_deem(now))
    return {"email": sends_sweep(now), "webhooks": deliveries_sweep(now), "runs": runs_sweep(now), "stale_runs": stale,
            "reminders": reminders, "self_invoices_deemed": deemed}  # fmt: skip


def runs_sweep(now: datetime) -> int:
    """Queue again the coordinator of a run with pending partners and no progress for a while."""
    from leadbill.background import task_named
    from leadbill.engine.kick import enqueue_on_commit

    invoice_run_task = task_named("invoice_run_task")

    # Background runs only (queued by invoice_run_start): a CLI run has no task to queue again; if its
    # process died, runs_mark_stale fails it and the period is simply run again.
    open_runs = InvoiceRun.objects.filter(finished_at__isnull=True, mode="issue", started_at__lt=now - STALLED_RUN,
                                          summary__has_key="queued")  # fmt: skip
    stalled = list(
        open_runs.annotate(last=Coalesce(Max("items__finished_at"), "started_at"),
                           items_left=Count("items", filter=Q(items__state=ItemState.PENDING)), items_all=Count("items"))
        .filter(Q(items_left__gt=0) | Q(items_all=0), last__lt=now - STALLED_RUN)
        .values_list("pk", flat=True)
    )  # fmt: skip
    with transaction.atomic():
        for run_id in stalled:
            enqueue_on_commit(invoice_run_task, run_id)
    return len(stalled)


def scheduler_loop(*, interval: float = 30.0, stop: Any = None) -> None:
    """`leadbill scheduler`: tick, then sleep, until `stop` (a threading.Event) is set."""
    while stop is None or not stop.is_set():
        started = time.monotonic()
        try:
            tick = scheduler_tick()
            for scheduled in tick.started:
                logger.warning("started run %s for %s", scheduled.run_id, scheduled.period_key)
        except Exception:
            logger.exception("scheduler tick failed; trying again")
        finally:
            from django.db import close_old_connections

            close_old_connections()
        wait = max(0.0, interval - (time.monotonic() - started))
        if stop is not None:
            stop.wait(wait)
        else:
            time.sleep(wait)


def issue_and_send_set(*, actor: str, entity: Entity, on: bool) -> Entity:
    """Whether issuing from the console also emails each document (`Entity.issue_and_send`)."""
    with transaction.atomic():
        locked = Entity.objects.select_for_update().get(pk=entity.pk)
        if locked.issue_and_send != on:
            locked.issue_and_send = on
            locked.save(update_fields=["issue_and_send"])
            audit_record(actor=actor, action="entity.issue_and_send", obj=locked, entity=locked, on=on)
    entity.issue_and_send = on
    return entity
