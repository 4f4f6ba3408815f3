"""Every document kind, in both syntaxes, passes the official rules (XSD + EN 16931 + Peppol / Factur-X)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest

from leadbill.documents.build import document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.pdf import render_facturx
from leadbill.documents.ubl import PeppolAddressMissing, ubl_xml
from leadbill.domain import document as d
from leadbill.domain import tax

pytestmark = pytest.mark.django_db


def self_billed(kind: str) -> d.Document:
    """A self-billed document as the self-billing issue will build it: the partner sells, the business buys."""
    supplier = d.Party(
        name="Lead Garden BV", country="NL", address_line1="Keizersgracht 1", postal_code="1015 CJ",
        city="Amsterdam", tax_id="NL123456782B01", endpoint="0106:12345678", email="payouts@leadgarden.example",
        iban="NL91ABNA0417164300",
    )  # fmt: skip
    business = d.Party(
        name="Nordlicht Leads GmbH", country="DE", address_line1="Jungfernstieg 1", postal_code="20354",
        city="Hamburg", tax_id="DE811223345", endpoint="9930:DE811223345",
    )  # fmt: skip
    lines = (
        d.Line(1, "charge", "Leads supplied — Kfz", 300, 900_000, 27_000, Decimal(0), tax.REVERSE_CHARGE),
        d.Line(2, "charge", "Leads supplied — Kredit", 45, 1_250_000, 5_625, Decimal(0), tax.REVERSE_CHARGE),
    )
    code, reason = tax.EXEMPTIONS[tax.REVERSE_CHARGE]
    taxes = (d.TaxBreakdown(tax.REVERSE_CHARGE, Decimal(0), 32_625, 0, code, reason),)
    return d.Document(
        kind=kind, number="SB-LG-000001" if kind == d.SELF_BILLED_INVOICE else "SB-LG-000002",
        issue_date=date(2026, 2, 2), currency="EUR", locale="en_GB", seller=supplier, buyer=business,
        lines=lines, taxes=taxes, due_date=date(2026, 2, 16) if kind == d.SELF_BILLED_INVOICE else None,
        period_first_day=date(2026, 1, 1), period_last_day=date(2026, 1, 31), payment_terms_days=14,
        buyer_reference="payout 2026-01",
        preceding_number="SB-LG-000001" if kind == d.SELF_BILLED_CREDIT_NOTE else "",
        preceding_issue_date=date(2026, 2, 2) if kind == d.SELF_BILLED_CREDIT_NOTE else None,
    )  # fmt: skip


def test_every_document_kind_passes_the_official_rules_in_ubl_cii_and_facturx(einvoice, history, tmp_path):
    docs = {
        "invoice-domestic": document_of(history.domestic),
        "invoice-with-return-credit": document_of(history.february),
        "invoice-reverse-charge": document_of(history.reverse_charge),
        "invoice-export-voided": document_of(history.voided),
        "receipt-prepay": document_of(history.receipt),
        "credit-note": document_of(history.credit_note),
        "self-billed-389": self_billed(d.SELF_BILLED_INVOICE),
        "self-billed-261": self_billed(d.SELF_BILLED_CREDIT_NOTE),
    }
    assert {doc.type_code for doc in docs.values()} == {"380", "381", "389", "261"}
    files = []
    for name, doc in docs.items():
        (tmp_path / f"{name}.ubl.xml").write_bytes(ubl_xml(doc))
        (tmp_path / f"{name}.facturx.pdf").write_bytes(render_facturx(doc, cii_xml(doc)))
        files += [tmp_path / f"{name}.ubl.xml", tmp_path / f"{name}.facturx.pdf"]
    result = einvoice(files, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert len(summary) == len(files) and all("PASS" in line for line in summary), summary
    # The self-billed ones ran under the Peppol Self-Billing rules, the others under Billing.
    assert result.stdout.count("PEPPOL-SELFBILLING") == 2
    assert result.stdout.count("PEPPOL-BILLING") == len(docs) - 2


def test_validator_catches_a_broken_document(einvoice, history, tmp_path):
    """The check can fail: the same invoice with its seller name removed is refused (BR-06)."""
    doc = document_of(history.domestic)
    broken = dataclasses.replace(doc, seller=dataclasses.replace(doc.seller, name=""))
    path = tmp_path / "broken.xml"
    path.write_bytes(cii_xml(broken))
    result = einvoice([path])
    assert result.returncode == 1
    assert "BR-06" in result.stdout


def test_credit_note_presents_positive_amounts_and_names_the_invoice_it_corrects(history):
    doc = document_of(history.credit_note)
    assert doc.type_code == "381" and doc.total_minor > 0
    assert doc.total_minor == -history.credit_note.total_minor == history.voided.total_minor
    root = ET.fromstring(ubl_xml(doc))
    ns = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
          "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}  # fmt: skip
    assert root.tag.endswith("}CreditNote")
    assert (
        root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=ns)
        == history.voided.number
    )
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=ns) == str(
        Decimal(doc.total_minor).scaleb(-2)
    )


def test_vat_category_follows_the_parties(history):
    assert [t.category for t in document_of(history.domestic).taxes] == ["S"]
    rc = document_of(history.reverse_charge)
    assert [(t.category, t.exemption_code) for t in rc.taxes] == [("AE", "VATEX-EU-AE")]
    assert [t.category for t in document_of(history.export).taxes] == ["G"]


def test_receipt_is_prepaid_from_the_balance(history):
    doc = document_of(history.receipt)
    assert doc.kind == d.RECEIPT and doc.prepaid_minor == doc.total_minor and doc.payable_minor == 0


def test_ubl_names_the_partner_without_a_peppol_address(history):
    doc = document_of(history.domestic)
    nowhere = dataclasses.replace(doc, buyer=dataclasses.replace(doc.buyer, endpoint="", code="elbe-versicherung"))
    with pytest.raises(PeppolAddressMissing, match=r"elbe-versicherung.*peppol_id"):
        ubl_xml(nowhere)


def test_return_credit_of_two_tier_prices_is_quantity_times_an_exact_average(history):
    doc = document_of(history.february)
    credit = next(line for line in doc.lines if line.kind == "return_credit")
    assert credit.amount_minor == -350  # 2.00 + 1.50, the prices the two leads were billed at
    assert credit.invoiced("EUR") == (Decimal(-2), d.UNIT_ONE, Decimal("1.75"))
