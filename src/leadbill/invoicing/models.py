"""Invoices, their lines, the per-lead billing record, payments, adjustments and prepay ledger."""

from django.db import models


class Kind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    RECEIPT = "receipt", "Prepay receipt"
    CREDIT_NOTE = "credit_note", "Credit note"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    WRITTEN_OFF = "written_off", "Written off"


OPEN_STATUSES = (Status.ISSUED, Status.PARTIALLY_PAID)


# The document that bills a partner's period: an invoice or receipt, or the credit note a run issues
# when the period nets negative (it carries the period's charge lines). A credit note that reverses
# or corrects a document has no run and is not one. One rule for the once-per-period constraint, the
# "already billed" checks and the bucket of late leads.
PERIOD_DOCUMENT = models.Q(kind__in=["invoice", "receipt"]) | models.Q(kind="credit_note", run__isnull=False)
PERIOD_DOCUMENT_SQL = "({t}.kind IN ('invoice', 'receipt') OR ({t}.kind = 'credit_note' AND {t}.run_id IS NOT NULL))"


class InvoiceRun(models.Model):
    """A preview or issue run over one period, with its summary for later inspection."""

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    period_key = models.CharField(max_length=40)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    mode = models.CharField(max_length=10)
    actor = models.CharField(max_length=200)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(
        null=True, blank=True, help_text="last sign of life: progress written; a run silent too long is stale"
    )
    summary = models.JSONField(default=dict)
    draft = models.BooleanField(default=False, help_text="leave drafts for review instead of issuing")
    send_email = models.BooleanField(default=False, help_text="email each issued document to the partner")
    scope = models.JSONField(
        null=True, blank=True,
        help_text='which buyers: null = all; {"partners": [codes]}; {"exclude": [codes]}',
    )  # fmt: skip

    def __str__(self) -> str:
        return f"run {self.pk} {self.period_key} {self.mode}"

    @property
    def state(self) -> str:
        """running, finished, or "failed (stale)" for a run marked failed after it stopped without a word."""
        if self.finished_at is None:
            return "running"
        return "failed (stale)" if self.summary.get("stale") else "finished"


class ItemState(models.TextChoices):
    PENDING = "pending", "Pending"
    ISSUED = "issued", "Issued"
    EMPTY = "empty", "Nothing to bill"
    SKIPPED = "skipped", "Already invoiced"
    FAILED = "failed", "Failed"
    HELD = "held", "Held by safety bounds"


class InvoiceRunItem(models.Model):
    """One partner of a background run: the unit workers share, and what makes a re-run safe.

    A worker that dies mid-chunk leaves its items pending; whoever runs them again finds
    the partner already invoiced (a database constraint) and records that invoice.
    """

    run = models.ForeignKey(InvoiceRun, on_delete=models.CASCADE, related_name="items")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=8, choices=ItemState.choices, default=ItemState.PENDING)
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "partner"], name="run_item_unique")]
        indexes = [models.Index(fields=["run", "state"])]

    def __str__(self) -> str:
        return f"run {self.run_id} partner {self.partner_id} {self.state}"


class Invoice(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="invoices")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="invoices")
    run = models.ForeignKey(InvoiceRun, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    series = models.CharField(max_length=40)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=60, null=True, blank=True)
    period_key = models.CharField(max_length=40, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    period_first_day = models.DateField(null=True, blank=True)
    period_last_day = models.DateField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0, help_text="payments applied, net of reversals (kept by receivables)")
    taxes = models.JSONField(default=list, help_text="[{rate_bp, net_minor, tax_minor}] per rate")
    leads_billed = models.PositiveIntegerField(default=0)
    leads_returned = models.PositiveIntegerField(default=0)
    payment_terms_days = models.PositiveIntegerField(null=True, blank=True)
    opening_balance_minor = models.BigIntegerField(null=True, blank=True)
    topups_minor = models.BigIntegerField(null=True, blank=True)
    closing_balance_minor = models.BigIntegerField(null=True, blank=True)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    seller = models.JSONField(default=dict, help_text="the entity's details, frozen at issue")
    buyer = models.JSONField(default=dict, help_text="the partner's details, frozen at issue")
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)
    manual = models.BooleanField(
        default=False, help_text="typed lines rather than a run's deliveries; not the partner's period invoice"
    )
    void_leads = models.CharField(
        max_length=8, blank=True, choices=[("rebill", "Re-billed on the next run"), ("cancel", "Not billable")],
        help_text="what voiding meant for the leads: a correction (re-billed) or a cancellation",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "period_start", "period_end"],
                condition=PERIOD_DOCUMENT & ~models.Q(status="void"),
                name="one_document_per_partner_and_period",
            ),
            models.UniqueConstraint(fields=["entity", "series", "sequence"], name="invoice_number_unique"),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="issued_documents_have_numbers",
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "status", "issue_date"]),
            models.Index(fields=["partner", "issue_date"]),
            models.Index(fields=["entity", "number"], name="invoice_entity_number"),  # search, by_reference
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    @property
    def balance_due_minor(self) -> int:
        """What is still open, from the receivables ledger (annotated by `with_open`, else read once)."""
        annotated = self.__dict__.get("open_minor")
        if annotated is None:
            from leadbill.receivables.selectors import open_minor

            return open_minor(self)
        return int(annotated)

    @property
    def is_open(self) -> bool:
        """An invoice that still takes payments and credits."""
        return self.kind == Kind.INVOICE and self.status in OPEN_STATUSES


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20)
    description = models.CharField(max_length=300)
    quantity = models.BigIntegerField()
    unit_price_micros = models.BigIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField()
    tax_rate_bp = models.PositiveIntegerField()
    scope = models.CharField(max_length=60, blank=True)
    bucket = models.CharField(max_length=40, blank=True)
    plan = models.ForeignKey("catalog.PricePlan", null=True, blank=True, on_delete=models.PROTECT)
    rank_from = models.PositiveIntegerField(null=True, blank=True)
    rank_to = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="line_position_unique")]

    def __str__(self) -> str:
        return self.description


class BilledLead(models.Model):
    """One lead on one invoice line, with the exact amount it was billed.

    The partial unique index is what forbids billing a lead twice; voiding an
    invoice marks its rows void so the leads can be billed again.

    An issue run writes one row per lead (a million for a large month), so the table
    carries no database-level foreign keys and only the indexes its queries use:
    PostgreSQL would check three deferred foreign keys per row at commit (12 s per
    million rows, measured in benchmarks/invoice_run.py). Rows are only written by the
    set-based allocation, which joins rows that exist in the same transaction; the
    referenced deliveries and documents are never deleted (on_delete=PROTECT, and no
    service deletes them); and every allocation is checked against its lines' counts
    and amounts before commit (invoicing.services._check_allocation).
    """

    delivery = models.ForeignKey(
        "deliveries.Delivery", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    amount_minor = models.BigIntegerField()
    voided = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery"], condition=models.Q(voided=False), name="lead_billed_once")
        ]


class ExcludedLead(models.Model):
    """A lead an invoice left out because it was over the partner's cap (policy "exclude").

    Marked on the invoice of the run that left it out, so no later run bills it as a late lead;
    voiding that invoice to re-bill frees it (the next run decides again under the policy then).
    """

    delivery = models.ForeignKey("deliveries.Delivery", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="excluded_leads")
    reason = models.CharField(max_length=20, default="over_cap")
    voided = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery"], condition=models.Q(voided=False), name="lead_excluded_once")
        ]


class CreditedLead(models.Model):
    """A returned lead credited back at exactly the amount it was billed."""

    delivery = models.ForeignKey("deliveries.Delivery", on_delete=models.PROTECT, related_name="+")
    ret = models.ForeignKey("deliveries.Return", on_delete=models.PROTECT, related_name="+")
    billed = models.ForeignKey(BilledLead, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    voided = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["billed"], condition=models.Q(voided=False), name="lead_credited_once")
        ]


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount_minor = models.BigIntegerField()
    paid_on = models.DateField()
    reference = models.CharField(max_length=200, blank=True)
    recorded_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="payment_positive")]


class Adjustment(models.Model):
    """A manual credit (negative) or debit (positive), billed on the next document."""

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="adjustments")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    corrects = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments_correcting",
        help_text="the issued invoice this adjustment corrects: a credit note carrying it settles that invoice",
    )  # fmt: skip

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(amount_minor=0), name="adjustment_not_zero")]


class LedgerKind(models.TextChoices):
    TOPUP = "topup", "Top-up"
    RECEIPT = "receipt", "Purchases on a receipt"
    REVERSAL = "reversal", "Reversal of a voided receipt"
    REFUND = "refund", "Refund"


class LedgerEntry(models.Model):
    """The prepay balance ledger: the balance is the sum of the amounts (positive = credit)."""

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["partner", "occurred_at"])]


class SafetyRelease(models.Model):
    """A person's release of a partner's document that a run's safety bounds held back.

    A history, not one row per partner and period: each release is kept (and audited); the
    latest one for a partner and period counts. It covers the document as it was previewed:
    a document of that period whose total is at most `total_minor` is issued, one that grew
    beyond it is held again (leadbill.domain.bounds).
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="safety_releases")
    period_key = models.CharField(max_length=40)
    total_minor = models.BigIntegerField(help_text="the total of the document as it was released")
    currency = models.CharField(max_length=3)
    reasons = models.JSONField(default=list, help_text="why it was held, as the preview said")
    reason = models.CharField(max_length=500, help_text="why the person released it")
    released_by = models.CharField(max_length=200)
    released_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["entity", "period_key", "partner"], name="safety_release_lookup")]

    def __str__(self) -> str:
        return f"release {self.partner_id} {self.period_key} up to {self.total_minor}"
