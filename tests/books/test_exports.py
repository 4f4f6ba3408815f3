"""Exports of one month: files that parse back with their documented columns, a journal that balances,
unbalanced documents refused by name, and re-exports that say what is new."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from leadbill.audit.models import AuditEvent
from leadbill.books.formats import datev, qbo, xero
from leadbill.books.formats.common import ExportRefused
from leadbill.books.models import ExportBatch, ExportedDocument
from leadbill.books.services import export_create
from leadbill.domain.journal import UnbalancedDocument
from leadbill.invoicing.models import Invoice
from tests.books.conftest import ACTOR, NOVEMBER_FIRST, NOVEMBER_LAST, datev_numbers

pytestmark = pytest.mark.django_db


def export(month, target, **kw):
    return export_create(actor=ACTOR, entity=month.entity, target=target, first=NOVEMBER_FIRST, last=NOVEMBER_LAST,
                         **kw)  # fmt: skip


def files_of(batch: ExportBatch) -> dict[str, bytes]:
    content = bytes(batch.content)
    if batch.media_type == "application/zip":
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    return {batch.file_name: content}


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_journal_balances_per_document_and_per_batch(month):
    result = export(month, "journal")
    (content,) = files_of(result.batch).values()
    per_document: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows(content):
        per_document[row["Document"]][0] += Decimal(row["Debit"] or 0)
        per_document[row["Document"]][1] += Decimal(row["Credit"] or 0)
    assert set(per_document) == {"NL-000001", "SEPA 77", "NL-GS-000001", "SB-LEAD-GARDEN-000001", "SEPA-OUT-1"}
    assert all(debit == credit for debit, credit in per_document.values())
    assert per_document["NL-000001"] == [Decimal("357.00"), Decimal("357.00")]
    assert result.totals == {"EUR": (79616, 79616)}
    assert result.batch.debit_minor == 79616
    assert result.batch.sha256 and result.batch.size == len(content)


def test_qbo_files_parse_back_with_the_documented_columns(month):
    result = export(month, "qbo")
    files = files_of(result.batch)
    invoices = rows(next(c for n, c in files.items() if n.startswith("qbo-invoices")))
    credits = rows(next(c for n, c in files.items() if n.startswith("qbo-credit-notes")))
    assert list(invoices[0]) == qbo.INVOICE_HEADER
    assert invoices == [{
        "InvoiceNo": "NL-000001", "Customer": "Elbe Versicherung AG", "InvoiceDate": "02/11/2026",
        "DueDate": invoices[0]["DueDate"], "Terms": invoices[0]["Terms"], "Memo": "",
        "Item(Product/Service)": "Leads", "ItemDescription": "Leads — flat", "ItemQuantity": "30",
        "ItemRate": "10.00", "ItemAmount": "300.00", "ItemTaxCode": "3", "Currency": "EUR",
    }]  # fmt: skip
    assert invoices[0]["Terms"] == f"Net {month.invoice.payment_terms_days or 30}"
    assert list(credits[0]) == qbo.CREDIT_HEADER
    assert [(c["CreditMemoNo"], c["ItemAmount"], c["ItemTaxCode"]) for c in credits] == [("NL-GS-000001", "20.00", "3")]


def test_xero_files_parse_back_with_the_template_columns(month):
    files = files_of(export(month, "xero").batch)
    sales = rows(next(c for n, c in files.items() if n.startswith("xero-sales")))
    bills = rows(next(c for n, c in files.items() if n.startswith("xero-bills")))
    assert list(sales[0]) == xero.SALES_HEADER
    assert list(bills[0]) == xero.BILLS_HEADER
    assert [
        (r["*InvoiceNumber"], r["*Quantity"], r["*UnitAmount"], r["*AccountCode"], r["*TaxType"]) for r in sales
    ] == [
        ("NL-000001", "30", "10.00", "8400", "3"),
        ("NL-GS-000001", "-1", "20.00", "8400", "3"),  # a credit note: negative, as Xero imports one
    ]
    assert [(r["*ContactName"], r["*InvoiceNumber"], r["*AccountCode"], r["*TaxType"]) for r in bills] == [
        ("Lead Garden GmbH", "SB-LEAD-GARDEN-000001", "3100", "9"),
        ("Lead Garden GmbH", "SB-LEAD-GARDEN-000001", "3100", "9"),
    ]
    assert sum(Decimal(r["*Quantity"]) * Decimal(r["*UnitAmount"]) for r in bills) == Decimal("132.50")


def test_datev_buchungsstapel_has_the_extf_header_and_balances_to_the_documents(month):
    datev_numbers(month.entity)
    batch = export(month, "datev").batch
    text = bytes(batch.content).decode("cp1252")
    assert batch.file_name.startswith("EXTF_")
    lines = text.split("\r\n")
    header = next(csv.reader([lines[0]], delimiter=";"))
    assert header[:5] == ["EXTF", "700", "21", "Buchungsstapel", "13"]
    assert (header[10], header[11], header[12], header[13]) == ("1001", "10001", "20260101", "4")
    assert (header[14], header[15], header[21]) == ("20261101", "20261130", "EUR")
    assert len(header) == 31
    assert lines[1].split(";") == datev.COLUMNS
    bookings = list(csv.DictReader(io.StringIO("\r\n".join(lines[1:])), delimiter=";"))
    got = [(b["Belegfeld 1"], b["Umsatz (ohne Soll/Haben-Kz)"], b["Soll/Haben-Kennzeichen"], b["Konto"],
            b["Gegenkonto (ohne BU-Schlüssel)"], b["BU-Schlüssel"], b["Belegdatum"]) for b in bookings]  # fmt: skip
    assert got == [
        ("NL-000001", "357,00", "S", "10000", "8400", "3", "0211"),
        ("NL-GS-000001", "23,80", "H", "10000", "8400", "3", "1211"),
        ("NL-000001", "100,00", "S", "1200", "10000", "", "0511"),  # the payment, Belegfeld 1 = the invoice it pays
        ("SB-LEAD-GARDEN-000001", "157,68", "H", "70000", "3100", "9", "1011"),
        ("SEPA-OUT-1", "157,68", "S", "70000", "1200", "", "2011"),
    ]


def test_datev_export_needs_the_consultant_and_client_numbers(month):
    with pytest.raises(ExportRefused, match="Berater and Mandant"):
        export(month, "datev")
    assert not ExportBatch.objects.exists()


def test_datev_refuses_a_document_in_another_currency_than_the_batch_and_names_it(month):
    datev_numbers(month.entity)
    Invoice.objects.filter(pk=month.invoice.pk).update(currency="USD")  # arranged: a buyer billed in dollars
    with pytest.raises(ExportRefused, match=f"{month.invoice.number}: DATEV books this batch in EUR .* in USD"):
        export(month, "datev")
    assert not ExportBatch.objects.exists()


def test_a_document_that_does_not_balance_refuses_the_export_and_is_named(month):
    Invoice.objects.filter(pk=month.invoice.pk).update(total_minor=35701)  # arranged: a corrupted row
    with pytest.raises(UnbalancedDocument) as exc:
        export(month, "journal")
    assert exc.value.number == "NL-000001"
    assert "NL-000001" in str(exc.value) and "-1 minor units" in str(exc.value)
    assert not ExportBatch.objects.exists() and not ExportedDocument.objects.exists()


def test_a_re_export_of_the_same_range_says_what_is_new(month):
    first = export(month, "journal")
    assert (first.new, first.already, first.batch.document_count) == (5, 0, 5)
    again = export(month, "journal")
    assert again.batch is None
    assert again.summary == f"0 new, 5 already exported in batch {first.batch.pk}"
    everything = export(month, "journal", all_documents=True)
    assert (everything.batch.document_count, everything.batch.new_count, everything.batch.already_count) == (5, 0, 5)
    assert ExportedDocument.objects.filter(batch=first.batch).count() == 5
    assert ExportedDocument.objects.filter(batch=everything.batch).count() == 0
    other_target = export(month, "qbo")
    assert (other_target.new, other_target.already) == (5, 0)


def test_a_document_is_marked_once_per_target_by_the_database(month):
    batch = export(month, "journal").batch
    row = ExportedDocument.objects.filter(batch=batch).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportedDocument.objects.create(batch=batch, target=row.target, kind=row.kind, source_id=row.source_id,
                                        number=row.number)  # fmt: skip


def test_an_export_is_audited_with_its_checksum(month):
    batch = export(month, "xero").batch
    event = AuditEvent.objects.get(action="books.exported")
    assert event.data["sha256"] == batch.sha256
    assert (event.data["new"], event.data["target"], event.actor) == (5, "xero", ACTOR)


def test_text_cells_are_spreadsheet_safe_and_numbers_that_would_run_are_refused(month):
    Invoice.objects.filter(pk=month.invoice.pk).update(buyer={**month.invoice.buyer, "name": "=HYPERLINK(1)"})
    files = files_of(export(month, "qbo").batch)
    invoices = rows(next(c for n, c in files.items() if n.startswith("qbo-invoices")))
    assert invoices[0]["Customer"] == "'=HYPERLINK(1)"
    Invoice.objects.filter(pk=month.credit_note.pk).update(number="=1+1")
    with pytest.raises(ExportRefused, match="starts like a formula"):
        export(month, "xero")
