"""Billing schedules (per entity, with per-partner overrides) and the runs they have made."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadbill.domain.schedules import DEFAULT_MONTHLY_MINUTE


class Frequency(models.TextChoices):
    MANUAL = "manual", "Manual only"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Schedule(models.Model):
    """When invoices are made automatically: the entity's (partner empty) or one partner's own.

    A partner with its own schedule leaves the entity's runs; "manual only" on a partner
    keeps it out of automatic runs altogether. Weekdays are 0 (Monday) to 6, times are
    minutes after local midnight in the entity's time zone.
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.CASCADE, related_name="schedules")
    partner = models.OneToOneField("partners.Partner", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="schedule")  # fmt: skip
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.MANUAL)
    window_start_day = models.PositiveSmallIntegerField(default=0)
    window_start_minute = models.PositiveSmallIntegerField(default=0)
    window_end_day = models.PositiveSmallIntegerField(default=0)
    window_end_minute = models.PositiveSmallIntegerField(default=0)
    generate_day = models.PositiveSmallIntegerField(default=0)
    generate_minute = models.PositiveSmallIntegerField(default=DEFAULT_MONTHLY_MINUTE)
    draft = models.BooleanField(default=False, help_text="leave drafts for review instead of issuing")
    send_email = models.BooleanField(default=True, help_text="email each issued document to the partner")
    active_from = models.DateTimeField(default=timezone.now, help_text="runs due before this are not made")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity"], condition=Q(partner__isnull=True), name="one_entity_schedule"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id}/{self.partner_id or '*'} {self.frequency}"


class ScheduledRun(models.Model):
    """A (schedule, period) the scheduler has acted on: the unique row that makes it happen once."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    period_key = models.CharField(max_length=60)
    due_at = models.DateTimeField()
    run = models.OneToOneField("invoicing.InvoiceRun", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="scheduled")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True, help_text="why no run was made, when none was")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schedule", "period_key"], name="one_run_per_schedule_period")]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.period_key}"


class SchedulerHeartbeat(models.Model):
    """The last tick of a scheduler process (`leadbill scheduler`, or `--once` from cron).

    One row per scheduler name, updated in place on every tick, so pages can say whether
    anything is making the scheduled runs at all: a schedule with no live scheduler
    is a promise nobody keeps.
    """

    name = models.CharField(max_length=40, primary_key=True, default="scheduler")
    last_tick_at = models.DateTimeField()
    host = models.CharField(max_length=200, blank=True, help_text="host name and process id of the last tick")
    ticks = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} last ticked {self.last_tick_at:%Y-%m-%d %H:%M:%S}"


class RunActionKind(models.TextChoices):
    EMAIL = "email", "Email all"
    DOWNLOAD = "download", "Download all"


class RunAction(models.Model):
    """A bulk action on an issued run's documents ("Email all", "Download all"), done as a background task.

    `done` of `total` is the progress the run page polls; `failures` names each document
    that could not be handled, and why. A download keeps no file of its own: the task
    archives every PDF (the slow part), and the zip is streamed from the archive.
    """

    run = models.ForeignKey("invoicing.InvoiceRun", on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=10, choices=RunActionKind.choices)
    actor = models.CharField(max_length=200)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=dict, blank=True, help_text="document number -> why it was not handled")
    outcome = models.JSONField(default=dict, blank=True, help_text='counts: {"queued": 12, "already": 3}')
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "kind", "-id"])]

    def __str__(self) -> str:
        return f"{self.kind} of run {self.run_id}"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (100 if self.finished_at else 0)
