"""Lead types and price plans (one version per effective date)."""

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce


class LeadType(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="lead_types")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "code"], name="lead_type_code_unique")]

    def __str__(self) -> str:
        return self.name


class PlanSide(models.TextChoices):
    SELL = "sell", "Price we charge a buyer"
    BUY = "buy", "Price we pay a supplier"


class PricePlan(models.Model):
    """One version of the price for a partner, optionally narrowed to a profile and/or lead type.

    The most specific plan in effect at a delivery's time prices it:
    (profile, lead type) > (profile) > (lead type) > (partner). `effective_to` is the
    next version's `effective_from` for the same scope, kept by catalog.services so the
    invoice run can join on it set-based.
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="price_plans")
    profile = models.ForeignKey("partners.Profile", null=True, blank=True, on_delete=models.PROTECT)
    lead_type = models.ForeignKey(LeadType, null=True, blank=True, on_delete=models.PROTECT)
    side = models.CharField(max_length=4, choices=PlanSide.choices, default=PlanSide.SELL)
    model = models.CharField(max_length=20, help_text="flat, graduated, volume or delivered")
    config = models.JSONField(default=dict, help_text="model settings; prices as decimal strings")
    effective_from = models.DateTimeField()
    effective_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # COALESCE makes "no profile" / "no lead type" equal to each other, which a
            # plain unique constraint would not (NULLs are distinct), on both databases.
            models.UniqueConstraint(
                F("partner"),
                Coalesce("profile", Value(0)),
                Coalesce("lead_type", Value(0)),
                F("side"),
                F("effective_from"),
                name="price_plan_version_unique",
            )
        ]
        indexes = [models.Index(fields=["partner", "side", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.model} from {self.effective_from:%Y-%m-%d}"
