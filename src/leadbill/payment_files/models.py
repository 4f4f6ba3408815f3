"""Payment files for ready payouts (SEPA pain.001, NACHA, bank CSV) and the entity's ACH originator settings.

A file is made once and kept as made: its bytes, their SHA-256 and its totals are stored, so
downloading it again gives the same file (the same message id) and never a new one. Its
items name the payouts it pays; a payout sits in at most one live file (a partial unique
index on the items that are `active`), so the same payouts cannot be exported twice.
Cancelling a created file frees its payouts; marking it sent pays them (docs/payment-files.md).
"""

from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    SEPA = "sepa", "SEPA credit transfer (pain.001)"
    NACHA = "nacha", "US ACH (NACHA)"
    BANK_CSV = "bank_csv", "Bank CSV (US)"


class Status(models.TextChoices):
    CREATED = "created", "Created"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class PaymentFile(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    message_id = models.CharField(max_length=35, help_text="the file's id at the bank: pain.001 MsgId, NACHA reference")
    name = models.CharField(max_length=100, help_text="the file name it downloads as")
    media_type = models.CharField(max_length=60)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    total_minor = models.BigIntegerField(help_text="the sum of its payments")
    count = models.PositiveIntegerField(help_text="how many payments")
    execution_date = models.DateField(help_text="requested execution date (SEPA) or effective entry date (ACH)")
    skipped = models.JSONField(default=list, blank=True, help_text="payouts left out at the user's choice, and why")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    sent_on = models.DateField(null=True, blank=True, help_text="the day the file went to the bank, as given")
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.CharField(max_length=200, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=200, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "message_id"], name="payment_file_message_id_unique")]
        indexes = [models.Index(fields=["entity", "created_at"])]

    def __str__(self) -> str:
        return f"payment file {self.message_id}"

    @property
    def is_live(self) -> bool:
        return self.status != Status.CANCELLED


class PaymentFileItem(models.Model):
    """One payment of a file: the payout it pays, at the amount and under the ids the file carries."""

    file = models.ForeignKey(PaymentFile, on_delete=models.PROTECT, related_name="items")
    payout = models.ForeignKey("payouts.Payout", on_delete=models.PROTECT, related_name="payment_file_items")
    position = models.PositiveIntegerField()
    active = models.BooleanField(default=True, help_text="false once its file is cancelled: the payout is free again")
    amount_minor = models.BigIntegerField()
    end_to_end_id = models.CharField(max_length=35)
    remittance = models.CharField(max_length=140)
    payee_name = models.CharField(max_length=200)
    account = models.CharField(max_length=60, help_text="the IBAN, or routing/account, as paid")

    class Meta:
        ordering = ["file", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["payout"], condition=Q(active=True), name="payout_in_one_live_payment_file"
            ),
            models.UniqueConstraint(fields=["file", "payout"], name="payment_file_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.end_to_end_id}"


class EntryClass(models.TextChoices):
    PPD = "PPD", "PPD: to a consumer account"
    CCD = "CCD", "CCD: to a business account"


class AchOriginator(models.Model):
    """The entity's own details as the originator of NACHA files, as its bank (the ODFI) gave them."""

    entity = models.OneToOneField("entities.Entity", on_delete=models.PROTECT, related_name="ach_originator")
    immediate_destination = models.CharField(max_length=9, help_text="routing number of the bank the file goes to")
    immediate_destination_name = models.CharField(max_length=23, help_text="that bank's name")
    immediate_origin = models.CharField(max_length=10, help_text="as the bank assigned it: often 1 + the EIN")
    immediate_origin_name = models.CharField(max_length=23, help_text="the company's name on the file")
    company_name = models.CharField(max_length=16, help_text="as the receivers' statements show it")
    company_id = models.CharField(max_length=10, help_text="company identification: often 1 + the EIN")
    odfi_routing = models.CharField(max_length=9, help_text="routing number of the originating bank (ODFI)")
    entry_class = models.CharField(max_length=3, choices=EntryClass.choices, default=EntryClass.CCD)
    entry_description = models.CharField(max_length=10, default="PAYOUT", help_text="e.g. PAYOUT, VENDOR PAY")
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"ACH originator of {self.entity_id}"
