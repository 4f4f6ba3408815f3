"""The books: each entity's account mapping, and the export batches with the documents they carried.

`AccountMapping` is one row per entity (set in the set-up file's `books:` section or the console).
`ExportBatch` is one export file (or zip of files) as it was handed over, content and checksum
kept; `ExportedDocument` marks each document or money event once per target, and the database's
unique constraint on (target, kind, source id) is what makes "only new documents" exact even when
two exports race.
"""

from django.db import models

TARGETS = ("qbo", "xero", "datev", "journal")


class Target(models.TextChoices):
    QBO = "qbo", "QuickBooks Online"
    XERO = "xero", "Xero"
    DATEV = "datev", "DATEV (EXTF Buchungsstapel)"
    JOURNAL = "journal", "Journal (CSV)"


class AccountMapping(models.Model):
    entity = models.OneToOneField("entities.Entity", on_delete=models.PROTECT, related_name="account_mapping")
    chart = models.CharField(max_length=20, blank=True, help_text="the chart the defaults came from: skr03, us")
    receivables = models.CharField(max_length=20)
    payables = models.CharField(max_length=20)
    cash = models.CharField(max_length=20)
    cash_by_currency = models.JSONField(default=dict, blank=True, help_text="{currency: account}")
    revenue = models.CharField(max_length=20, help_text="revenue of a lead type without its own account")
    revenue_by_lead_type = models.JSONField(default=dict, blank=True, help_text="{lead type code: account}")
    cost = models.CharField(max_length=20, help_text="cost of leads of a lead type without its own account")
    cost_by_lead_type = models.JSONField(default=dict, blank=True, help_text="{lead type code: account}")
    contra_revenue = models.CharField(
        max_length=20, blank=True, help_text="credit notes' net; blank: the lead type's revenue account"
    )
    tax_payable = models.CharField(max_length=20, help_text="output tax of a rate without its own account")
    tax_receivable = models.CharField(max_length=20, help_text="input tax on self-billed documents")
    tax_rates = models.JSONField(
        default=list, blank=True, help_text="[{rate_bp, payable, receivable, sales_code, purchase_code}]"
    )
    other = models.CharField(max_length=20, help_text="write-offs and rounding")
    datev_consultant = models.PositiveIntegerField(null=True, blank=True, help_text="DATEV Beraternummer")
    datev_client = models.PositiveIntegerField(null=True, blank=True, help_text="DATEV Mandantennummer")
    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1)
    account_length = models.PositiveSmallIntegerField(default=4, help_text="DATEV Sachkontenlänge")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"accounts of {self.entity_id}"


class ExportBatch(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    target = models.CharField(max_length=10, choices=Target.choices)
    date_from = models.DateField()
    date_to = models.DateField()
    all_documents = models.BooleanField(default=False, help_text="re-exported what earlier batches carried too")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    document_count = models.PositiveIntegerField(default=0, help_text="documents and money events in the file")
    new_count = models.PositiveIntegerField(default=0)
    already_count = models.PositiveIntegerField(default=0, help_text="in the range, exported before")
    debit_minor = models.BigIntegerField(default=0, help_text="the journal's debits (= credits), all currencies")
    file_name = models.CharField(max_length=200)
    media_type = models.CharField(max_length=60)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["entity", "created_at"])]

    def __str__(self) -> str:
        return f"{self.target} {self.date_from}..{self.date_to} #{self.pk}"


class ExportedDocument(models.Model):
    """A document or money event, first exported to `target` in `batch`."""

    batch = models.ForeignKey(ExportBatch, on_delete=models.PROTECT, related_name="documents")
    target = models.CharField(max_length=10, choices=Target.choices)
    kind = models.CharField(max_length=20, help_text="domain.journal kind: invoice, credit_note, payment, ...")
    source_id = models.BigIntegerField(help_text="the id of the invoice, payment, self-billed document, payout...")
    number = models.CharField(max_length=60)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "kind", "source_id"], name="document_exported_once_per_target")
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.kind} {self.number}"
