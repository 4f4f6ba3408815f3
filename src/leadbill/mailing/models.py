"""Email of issued documents and alerts: per-entity templates and one row per send with its status."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

DEFAULT_SUBJECT = "$kind $number from $seller"
DEFAULT_BODY = """Hello,

please find attached $kind_lower $number from $seller$for_period.
Total: $total$due_text

Kind regards,
$seller
"""


class MailSettings(models.Model):
    """An entity's sender and templates; placeholders are listed in `leadbill.mailing.templates`."""

    entity = models.OneToOneField("entities.Entity", on_delete=models.CASCADE, related_name="mail_settings")
    sender = models.CharField(
        max_length=200, blank=True, help_text='"Billing <billing@example.com>"; blank: the default'
    )
    reply_to = models.EmailField(blank=True)
    subject_template = models.CharField(max_length=300, default=DEFAULT_SUBJECT)
    body_template = models.TextField(default=DEFAULT_BODY)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mail settings of {self.entity_id}"


class SendState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"


class EmailSend(models.Model):
    """One message to send, once.

    A worker claims the row (queued -> sending) in its own committed update before it talks
    to the server, so two workers never send the same row. A temporary failure (4xx,
    connection lost) puts it back as queued with a later `next_attempt_at`; a permanent
    one (5xx) fails it. A row left "sending" by a worker that died mid-conversation is
    marked "unknown" for a person to check, never sent again on its own: the server may
    have accepted it, and a second copy is worse than a question.
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey("invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="sends")  # fmt: skip
    partner = models.ForeignKey("partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=80, help_text="why: 'run:12', 'manual:<id>', 'low_balance:<id>'")
    sender = models.CharField(max_length=200)
    recipients = models.JSONField(default=list)
    reply_to = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=400)
    body = models.TextField()
    attach_documents = models.BooleanField(default=True)
    state = models.CharField(max_length=8, choices=SendState.choices, default=SendState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    kicked_at = models.DateTimeField(null=True, blank=True, help_text="last time a task was queued for it")
    sent_at = models.DateTimeField(null=True, blank=True)
    server_answer = models.TextField(blank=True, help_text="the server's last answer, e.g. '250 2.0.0 Ok: queued'")
    log = models.JSONField(default=list, help_text="every attempt: when, and what the server said")
    attachments = models.JSONField(default=list)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "purpose"],
                condition=Q(invoice__isnull=False),
                name="one_send_per_invoice_and_purpose",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="send_due_idx"),
        ]

    def __str__(self) -> str:
        return f"send {self.pk} {self.subject} {self.state}"

    @property
    def message_id(self) -> str:
        return f"<send-{self.pk}.{self.entity_id}@leadbill>"


class LowBalanceAlert(models.Model):
    """A prepay partner's balance fell under its threshold; one alert until it is topped up above again."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    balance_minor = models.BigIntegerField()
    threshold_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner"], condition=Q(cleared_at__isnull=True), name="one_open_low_balance_alert"
            ),
        ]

    def __str__(self) -> str:
        return f"low balance {self.partner_id} {self.balance_minor}"
