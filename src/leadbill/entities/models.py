"""Entities (business units) and their gapless number series."""

from django.db import models


class Entity(models.Model):
    """A business unit: everything else in Leadbill belongs to exactly one entity."""

    slug = models.SlugField(unique=True)
    legal_name = models.CharField(max_length=200)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(
        max_length=100, blank=True, help_text="state, province or region (BT-39), where the country uses one"
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    tax_id = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    iban = models.CharField(max_length=40, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    payment_accounts = models.JSONField(
        default=list, blank=True,
        help_text="accounts per currency, checked where they enter: [{currency, iban, bic, account_name, bank_name}"
        " or {currency, ach_routing, ach_account, wire_routing, bic, account_name, bank_name}]; empty: iban/bic"
        " are the account for the entity's currency",
    )  # fmt: skip
    remit_to = models.TextField(
        max_length=300, blank=True, help_text="postal remit-to address, printed under How to pay"
    )
    currency = models.CharField(max_length=3)
    timezone = models.CharField(max_length=64)
    locale = models.CharField(max_length=16, default="en_US")
    invoice_prefix = models.CharField(max_length=20)
    credit_note_prefix = models.CharField(max_length=20, blank=True)
    default_payment_terms_days = models.PositiveIntegerField(default=30)
    default_tax_rate_bp = models.PositiveIntegerField(default=0, help_text="tax rate in basis points: 1900 = 19.00 %")
    peppol_id = models.CharField(
        max_length=60, blank=True, help_text='Peppol participant id "scheme:id", e.g. 0088:5790000435968'
    )
    logo_sha256 = models.CharField(max_length=64, blank=True, help_text="the logo, an asset in documents")
    invoice_footer = models.CharField(max_length=500, blank=True, help_text="printed at the foot of every page")
    credit_on_account = models.CharField(
        max_length=10, choices=[("automatic", "Applied to open invoices, oldest first"), ("manual", "Applied by finance")],
        default="automatic", help_text="what happens to credit on account (overpayments, credit notes without a target)",
    )  # fmt: skip
    self_billing = models.BooleanField(
        default=False,
        help_text="allow partners to opt in to self-invoicing and generate invoices on ready payouts automatically",
    )
    # The agreement's acceptance terms (issue 21): each self-invoice waits for the supplier's acceptance;
    # one neither accepted nor disputed within this many days is deemed accepted. The text a supplier
    # accepts names the period, and its agreement keeps the one it accepted.
    self_billing_acceptance_days = models.PositiveSmallIntegerField(
        default=14, help_text="days a supplier has to accept or dispute a self-invoice before it is deemed accepted"
    )
    self_billing_require_acceptance = models.BooleanField(
        default=False, help_text="pay a payout only once its self-invoices are accepted or deemed accepted"
    )

    mail_from_name = models.CharField(
        max_length=100, blank=True, help_text="the sender name on emails; the legal name when blank"
    )
    mail_from_address = models.EmailField(blank=True, help_text="the sender address on emails; the server's when blank")
    invitation_text = models.TextField(
        blank=True, max_length=2000, help_text="the welcome paragraph of portal invitations; a standard one when blank"
    )
    issue_and_send = models.BooleanField(
        default=False, help_text="issuing from the console also emails each invoice to its billing contacts"
    )
    return_reasons = models.JSONField(
        default=list,
        blank=True,
        help_text="the reasons partners choose from when returning leads; 'Other' is always offered",
    )
    # Safety bounds (leadbill.domain.bounds, docs/safety-bounds.md): a run holds back a document
    # absurd against its partner's history until a person releases it. None turns a rule off.
    bound_total_multiple = models.PositiveIntegerField(
        null=True, blank=True, default=5,
        help_text="hold a document whose total is more than this many times the partner's recent average",
    )  # fmt: skip
    bound_unit_price_multiple = models.PositiveIntegerField(
        null=True, blank=True, default=10,
        help_text="hold a document with a unit price more than this many times above or below the scope's earlier ones",
    )  # fmt: skip
    bound_limit_minor = models.BigIntegerField(
        null=True, blank=True,
        help_text="hold any document in the entity's currency above this total (minor units); none: no limit",
    )  # fmt: skip

    class Meta:
        verbose_name_plural = "entities"

    def __str__(self) -> str:
        return self.legal_name


class NumberSeries(models.Model):
    """The next number of one document series of one entity.

    Incremented inside the issuing transaction with the row locked, so numbers are
    gapless and unique also when two runs race (docs/decisions/numbering.md).
    """

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="series")
    series = models.CharField(max_length=40)
    prefix = models.CharField(max_length=30)
    next_number = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "series"], name="series_unique_per_entity")]

    def __str__(self) -> str:
        return f"{self.entity.slug}:{self.series} next {self.prefix}{self.next_number}"
