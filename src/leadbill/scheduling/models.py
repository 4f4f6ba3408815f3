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
