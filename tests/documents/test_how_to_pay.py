"""How to pay, on every document that asks for payment: the account in the document's currency,
the remit-to address, the amount and due date, and the ISO 11649 RF payment reference (BT-83)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from pypdf import PdfReader

from leadbill.documents.build import document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.formatting import Formatter
from leadbill.documents.pdf import render_facturx, render_pdf
from leadbill.documents.ubl import ubl_xml
from leadbill.domain import document as d
from leadbill.domain import tax
from leadbill.domain.payment_reference import rf_printed, rf_reference
from leadbill.entities.services import payment_details
from leadbill.invoicing.models import Invoice

pytestmark = pytest.mark.django_db

UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
CII_SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
ACH = d.PaymentAccount(
    "USD", account_name="Acme Leads Inc.", bank_name="JPMorgan Chase Bank, N.A.", ach_routing="021000021",
    ach_account="000123456789", wire_routing="021000021", bic="CHASUS33",
)  # fmt: skip
REMIT_TO = ("Acme Leads Inc.", "Lockbox 7701", "PO Box 7701", "New York, NY 10087-7701")


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def us_invoice(account: d.PaymentAccount | None = ACH, remit: tuple[str, ...] = REMIT_TO) -> d.Document:
    """An invoice of the US demo entity (outside VAT) to a US buyer, paid by ACH."""
    seller = d.Party(
        name="Acme Leads Inc.", country="US", address_line1="500 Market Street", postal_code="10001",
        city="New York", tax_id="98-7654321", endpoint="0060:123456789", email="billing@acme-us.example",
    )  # fmt: skip
    buyer = d.Party(
        name="Blue River Insurance LLC", country="US", address_line1="9 Harbor Way", postal_code="02110",
        city="Boston", tax_id="", endpoint="0060:987654321",
    )  # fmt: skip
    lines = (d.Line(1, "charge", "Auto insurance leads", 120, 2_500_000, 30_000, Decimal(0), tax.NOT_SUBJECT),)
    code, reason = tax.EXEMPTIONS[tax.NOT_SUBJECT]
    return d.Document(
        kind=d.INVOICE, number="ACME-000042", issue_date=date(2026, 2, 1), currency="USD", locale="en_US",
        seller=seller, buyer=buyer, lines=lines, taxes=(d.TaxBreakdown(tax.NOT_SUBJECT, Decimal(0), 30_000, 0, code, reason),),
        due_date=date(2026, 3, 3), period_first_day=date(2026, 1, 1), period_last_day=date(2026, 1, 31),
        payment_terms_days=30, buyer_reference="blue-river", payment_account=account, remit_to=remit,
    )  # fmt: skip


def test_invoice_asks_for_payment_with_its_rf_reference_and_credit_notes_do_not(history):
    doc = document_of(history.domestic)
    assert doc.payment_reference == rf_reference(history.domestic.number)
    assert document_of(history.credit_note).payment_reference == ""


def test_german_invoice_in_eur_pays_by_sepa_to_the_iban_with_the_rf_reference(history):
    doc = document_of(history.domestic)
    ref = rf_reference(doc.number)
    assert doc.payment_account == d.PaymentAccount("EUR", iban="DE89370400440532013000", bic="COBADEFFXXX")

    text = text_of(render_pdf(doc))
    assert "ZAHLUNGSINFORMATIONEN" in text
    assert f"Bitte zahlen Sie {Formatter('de_DE', 'EUR').money(doc.payable_minor)} bis zum " in text
    assert "DE89 3704 0044 0532 0130 00" in text and "COBADEFFXXX" in text
    assert f"Zahlungsreferenz: {rf_printed(ref)} (bitte bei der Zahlung angeben)" in text

    ubl = ET.fromstring(ubl_xml(doc))
    means = ubl.find("cac:PaymentMeans", UBL_NS)
    assert means is not None
    assert means.findtext("cbc:PaymentMeansCode", namespaces=UBL_NS) == "58"
    assert means.findtext("cbc:PaymentID", namespaces=UBL_NS) == ref
    assert means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=UBL_NS) == "DE89370400440532013000"
    assert means.findtext("cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", namespaces=UBL_NS) == (
        "COBADEFFXXX"
    )

    cii = ET.fromstring(cii_xml(doc))
    settlement = cii.find(CII_SETTLEMENT, CII_NS)
    assert settlement is not None
    assert settlement.findtext("ram:PaymentReference", namespaces=CII_NS) == ref
    assert settlement.findtext("ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode", namespaces=CII_NS) == "58"
    account = "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount"
    assert settlement.findtext(f"{account}/ram:IBANID", namespaces=CII_NS) == "DE89370400440532013000"


def test_us_invoice_pays_by_ach_to_the_account_with_remit_to_and_rf_reference():
    doc = us_invoice()
    ref = rf_reference("ACME-000042")
    text = text_of(render_pdf(doc))
    assert "HOW TO PAY" in text
    assert "Please pay $300.00 by March 3, 2026." in text
    for value in ("021000021", "000123456789", "CHASUS33", "JPMorgan Chase Bank, N.A.", "Lockbox 7701"):
        assert value in text
    assert f"Payment reference: {rf_printed(ref)} (quote it with your payment)" in text
    assert "IBAN" not in text

    ubl = ET.fromstring(ubl_xml(doc))
    means = ubl.find("cac:PaymentMeans", UBL_NS)
    assert means is not None
    assert means.findtext("cbc:PaymentMeansCode", namespaces=UBL_NS) == "30"  # a credit transfer, not SEPA
    assert means.findtext("cbc:PaymentID", namespaces=UBL_NS) == ref
    assert means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=UBL_NS) == "000123456789"
    assert means.findtext("cac:PayeeFinancialAccount/cbc:Name", namespaces=UBL_NS) == "Acme Leads Inc."
    assert means.findtext("cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", namespaces=UBL_NS) == (
        "021000021"
    )

    settlement = ET.fromstring(cii_xml(doc)).find(CII_SETTLEMENT, CII_NS)
    assert settlement is not None
    assert settlement.findtext("ram:PaymentReference", namespaces=CII_NS) == ref
    means_path = "ram:SpecifiedTradeSettlementPaymentMeans"
    assert settlement.findtext(f"{means_path}/ram:TypeCode", namespaces=CII_NS) == "30"
    account = f"{means_path}/ram:PayeePartyCreditorFinancialAccount"
    assert settlement.find(f"{account}/ram:IBANID", CII_NS) is None
    assert settlement.findtext(f"{account}/ram:ProprietaryID", namespaces=CII_NS) == "000123456789"
    assert settlement.findtext(
        f"{means_path}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID", namespaces=CII_NS
    ) == ("021000021")


def test_an_iban_outside_eur_is_a_plain_credit_transfer():
    assert d.PaymentAccount("GBP", iban="GB33BUKB20201555555555").means_code == "30"
    assert d.PaymentAccount("EUR", iban="DE89370400440532013000").means_code == "58"


def test_without_an_account_the_invoice_still_carries_amount_due_date_and_reference():
    doc = us_invoice(account=None, remit=())
    text = text_of(render_pdf(doc))
    assert "Please pay $300.00 by March 3, 2026." in text
    assert rf_printed(rf_reference(doc.number)) in text
    means = ET.fromstring(ubl_xml(doc)).find("cac:PaymentMeans", UBL_NS)
    assert means is not None and means.find("cac:PayeeFinancialAccount", UBL_NS) is None
    assert means.findtext("cbc:PaymentMeansCode", namespaces=UBL_NS) == "1"  # instrument not defined


def test_credit_note_and_paid_receipt_show_no_how_to_pay(history):
    assert "Zahlungsreferenz" not in text_of(render_pdf(document_of(history.credit_note)))
    receipt = document_of(history.receipt)
    assert receipt.payable_minor == 0
    assert "Zahlungsreferenz" not in text_of(render_pdf(receipt))
    assert ET.fromstring(ubl_xml(document_of(history.credit_note))).find("cac:PaymentMeans", UBL_NS) is None


def test_the_account_in_the_documents_currency_comes_from_the_seller_snapshot(history):
    """Accounts per currency are frozen with the document; another currency's account is not used."""
    entity = history.entity
    entity.payment_accounts = [
        {"currency": "USD", "ach_routing": "021000021", "ach_account": "000123456789"},
        {"currency": "EUR", "iban": "DE02120300000000202051", "bic": "BYLADEM1001", "account_name": "Nordlicht Leads"},
    ]  # fmt: skip
    entity.remit_to = "Nordlicht Leads GmbH\nPostfach 10 20 30\n20354 Hamburg"
    inv = history.domestic
    Invoice.objects.filter(pk=inv.pk).update(seller={**inv.seller, **payment_details(entity)})
    inv.refresh_from_db()
    doc = document_of(inv)
    assert doc.payment_account == d.PaymentAccount(
        "EUR", iban="DE02120300000000202051", bic="BYLADEM1001", account_name="Nordlicht Leads"
    )
    assert doc.remit_to == ("Nordlicht Leads GmbH", "Postfach 10 20 30", "20354 Hamburg")
    text = text_of(render_pdf(doc))
    assert "DE02 1203 0000 0000 2020 51" in text and "Postfach 10 20 30" in text
    # Only a USD account: a EUR invoice names none, and still has its reference.
    Invoice.objects.filter(pk=inv.pk).update(seller={**inv.seller, "payment_accounts": entity.payment_accounts[:1]})
    inv.refresh_from_db()
    assert document_of(inv).payment_account is None


def test_entity_iban_is_the_account_of_its_own_currency_when_no_list_is_given(history):
    entity = history.entity
    assert payment_details(entity) == {
        "payment_accounts": [{"currency": "EUR", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}],
        "remit_to": "",
    }


def test_ubl_and_facturx_with_payment_means_pass_the_official_rules(einvoice, history, tmp_path):
    docs = {"de-sepa": document_of(history.domestic), "us-ach": us_invoice(), "us-none": us_invoice(None, ())}
    files = []
    for name, doc in docs.items():
        (tmp_path / f"{name}.ubl.xml").write_bytes(ubl_xml(doc))
        (tmp_path / f"{name}.facturx.pdf").write_bytes(render_facturx(doc, cii_xml(doc)))
        files += [tmp_path / f"{name}.ubl.xml", tmp_path / f"{name}.facturx.pdf"]
    result = einvoice(files, "-q")
    summary = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert result.returncode == 0 and len(summary) == len(files), result.stdout + result.stderr
    assert all("PASS" in line for line in summary), summary


def test_first_page_renders_to_an_image_with_the_how_to_pay_box(tmp_path):
    """The first page as PNG (pypdfium2, pinned for the tests), kept for a person to look at: the
    "How to pay" heading is on it, and the box around it is drawn in the accent colour."""
    import pypdfium2

    page = pypdfium2.PdfDocument(render_pdf(us_invoice()))[0]
    text = page.get_textpage()
    found = text.search("HOW TO PAY", match_case=False).get_next()
    assert found is not None, "no How to pay block on page 1"
    left, bottom, right, top = text.get_charbox(found[0])
    scale = 2
    image = page.render(scale=scale).to_pil().convert("RGB")
    image.save(tmp_path / "how-to-pay.png")
    height = image.height
    # the box: accent-coloured (#1f4e79) pixels just left of and above the heading
    x0, y0 = max(0, int(left * scale) - 40), max(0, height - int(top * scale) - 40)
    region = image.crop((x0, y0, int(right * scale), height - int(bottom * scale)))
    accent = sum(1 for r, g, b in region.getdata() if abs(r - 31) < 40 and abs(g - 78) < 40 and abs(b - 121) < 40)
    assert accent > 20, f"no box drawn around the block ({accent} accent pixels)"
