"""Entries for documents issued before the ledger existed, so their balances stay what they were.

Invoices open with their total; payments settle them; a void invoice is settled by its reversing
credit note; any other credit note to a credit partner is credit on account. An invoice with a
partial payment becomes "partially paid".
"""

from django.db import migrations


def backfill(apps, schema_editor):
    Invoice = apps.get_model("invoicing", "Invoice")
    Payment = apps.get_model("invoicing", "Payment")
    Entry = apps.get_model("receivables", "Entry")
    if Entry.objects.exists():
        return
    rows = []
    invoices = Invoice.objects.filter(kind="invoice").exclude(status="draft").exclude(total_minor=0)
    for inv in invoices.iterator():
        rows.append(Entry(entity_id=inv.entity_id, partner_id=inv.partner_id, currency=inv.currency, kind="invoice",
                          amount_minor=inv.total_minor, invoice_id=inv.pk, document_id=inv.pk,
                          occurred_on=inv.issue_date, created_by="migration"))  # fmt: skip
    for pay in Payment.objects.select_related("invoice").iterator():
        inv = pay.invoice
        rows.append(Entry(entity_id=inv.entity_id, partner_id=inv.partner_id, currency=inv.currency, kind="payment",
                          amount_minor=-pay.amount_minor, invoice_id=inv.pk, payment_id=pay.pk,
                          occurred_on=pay.paid_on, reason=pay.reference, created_by="migration"))  # fmt: skip
    notes = Invoice.objects.filter(kind="credit_note").exclude(status="draft").select_related("partner", "corrects")
    for note in notes.iterator():
        target = note.corrects if note.corrects_id and note.corrects.kind == "invoice" else None
        if target is None and note.partner.billing_mode == "prepay":
            continue  # refunded to the prepay balance
        if target is not None and target.status != "void":
            target = None
        rows.append(Entry(entity_id=note.entity_id, partner_id=note.partner_id, currency=note.currency,
                          kind="credit_note", amount_minor=note.total_minor, invoice_id=target.pk if target else None,
                          document_id=note.pk, occurred_on=note.issue_date, created_by="migration"))  # fmt: skip
    Entry.objects.bulk_create([r for r in rows if r.amount_minor], batch_size=2000)
    partial = (
        Invoice.objects.filter(kind="invoice", status="issued", paid_minor__gt=0)
        .values_list("pk", flat=True)
    )
    Invoice.objects.filter(pk__in=list(partial)).update(status="partially_paid")


class Migration(migrations.Migration):
    dependencies = [
        ("receivables", "0001_initial"),
        ("invoicing", "0004_receivable_statuses"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
