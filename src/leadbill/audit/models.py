"""The audit trail: one row for every write that matters, inside its transaction."""

from django.db import models


class AuditEvent(models.Model):
    entity = models.ForeignKey("entities.Entity", null=True, blank=True, on_delete=models.PROTECT)
    actor = models.CharField(max_length=200, help_text="who: 'cli:alice', 'user:12', 'system:scheduler'")
    action = models.CharField(max_length=80, help_text="what: 'invoice.issued', 'payment.recorded'...")
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=60)
    data = models.JSONField(default=dict)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}:{self.object_id}"
