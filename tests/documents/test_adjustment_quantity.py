"""An adjustment line states one quantity: the PDF prints what the UBL and CII say (-1 at a positive price)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

from leadbill.documents.build import document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.formatting import Formatter
from leadbill.documents.pdf import render_facturx, render_pdf
from leadbill.documents.ubl import ubl_xml
from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import adjustment_create, invoice_run_issue
from tests.documents.conftest import ACTOR
from tests.factories import make_deliveries

pytestmark = pytest.mark.django_db

REASON = "Goodwill for the outage"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


@pytest.fixture
def adjusted(history) -> Invoice:
    partner = history.domestic.partner
    adjustment_create(actor=ACTOR, partner=partner, amount_minor=-2500, reason=REASON)
    make_deliveries(partner, 30, datetime(2026, 3, 3, 9, tzinfo=UTC))
    invoice_run_issue(actor=ACTOR, entity=history.entity, period=periods.month(2026, 3, "Europe/Berlin"),
                      partners=[partner.code], issue_date=date(2026, 4, 1))  # fmt: skip
    return Invoice.objects.get(partner=partner, period_key="2026-03")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_prints_the_adjustment_quantity_the_ubl_and_cii_state(adjusted):
    doc = document_of(adjusted)
    ubl = etree.fromstring(ubl_xml(doc))
    (line,) = [
        el for el in ubl.iterfind("cac:InvoiceLine", NS) if el.findtext("cac:Item/cbc:Name", namespaces=NS) == REASON
    ]
    ubl_quantity = Decimal(line.findtext("cbc:InvoicedQuantity", namespaces=NS))
    assert ubl_quantity == -1 and Decimal(line.findtext("cac:Price/cbc:PriceAmount", namespaces=NS)) == Decimal("25.00")
    cii = etree.fromstring(cii_xml(doc))
    cii_quantities = [Decimal(q.text) for item in cii.iterfind(".//ram:IncludedSupplyChainTradeLineItem", NS)
                      if item.findtext("ram:SpecifiedTradeProduct/ram:Name", namespaces=NS) == REASON
                      for q in item.iterfind(".//ram:BilledQuantity", NS)]  # fmt: skip
    assert cii_quantities == [ubl_quantity]

    f = Formatter("de_DE", "EUR")
    text = pdf_text(render_pdf(doc))
    row = next(row for row in text.splitlines() if REASON in row)
    printed = row.split(REASON, 1)[1].split()
    assert printed[0] == f.count(ubl_quantity), row  # "-1", not "1"
    assert f.money(-2500) in row


def test_the_adjusted_invoice_passes_the_official_rules(einvoice, adjusted, tmp_path):
    doc = document_of(adjusted)
    (tmp_path / "adjusted.ubl.xml").write_bytes(ubl_xml(doc))
    (tmp_path / "adjusted.facturx.pdf").write_bytes(render_facturx(doc, cii_xml(doc)))
    result = einvoice([tmp_path / "adjusted.ubl.xml", tmp_path / "adjusted.facturx.pdf"], "-q")
    assert result.returncode == 0, result.stdout + result.stderr
