"""Issue 18, documents: the state or province in print and in both e-invoice syntaxes (BT-39, BT-54),
and the same wording and date format on every document kind."""

from __future__ import annotations

import dataclasses
from xml.etree import ElementTree as ET

import pytest

from leadbill.documents.build import document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.pdf import payload, place_line, render_facturx
from leadbill.documents.ubl import ubl_xml
from leadbill.domain import document as d
from tests.documents.test_einvoices import self_billed

pytestmark = pytest.mark.django_db

UBL = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
       "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}  # fmt: skip
CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
       "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}  # fmt: skip


def with_regions(doc: d.Document) -> d.Document:
    """The document with both parties' region: a US party's state code, a German one's Land."""

    def region(party: d.Party) -> d.Party:
        return dataclasses.replace(party, region={"US": "TX", "DE": "Hamburg"}.get(party.country, "Noord-Holland"))

    return dataclasses.replace(doc, seller=region(doc.seller), buyer=region(doc.buyer))


def every_kind(history) -> dict[str, d.Document]:
    return {
        "invoice": document_of(history.domestic), "invoice-us-buyer": document_of(history.export),
        "receipt": document_of(history.receipt), "credit-note": document_of(history.credit_note),
        "self-billed-389": self_billed(d.SELF_BILLED_INVOICE), "self-billed-261": self_billed(d.SELF_BILLED_CREDIT_NOTE),
    }  # fmt: skip


def test_every_kind_with_regions_passes_the_official_rules_and_carries_bt39_and_bt54(einvoice, history, tmp_path):
    docs = {name: with_regions(doc) for name, doc in every_kind(history).items()}
    assert {doc.type_code for doc in docs.values()} == {"380", "381", "389", "261"}
    files = []
    for name, doc in docs.items():
        ubl, cii = ubl_xml(doc), cii_xml(doc)
        root = ET.fromstring(ubl)
        seller = "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:CountrySubentity"
        buyer = "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CountrySubentity"
        assert (root.findtext(seller, namespaces=UBL), root.findtext(buyer, namespaces=UBL)) == (
            doc.seller.region, doc.buyer.region
        ), name  # fmt: skip
        croot = ET.fromstring(cii)
        agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
        assert [
            croot.findtext(f"{agreement}/ram:{who}TradeParty/ram:PostalTradeAddress/ram:CountrySubDivisionName",
                           namespaces=CII)
            for who in ("Seller", "Buyer")
        ] == [doc.seller.region, doc.buyer.region], name  # fmt: skip
        (tmp_path / f"{name}.ubl.xml").write_bytes(ubl)
        (tmp_path / f"{name}.facturx.pdf").write_bytes(render_facturx(doc, cii))
        files += [tmp_path / f"{name}.ubl.xml", tmp_path / f"{name}.facturx.pdf"]
    result = einvoice(files, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert len(summary) == len(files) and all("PASS" in line for line in summary), summary


def test_without_a_region_the_addresses_have_no_empty_element(history):
    doc = document_of(history.domestic)
    assert b"CountrySubentity" not in ubl_xml(doc) and b"CountrySubDivisionName" not in cii_xml(doc)


@pytest.mark.parametrize(
    ("country", "city", "region", "postal", "line"),
    [("US", "New York", "NY", "10001", "New York, NY 10001"), ("US", "Austin", "", "78701", "Austin, 78701"),
     ("US", "Austin", "TX", "", "Austin, TX"), ("CA", "Toronto", "ON", "M5V 2T6", "Toronto ON M5V 2T6"),
     ("AU", "Sydney", "NSW", "2000", "Sydney NSW 2000"), ("DE", "Berlin", "", "10115", "10115 Berlin"),
     ("IT", "Milano", "MI", "20121", "20121 Milano MI"), ("GB", "London", "", "SW1A 1AA", "London, SW1A 1AA")],
)  # fmt: skip
def test_the_city_line_is_written_as_the_countrys_post_writes_it(country, city, region, postal, line):
    assert place_line(d.Party(name="x", country=country, city=city, region=region, postal_code=postal)) == line


def test_the_us_buyers_state_is_printed_on_the_invoice(history):
    doc = with_regions(document_of(history.export))
    assert "Austin, TX 78701" in payload(doc)["recipient"]["lines"]


def test_the_credit_note_asks_questions_about_this_credit_note_and_dates_like_an_invoice(history):
    invoice = dataclasses.replace(document_of(history.voided), locale="en_US")
    note = dataclasses.replace(document_of(history.credit_note), locale="en_US")
    assert payload(invoice)["questions"] == "Questions about this invoice: billing@nordlicht.example"
    assert payload(note)["questions"] == "Questions about this credit note: billing@nordlicht.example"
    meta = {label: value for label, value, _ in payload(note)["meta"]}
    issued = history.voided.issue_date
    assert meta["Corrects invoice"] == f"{history.voided.number} ({issued:%B} {issued.day}, {issued.year})"
    assert meta["Issue date"].count(",") == 1 and "/" not in meta["Corrects invoice"]


def test_self_billed_documents_send_questions_to_the_business_that_issued_them():
    doc = dataclasses.replace(self_billed(d.SELF_BILLED_CREDIT_NOTE),
                              buyer=dataclasses.replace(self_billed(d.SELF_BILLED_INVOICE).buyer,
                                                        email="ap@nordlicht.example"))  # fmt: skip
    assert payload(doc)["questions"] == "Questions about this self-billed credit note: ap@nordlicht.example"
    german = dataclasses.replace(doc, locale="de_DE")
    assert payload(german)["questions"] == "Fragen zu diesem Beleg (Storno der Gutschrift): ap@nordlicht.example"


def test_the_statement_dates_its_rows_like_the_documents(history):
    from leadbill.documents.statement import statement_payload
    from leadbill.receivables.selectors import statement

    inv = history.domestic
    st = statement(inv.partner, inv.currency, inv.issue_date, history.february.issue_date)
    rows = statement_payload(st)["rows"]
    first = inv.issue_date
    assert rows[0][0] == f"{first.day}. Februar {first.year}"  # de_DE long, as on the invoices; never 01.02.26
    assert all(len(row[0].split()) == 3 for row in rows), rows
