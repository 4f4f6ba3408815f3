"""Existing self-billed documents get their acceptance state and their reversal noted.

- A reversed document (a cancelled payout's, whose reversal `corrects` it) gets `reversed_at`,
  the reversal's issue time: the one-live-document-per-payout constraint (0004) relies on it.
- Each original (self-invoice, credit note) becomes pending, due for deemed acceptance after
  its agreement's period from its issue: 14 days for agreements of version 2026-11, whose text
  said the supplier objects within 14 days. The scheduler's next sweep deems accepted those
  whose period passed, and audits each; nothing is decided here.
- Reversals carry no acceptance (blank), as new ones do.
"""

from datetime import timedelta

from django.db import migrations

ORIGINALS = ("invoice", "credit")
REVERSALS = ("invoice_reversal", "credit_reversal")
DAYS_BEFORE = 14


def forward(apps, schema_editor):
    Doc = apps.get_model("selfbilling", "SelfBilledDocument")
    reversed_at = dict(Doc.objects.filter(role__in=REVERSALS, corrects__isnull=False).values_list("corrects_id", "issued_at"))
    for doc in Doc.objects.filter(role__in=ORIGINALS).select_related("agreement").order_by("pk").iterator():
        days = doc.agreement.acceptance_days if doc.agreement_id else DAYS_BEFORE
        Doc.objects.filter(pk=doc.pk).update(
            acceptance="pending", acceptance_due_at=doc.issued_at + timedelta(days=days),
            reversed_at=reversed_at.get(doc.pk),
        )


def backward(apps, schema_editor):
    Doc = apps.get_model("selfbilling", "SelfBilledDocument")
    Doc.objects.update(acceptance="", acceptance_due_at=None, reversed_at=None)


class Migration(migrations.Migration):

    dependencies = [
        ('selfbilling', '0002_acceptance_fields'),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
