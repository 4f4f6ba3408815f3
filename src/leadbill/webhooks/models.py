"""Webhook endpoints, the events they receive, and every delivery attempt (the delivery log)."""

import uuid

from django.db import models
from django.utils import timezone

EVENT_TYPES = (
    "invoice.issued",
    "invoice.paid",
    "invoice.voided",
    "credit_note.issued",
    "payout.ready",
    "self_invoice.issued",
    "self_invoice.accepted",
    "self_invoice.disputed",
    "partner.low_balance",
    "partner.overdue",
)


class Endpoint(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, help_text="the HMAC-SHA256 key shared with the receiver")
    events = models.JSONField(default=list, help_text="event types sent here; empty: all")
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class Event(models.Model):
    """Something that happened, written in the transaction that made it happen."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event to one endpoint: at most one accepted delivery (a 2xx), retried with backoff until then.

    Receivers get the event id in `Leadbill-Delivery`; a delivery whose worker died
    mid-request is sent again with the same id, which the receiver uses to drop repeats.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=9, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    kicked_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id} {self.state}"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response = models.TextField(blank=True, help_text="the outcome in short (HTTP status or reason); never the body")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["delivery", "at"])]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status or self.error}"
