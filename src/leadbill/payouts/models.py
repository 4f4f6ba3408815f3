"""Payouts to suppliers and the leads they pay.

The self-billed documents made for them, the partner's seller details and its agreement
live in `leadbill.selfbilling`.
"""

from django.db import models
from django.db.models import Q

from leadbill.domain import payouts as p


class Origin(models.TextChoices):
    COMPUTED = "computed", "Computed from deliveries"
    MANUAL = "manual", "Made by hand"
    API = "api", "Created over the API"


class Payout(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="payouts")
    period_key = models.CharField(max_length=40)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    period_first_day = models.DateField()
    period_last_day = models.DateField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=[(s, s.title()) for s in p.STATUSES], default=p.DRAFT)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    amount_minor = models.BigIntegerField(default=0, help_text="net: the sum of the lines")
    tax_minor = models.BigIntegerField(default=0, help_text="tax on the self-billed documents")
    total_minor = models.BigIntegerField(default=0, help_text="to pay: net + tax of the self-billed documents")
    leads_paid = models.PositiveIntegerField(default=0)
    leads_deducted = models.PositiveIntegerField(default=0)
    anomalies = models.JSONField(default=list, blank=True, help_text="leads left out, and why")
    note = models.CharField(max_length=500, blank=True)
    self_billing = models.CharField(max_length=300, blank=True, help_text="why no self-invoice was made")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True, help_text="the day the money left, as given")
    paid_reference = models.CharField(max_length=200, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    review_reason = models.CharField(
        max_length=600,
        blank=True,
        help_text="why it came back for review (a disputed self-invoice); cleared when ready",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "period_key", "currency"],
                condition=~Q(status=p.CANCELLED),
                name="one_payout_per_partner_period_currency",
            ),
        ]
        indexes = [models.Index(fields=["entity", "status"]), models.Index(fields=["partner", "period_start"])]

    def __str__(self) -> str:
        return f"payout {self.pk} {self.period_key} {self.status}"


class PayoutLine(models.Model):
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20)
    description = models.CharField(max_length=300)
    quantity = models.BigIntegerField()
    unit_price_micros = models.BigIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField()
    tax_rate_bp = models.PositiveIntegerField(default=0, help_text="deductions: the rate they were paid at")
    scope = models.CharField(max_length=60, blank=True)
    bucket = models.CharField(max_length=40, blank=True)
    plan = models.ForeignKey("catalog.PricePlan", null=True, blank=True, on_delete=models.PROTECT)
    rank_from = models.PositiveIntegerField(null=True, blank=True)
    rank_to = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["payout", "position"]
        constraints = [models.UniqueConstraint(fields=["payout", "position"], name="payout_line_position_unique")]

    def __str__(self) -> str:
        return self.description


class PaidLead(models.Model):
    """One lead bought from a supplier, on one payout, at the exact amount it is paid.

    The partial unique index forbids paying a lead twice; cancelling a payout marks its
    rows void so the leads can be paid again.
    """

    delivery = models.ForeignKey("deliveries.Delivery", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(PayoutLine, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount_minor = models.BigIntegerField()
    voided = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery"], condition=Q(voided=False), name="lead_paid_out_once")
        ]


class DeductedLead(models.Model):
    """A returned lead that was paid out, taken back on a later payout at the amount paid."""

    paid = models.ForeignKey(PaidLead, on_delete=models.PROTECT, related_name="+")
    ret = models.ForeignKey("deliveries.Return", on_delete=models.PROTECT, related_name="+")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(PayoutLine, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount_minor = models.BigIntegerField()
    voided = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paid"], condition=Q(voided=False), name="lead_deducted_once")]
