"""The PDFs read back: what a partner sees is the invoice's number, parties, period, counts and totals."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

import pikepdf
import pytest
from pypdf import PdfReader

from leadbill.audit.models import AuditEvent
from leadbill.documents.build import NotIssuedError, document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.formatting import Formatter
from leadbill.documents.models import ArchivedDocument
from leadbill.documents.pdf import render_facturx, render_pdf
from leadbill.documents.services import document_file
from leadbill.domain import document as d
from leadbill.invoicing.models import Invoice
from tests.documents.conftest import ACTOR

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def pages_of(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def test_invoice_pdf_shows_number_parties_period_counts_and_totals_in_the_entitys_locale(history):
    inv = history.domestic
    text = text_of(render_pdf(document_of(inv)))
    f = Formatter("de_DE", "EUR")
    assert "Rechnung" in text and inv.number in text
    assert "Elbe Versicherung AG" in text and "Nordlicht Leads GmbH" in text
    assert "USt-IdNr.: DE665412091" in text
    assert "1.–31. Januar 2026" in text  # the period, as German writes it
    assert "1. Februar 2026" in text  # issue date
    assert f"GEKAUFTE LEADS\n{f.count(inv.leads_billed)}" in text
    assert f"ZURÜCKGEGEBENE LEADS\n{f.count(inv.leads_returned)}" in text
    assert f.money(inv.total_minor) in text  # "337,45 €"-style, comma decimals
    assert f.money(inv.tax_minor) in text
    assert "IBAN DE89 3704 0044 0532 0130 00" in text
    # Tier lines are their own lines with their price per lead.
    for line in inv.lines.all():
        assert line.description in text
        assert f.money(line.amount_minor) in text


def test_credit_note_pdf_names_the_corrected_invoice_and_shows_positive_amounts(history):
    text = text_of(render_pdf(document_of(history.credit_note)))
    f = Formatter("de_DE", "EUR")
    assert "Gutschrift" in text and history.credit_note.number in text
    assert f"Korrektur zu Rechnung {history.voided.number}" in text
    assert f.money(-history.credit_note.total_minor) in text
    assert "billed to the wrong company" in text


def test_receipt_pdf_shows_the_prepaid_balance(history):
    inv = history.receipt
    text = text_of(render_pdf(document_of(inv)))
    f = Formatter("de_DE", "EUR")
    assert "Abrechnung" in text
    for label, minor in (("Anfangsguthaben", inv.opening_balance_minor), ("Endguthaben", inv.closing_balance_minor)):
        assert label in text and f.money(minor) in text
    assert "Vom Guthaben beglichen" in text


def test_reverse_charge_pdf_says_why_there_is_no_vat(history):
    text = text_of(render_pdf(document_of(history.reverse_charge)))
    assert "Reverse Charge" in text and "FR40303265045" in text and "Frankreich" in text


def test_many_lines_run_over_several_pages_with_page_numbers(history):
    doc = document_of(history.domestic)
    line = doc.lines[0]
    lines = tuple(dataclasses.replace(line, position=i + 1, description=f"Kampagne {i + 1}") for i in range(120))
    net = sum(x.amount_minor for x in lines)
    big = dataclasses.replace(
        doc, lines=lines, taxes=(dataclasses.replace(doc.taxes[0], net_minor=net, tax_minor=net * 19 // 100),)
    )
    pdf = render_pdf(big)
    pages = pages_of(pdf)
    assert pages >= 3
    text = text_of(pdf)
    assert f"Seite {pages} von {pages}" in text
    assert "\n1 Kampagne 1 " in text and "\n120 Kampagne 120 " in text
    assert text.count("Preis pro Lead") == pages  # the table header repeats on every page


def test_english_locale_formats_money_and_periods_the_us_way(history):
    doc = dataclasses.replace(document_of(history.domestic), locale="en_US")
    text = text_of(render_pdf(doc))
    # The invoice prints "January 1\u2009\u2013\u200931, 2026" (PERIODS below). Source Sans Pro has no U+2009
    # glyph, so Typst draws the font's space at a fifth of an em, and the text layer reads it as U+0020.
    assert "Invoice" in text and "January 1 \u2013 31, 2026" in text
    assert Formatter("en_US", "EUR").money(doc.total_minor) in text  # "€337.45"


def test_self_billed_invoice_says_so(history):
    doc = dataclasses.replace(document_of(history.domestic), kind=d.SELF_BILLED_INVOICE, locale="en_GB")
    text = text_of(render_pdf(doc))
    assert "Self-billed invoice" in text and "Self-billing" in text


def test_facturx_pdf_carries_the_cii_xml_and_declares_the_en16931_profile(history):
    doc = document_of(history.domestic)
    xml = cii_xml(doc)
    pdf = render_facturx(doc, xml)
    with pikepdf.open(io.BytesIO(pdf)) as p:
        attached = p.attachments["factur-x.xml"]
        assert attached.get_file().read_bytes() == xml
        assert str(attached.relationship) == "/Alternative"
        meta = p.open_metadata()
        assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
        xmp = p.Root.Metadata.read_bytes().decode()
        assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
        assert "Factur-X PDFA Extension Schema" in xmp
        assert "/GTS_PDFA1" in str(p.Root.OutputIntents[0].S)


def test_rendering_is_deterministic(history):
    doc = document_of(history.domestic)
    assert render_pdf(doc) == render_pdf(doc)


def test_document_files_are_archived_once_and_served_identically(history):
    inv = history.domestic
    first = document_file(inv, "pdf", actor=ACTOR)
    Invoice.objects.filter(pk=inv.pk).update(buyer={**inv.buyer, "name": "Renamed AG"})  # must not matter
    inv.refresh_from_db()
    again = document_file(inv, "pdf", actor=ACTOR)
    assert again.content == first.content and again.sha256 == first.sha256
    assert ArchivedDocument.objects.filter(invoice=inv, format="pdf").count() == 1
    assert AuditEvent.objects.filter(action="document.archived", object_id=str(inv.pk)).count() == 1
    assert first.name == f"{inv.number}.pdf"
    ubl = document_file(inv, "ubl", actor=ACTOR)
    assert ubl.media_type == "application/xml" and ubl.content.startswith(b"<?xml")


def test_drafts_have_no_documents(history):
    draft = Invoice.objects.create(
        entity=history.entity, partner=history.domestic.partner, kind="invoice", series="invoice", currency="EUR"
    )
    with pytest.raises(NotIssuedError, match="draft"):
        document_file(draft, "pdf", actor=ACTOR)


# What invoices print as their period: CLDR's interval format exactly as the pinned Babel (2.19.0,
# CLDR 47) gives it, months written out (docs/decisions/0006-period-ranges-follow-cldr.md). English
# sets the en dash between thin spaces (U+2009); German writes a same-month range closed up. A Babel
# upgrade is a lock-file commit that re-checks these strings.
PERIODS = {
    "en_GB": (
        "1\u2009\u2013\u200931 January 2026",
        "15 January\u2009\u2013\u200914 February 2026",
        "28 December 2026\u2009\u2013\u20093 January 2027",
    ),
    "en_US": (
        "January 1\u2009\u2013\u200931, 2026",
        "January 15\u2009\u2013\u2009February 14, 2026",
        "December 28, 2026\u2009\u2013\u2009January 3, 2027",
    ),
    "de_DE": (
        "1.\u201331. Januar 2026",
        "15. Januar\u2009\u2013\u200914. Februar 2026",
        "28. Dezember 2026\u2009\u2013\u20093. Januar 2027",
    ),
}


@pytest.mark.parametrize("locale", PERIODS)
def test_formatter_writes_months_out_across_month_and_year_ends(locale):
    f = Formatter(locale, "EUR")
    same_month, across_months, across_years = PERIODS[locale]
    assert f.period(date(2026, 1, 1), date(2026, 1, 31)) == same_month
    assert f.period(date(2026, 1, 15), date(2026, 2, 14)) == across_months
    assert f.period(date(2026, 12, 28), date(2027, 1, 3)) == across_years
    assert f.period(date(2026, 1, 1), date(2026, 1, 1)) == f.date(date(2026, 1, 1))  # one day is a date


def test_formatter_writes_money_in_the_locale_and_falls_back_to_en_us():
    assert Formatter("de_DE", "EUR").price(125_000) == "0,125\xa0€"
    assert Formatter("en_US", "USD").money(-123456) == "-$1,234.56"
    assert Formatter("xx_YY", "USD").money(100) == "$1.00"  # an unknown locale falls back to en_US
