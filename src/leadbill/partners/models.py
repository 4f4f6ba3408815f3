"""Partners (buyers and suppliers), their delivery profiles and return policies."""

from django.db import models


class BillingMode(models.TextChoices):
    PREPAY = "prepay", "Prepay"
    CREDIT = "credit", "Credit"


class CapPolicy(models.TextChoices):
    """What a run does with leads beyond a partner's cap."""

    FLAG = "flag", "Bill them, and flag the overage"
    EXCLUDE = "exclude", "Leave them out of the invoice"
    PRICE = "price", "Bill them at the over-cap price"


class Partner(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="partners")
    code = models.SlugField(max_length=60, help_text="the name deliveries and files use")
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    is_buyer = models.BooleanField(default=True)
    is_supplier = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    billing_emails = models.JSONField(default=list, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(
        max_length=100, blank=True, help_text="state, province or region (BT-54), where the country uses one"
    )
    country = models.CharField(max_length=2, blank=True)
    tax_id = models.CharField(max_length=40, blank=True)
    peppol_id = models.CharField(
        max_length=60, blank=True, help_text='Peppol participant id "scheme:id"; derived from a VAT id when empty'
    )
    buyer_reference = models.CharField(
        max_length=100, blank=True, help_text="the partner's reference for its invoices (EN 16931 BT-10)"
    )
    currency = models.CharField(max_length=3)
    payment_terms_days = models.PositiveIntegerField(null=True, blank=True)
    tax_rate_bp = models.PositiveIntegerField(null=True, blank=True, help_text="None: the entity's rate")
    billing_mode = models.CharField(max_length=10, choices=BillingMode.choices, default=BillingMode.CREDIT)
    credit_limit_minor = models.BigIntegerField(null=True, blank=True)
    low_balance_minor = models.BigIntegerField(null=True, blank=True)
    cap_daily = models.PositiveIntegerField(null=True, blank=True)
    cap_weekly = models.PositiveIntegerField(null=True, blank=True)
    cap_monthly = models.PositiveIntegerField(null=True, blank=True)
    cap_policy = models.CharField(max_length=10, choices=CapPolicy.choices, default=CapPolicy.FLAG)
    over_cap_price_micros = models.BigIntegerField(
        null=True, blank=True, help_text="price per lead beyond a cap, in millionths of the currency unit"
    )
    returns_allowed = models.BooleanField(default=True)
    return_max_age_days = models.PositiveIntegerField(null=True, blank=True)
    return_max_share_bp = models.PositiveIntegerField(
        null=True, blank=True, help_text="max share of a period's leads returned, basis points"
    )
    return_auto_accept = models.BooleanField(default=False)
    report_fields = models.JSONField(default=list, blank=True, help_text="lead fields shown in reports")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "code"], name="partner_code_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_prepay(self) -> bool:
        return self.billing_mode == BillingMode.PREPAY

    def payment_terms(self) -> int:
        if self.payment_terms_days is not None:
            return self.payment_terms_days
        return self.entity.default_payment_terms_days

    def tax_rate(self) -> int:
        return self.tax_rate_bp if self.tax_rate_bp is not None else self.entity.default_tax_rate_bp


class Profile(models.Model):
    """A partner's delivery profile (a campaign or filter set leads are routed to)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="profiles")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "code"], name="profile_code_unique")]

    def __str__(self) -> str:
        return f"{self.partner.code}/{self.code}"


class BillingStamp(models.Model):
    """A token that changes after every committed write to what a partner would be billed.

    Written by `partners.stamps` after commit, read by the invoice-run preview to know which of the
    drafts it keeps are still true (`invoicing.kept`). Plain integers, not foreign keys: a stamp is
    written for every partner an import touches, and must not be held back by checks or locks.
    `partner_id` 0 stands for the whole entity, and entity 0 with partner 0 for every entity.
    """

    entity_id = models.BigIntegerField()
    partner_id = models.BigIntegerField()
    token = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity_id", "partner_id"], name="billing_stamp_once")]
