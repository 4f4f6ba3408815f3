"""Self-billing: the partner's seller details, its agreement, the self-billed documents and its own invoices.

`SellerProfile` holds the partner's details as the seller on its self-invoices, `Agreement`
the record of every acceptance and withdrawal of the self-billing agreement. The tables
were made by the `payouts` app and keep their names (`db_table`): the models moved, the
data did not.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from leadbill.domain import selfbilling as sb


class SellerProfile(models.Model):
    """The partner's details as the seller on its self-invoices, given by the partner itself.

    Kept apart from the partner's buyer-side details (which the business maintains): on a
    self-invoice the partner is the seller, and the law wants its own details, logo and
    footer. `decided_at` is set once the onboarding step was answered (opted in or not now).
    """

    partner = models.OneToOneField("partners.Partner", on_delete=models.PROTECT, related_name="seller_profile")
    legal_name = models.CharField(max_length=200, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(
        max_length=100, blank=True, help_text="state, province or region, where the country uses one"
    )
    country = models.CharField(max_length=2, blank=True)
    tax_id = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    iban = models.CharField(max_length=40, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    routing_number = models.CharField(max_length=9, blank=True, help_text="US ABA routing number, instead of an IBAN")
    account_number = models.CharField(
        max_length=17, blank=True, help_text="US bank account number, with the routing number"
    )
    peppol_id = models.CharField(max_length=60, blank=True)
    tax_rate_bp = models.PositiveIntegerField(null=True, blank=True, help_text="None: no tax is added")
    logo_sha256 = models.CharField(max_length=64, blank=True)
    footer = models.CharField(max_length=500, blank=True)
    # As long as a number series' prefix (entities.NumberSeries.prefix), so a partner's name fits whole.
    number_prefix = models.CharField(max_length=30, help_text="the partner's own self-invoice series")
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=200)

    class Meta:
        db_table = "payouts_sellerprofile"

    def __str__(self) -> str:
        return f"seller details of {self.partner_id}"

    def details(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in DETAIL_FIELDS}


DETAIL_FIELDS = ("legal_name", "address_line1", "address_line2", "postal_code", "city", "region", "country",
                 "tax_id", "email", "phone", "iban", "bic", "routing_number", "account_number",
                 "peppol_id")  # fmt: skip


class Agreement(models.Model):
    """One acceptance of the self-billing agreement, and its withdrawal when opted out.

    Rows are never deleted or rewritten except to record the withdrawal, so the history
    of who agreed to which text, when and from where stays. At most one is in force per
    partner (a database constraint).
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="agreements")
    version = models.CharField(max_length=20)
    text_sha256 = models.CharField(max_length=64, help_text="of the exact text shown and accepted")
    accepted_by = models.CharField(max_length=254)
    accepted_at = models.DateTimeField()
    accepted_from = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    via = models.CharField(max_length=20, help_text="onboarding or account")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.CharField(max_length=254, blank=True)
    withdrawn_from = models.GenericIPAddressField(null=True, blank=True)
    acceptance_days = models.PositiveSmallIntegerField(
        default=sb.ACCEPTANCE_DAYS_BEFORE_2026_12, help_text="the deemed-acceptance period its text names"
    )

    class Meta:
        db_table = "payouts_agreement"
        constraints = [
            models.UniqueConstraint(
                fields=["partner"], condition=Q(withdrawn_at__isnull=True), name="one_agreement_in_force"
            )
        ]

    def __str__(self) -> str:
        return f"agreement {self.version} of {self.partner_id}"


class SelfBilledQuerySet(models.QuerySet["SelfBilledDocument"]):
    def live(self) -> SelfBilledQuerySet:
        """The documents that count for their payouts: self-invoices and credit notes not reversed."""
        return self.filter(role__in=sb.ORIGINAL_ROLES, reversed_at__isnull=True)


class SelfBilledDocument(models.Model):
    """A self-billed invoice (389) or credit note (261): the partner's document, issued by us.

    Seller is the partner (its self-billing details, frozen at issue), buyer the entity.
    One document per payout and role (a database constraint): exactly one self-invoice
    per payout, however often generation is attempted. Issued documents never change; a
    cancelled payout's documents are reversed by new ones (roles *_reversal).
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="self_billed")
    payout = models.ForeignKey("payouts.Payout", on_delete=models.PROTECT, related_name="documents")
    role = models.CharField(max_length=20, choices=[(r, r.replace("_", " ")) for r in sb.ROLES])
    series = models.CharField(max_length=40)
    sequence = models.PositiveBigIntegerField()
    number = models.CharField(max_length=60)
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField(help_text="as presented: positive on credit notes")
    tax_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()
    taxes = models.JSONField(default=list, help_text="[{rate, net_minor, tax_minor}] per rate")
    payment_terms_days = models.PositiveIntegerField(null=True, blank=True)
    period_first_day = models.DateField()
    period_last_day = models.DateField()
    seller = models.JSONField(help_text="the partner's self-billing details, frozen at issue")
    buyer = models.JSONField(help_text="the entity's billing details, frozen at issue")
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    references = models.JSONField(default=list, blank=True, help_text="numbers of the documents it corrects")
    notes = models.JSONField(default=list, blank=True)
    agreement = models.ForeignKey(Agreement, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()
    issued_by = models.CharField(max_length=200)
    # Set with the reversal, in its transaction: the document no longer counts for its payout.
    reversed_at = models.DateTimeField(null=True, blank=True)
    # The supplier's acceptance (`domain.selfbilling`): state, by whom, when, through what, from where, why.
    acceptance = models.CharField(
        max_length=10, blank=True, choices=[(s, s) for s in sb.ACCEPTANCE_STATES], help_text="blank on a reversal"
    )
    acceptance_due_at = models.DateTimeField(null=True, blank=True, help_text="deemed accepted from then on")
    acceptance_at = models.DateTimeField(null=True, blank=True)
    acceptance_by = models.CharField(max_length=254, blank=True, help_text="portal user, API key, or system")
    acceptance_via = models.CharField(max_length=10, blank=True, help_text="portal, api or system")
    acceptance_from = models.GenericIPAddressField(null=True, blank=True)
    acceptance_reason = models.CharField(max_length=500, blank=True)

    objects = SelfBilledQuerySet.as_manager()

    class Meta:
        db_table = "payouts_selfbilleddocument"
        constraints = [
            # One live self-invoice and one live credit note per payout; a reversed one (a dispute, a
            # cancellation) leaves room for the corrected document, never for two live ones.
            models.UniqueConstraint(
                fields=["payout", "role"],
                condition=Q(reversed_at__isnull=True, role__in=sb.ORIGINAL_ROLES),
                name="one_live_self_billed_document_per_payout_role",
            ),
            models.UniqueConstraint(
                fields=["corrects"],
                condition=Q(role__in=tuple(sb.REVERSAL_OF.values())),
                name="one_reversal_per_self_billed_document",
            ),
            models.UniqueConstraint(fields=["entity", "series", "sequence"], name="self_billed_number_unique"),
            models.CheckConstraint(
                condition=Q(role__in=sb.ORIGINAL_ROLES, acceptance__in=sb.ACCEPTANCE_STATES)
                | Q(role__in=tuple(sb.REVERSAL_OF.values()), acceptance=""),
                name="self_billed_acceptance_by_role",
            ),
        ]
        indexes = [models.Index(fields=["acceptance", "acceptance_due_at"], name="self_billed_acceptance_due")]

    def __str__(self) -> str:
        return self.number

    @property
    def is_live(self) -> bool:
        """Counts for its payout: an original not reversed."""
        return self.role in sb.ORIGINAL_ROLES and self.reversed_at is None

    @property
    def acceptance_label(self) -> str:
        return sb.acceptance_label(self.acceptance, reversed_=self.reversed_at is not None)

    @property
    def is_credit(self) -> bool:
        return self.role in sb.CREDIT_ROLES

    @property
    def signed_total_minor(self) -> int:
        """What the document adds to the amount owed to the partner (a credit note takes away)."""
        return -self.total_minor if self.is_credit else self.total_minor


class SelfBilledLine(models.Model):
    document = models.ForeignKey(SelfBilledDocument, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20)
    description = models.CharField(max_length=300)
    quantity = models.BigIntegerField()
    unit_price_micros = models.BigIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField(help_text="as presented on the document")
    tax_rate_bp = models.PositiveIntegerField()

    class Meta:
        db_table = "payouts_selfbilledline"
        ordering = ["document", "position"]
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="self_billed_line_unique")]


class SupplierInvoice(models.Model):
    """An invoice the partner uploaded for a payout that has no self-invoice."""

    payout = models.ForeignKey("payouts.Payout", on_delete=models.PROTECT, related_name="supplier_invoices")
    name = models.CharField(max_length=200)
    media_type = models.CharField(max_length=40)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    reference = models.CharField(max_length=100, blank=True, help_text="the partner's invoice number")
    uploaded_by = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField()

    class Meta:
        db_table = "payouts_supplierinvoice"

    def __str__(self) -> str:
        return self.name
