"""The receivables ledger: what each partner owes, per currency, as entries that are never edited.

An entry's amount is signed (positive: the partner owes more). `invoice` is the invoice the
entry settles or opens; an entry without one is on account (credit on account when the sum
is negative). So an invoice's open amount is the sum of its entries, and a partner's balance
the sum of all of its entries in that currency. Corrections are new entries (`reverses`).
"""

from django.db import models


class EntryKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"
    PAYMENT = "payment", "Payment"
    PAYMENT_REVERSAL = "payment_reversal", "Payment reversed"
    APPLICATION = "application", "Credit applied"
    WRITE_OFF = "write_off", "Write-off"
    REFUND = "refund", "Refund of credit"
    TRANSFER = "transfer", "Credit moved to the invoice that gave it"


class Entry(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="receivables")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    amount_minor = models.BigIntegerField()
    invoice = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="receivable_entries",
        help_text="the invoice this entry opens or settles; empty: on account",
    )  # fmt: skip
    document = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="the document behind the entry (the invoice, the credit note)",
    )  # fmt: skip
    payment = models.ForeignKey("invoicing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    occurred_on = models.DateField()
    due_on = models.DateField(
        null=True, blank=True, help_text="the due date of `invoice`, copied: the aging sums entries by it, no join"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_minor=0), name="receivable_entry_not_zero"),
            models.UniqueConstraint(
                fields=["invoice"], condition=models.Q(kind="invoice"), name="one_opening_entry_per_invoice"
            ),
            models.UniqueConstraint(
                fields=["reverses"], condition=models.Q(reverses__isnull=False), name="an_entry_is_reversed_once"
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "currency", "occurred_on"]),
            models.Index(fields=["entity", "currency"]),
            models.Index(fields=["entity", "partner", "currency", "due_on"], name="receivable_aging_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} {self.currency}"


from leadbill.receivables.bank_models import BankEntry  # noqa: E402,F401
from leadbill.receivables.reminder_models import ReminderPause, ReminderPolicy  # noqa: E402,F401
