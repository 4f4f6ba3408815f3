"""Bank entries imported from statements (camt.053/054, bank CSV): one row per credit or debit seen.

A row is written once per (entity, account, bank's entry reference): the unique constraint is
what makes importing the same statement twice record nothing the second time. A credit is
`matched` when a payment was recorded for it on an invoice (`payment`), else `unmatched` with
the reason, waiting for a person; a debit is kept as `ignored_debit` (money going out is not a
payment received). The ledger itself is only written by `invoicing.services.payment_record`.
"""

from django.db import models


class BankEntryState(models.TextChoices):
    MATCHED = "matched", "Matched"
    UNMATCHED = "unmatched", "Unmatched"
    IGNORED_DEBIT = "ignored_debit", "Ignored (debit)"


class MatchRule(models.TextChoices):
    RF_REFERENCE = "rf_reference", "RF creditor reference"
    INVOICE_NUMBER = "invoice_number", "Invoice number in the remittance text"
    AMOUNT = "amount", "Only open invoice of that amount"
    MANUAL = "manual", "Matched by a person"


class BankEntry(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    account = models.CharField(max_length=64, help_text="the IBAN, or the bank's own account id")
    reference = models.CharField(
        max_length=100, help_text="the bank's entry reference (AcctSvcrRef, NtryRef), or a hash of the entry"
    )
    booked_on = models.DateField()
    amount_minor = models.BigIntegerField(help_text="credits positive, debits negative")
    currency = models.CharField(max_length=3)
    debtor = models.CharField(max_length=200, blank=True)
    remittance = models.CharField(max_length=1000, blank=True, help_text="the unstructured remittance text")
    structured_reference = models.CharField(max_length=100, blank=True, help_text="e.g. an RF creditor reference")
    state = models.CharField(max_length=16, choices=BankEntryState.choices)
    reason = models.CharField(max_length=300, blank=True, help_text="why an entry is unmatched or ignored")
    rule = models.CharField(max_length=20, choices=MatchRule.choices, blank=True, help_text="how it was matched")
    invoice = models.ForeignKey("invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey("invoicing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=200)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=200)
    matched_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "account", "reference"], name="bank_entry_imported_once"),
        ]
        indexes = [models.Index(fields=["entity", "state"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_minor} {self.currency} {self.state}"
