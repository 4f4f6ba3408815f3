"""Self-billed documents as issued: the official rules (EN 16931 + Peppol Self-Billing 3.0) pass on 389 and 261."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from pypdf import PdfReader

from leadbill.deliveries.models import Return
from leadbill.documents.build import self_billed_document_of
from leadbill.documents.models import ArchivedDocument
from leadbill.documents.services import document_file, render
from leadbill.payouts import services as s
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.selfbilling.tasks import self_billed_archive_task
from tests.payouts.conftest import (
    ACTOR,
    COMPLETE,
    LOGO,
    MAIN,
    NOVEMBER,
    OCTOBER,
    compute,
    make_supplier,
    opt_in,
    ready,
    supply,
)

pytestmark = pytest.mark.django_db

UBL = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def _foreign_supplier(world, code, details, tax_rate):
    supplier = make_supplier(world.entity, code=code, name=details["legal_name"])
    supply(supplier, world.buyer, 6, datetime(2026, 10, 12, tzinfo=UTC))
    sbs.seller_details_set(actor=ACTOR, partner=supplier, details=details, tax_rate=tax_rate, footer=f"{code} footer")
    sbs.self_billing_opt_in(actor=ACTOR, partner=supplier, signer=MAIN, accepted=True)
    result = s.payout_compute(actor=ACTOR, entity=world.entity, period=OCTOBER, partners=[supplier])
    return ready(result.created[0])


def documents_of_every_kind(world):
    """389 (DE → DE at 19 %), 261 for returned leads, 261 reversing a 389, 389 reversing a 261, AE and O sellers."""
    opt_in(world)
    october = ready(compute(world))
    s.payout_transition(actor=ACTOR, payout=october, to="paid")
    Return.objects.create(entity=world.entity, delivery=world.leads[1], reason="duplicate", status="accepted",
                          requested_at=datetime(2026, 11, 2, tzinfo=UTC))  # fmt: skip
    supply(world.supplier, world.buyer, 3, datetime(2026, 11, 3, tzinfo=UTC))
    november = ready(compute(world, NOVEMBER))
    s.payout_transition(actor=ACTOR, payout=november, to="cancelled", reason="recounted")
    french = {**COMPLETE, "legal_name": "Leads de Paris SAS", "address_line1": "12 rue de la Paix",
              "postal_code": "75002", "city": "Paris", "country": "FR", "tax_id": "FR40303265045",
              "iban": "FR1420041010050500013M02606"}  # fmt: skip
    american = {**COMPLETE, "legal_name": "Atlas Leads Inc.", "address_line1": "191 Commerce Street",
                "postal_code": "78701", "city": "Austin", "region": "TX", "country": "US", "tax_id": "12-3456789",
                "iban": "", "routing_number": "021000021", "account_number": "000123456789",
                "peppol_id": "0060:123456789"}  # fmt: skip
    _foreign_supplier(world, "leads-paris", french, "")
    _foreign_supplier(world, "atlas-leads", american, None)
    return list(SelfBilledDocument.objects.order_by("pk"))


def test_every_self_billed_document_passes_the_official_rules_as_ubl_and_facturx(einvoice, world, tmp_path):
    docs = documents_of_every_kind(world)
    assert [(d.partner.code, d.role) for d in docs] == [
        ("lead-garden", "invoice"),  # October
        ("lead-garden", "invoice"),  # November: 3 new leads
        ("lead-garden", "credit"),  # November: the returned October lead
        ("lead-garden", "invoice_reversal"),  # November cancelled: both reversed
        ("lead-garden", "credit_reversal"),
        ("leads-paris", "invoice"),
        ("atlas-leads", "invoice"),
    ]
    files = []
    for doc in docs:
        for fmt, suffix in (("ubl", "ubl.xml"), ("facturx", "facturx.pdf")):
            path = tmp_path / f"{doc.number}.{suffix}"
            path.write_bytes(document_file(doc, fmt, actor=ACTOR).content)
            files.append(path)
    codes = [ET.fromstring((tmp_path / f"{d.number}.ubl.xml").read_bytes()) for d in docs]
    type_codes = [
        (
            root.findtext("cbc:InvoiceTypeCode", namespaces=UBL)
            or root.findtext("cbc:CreditNoteTypeCode", namespaces=UBL)
        )
        for root in codes
    ]
    assert type_codes == ["389", "389", "261", "261", "389", "389", "389"]
    result = einvoice(files, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert len(summary) == len(files) and all("PASS" in line for line in summary), summary
    assert result.stdout.count("PEPPOL-SELFBILLING") == len(docs)  # the Self-Billing rules ran on each UBL


def test_validator_refuses_a_self_invoice_without_the_sellers_name(einvoice, world, tmp_path):
    """The check can fail: the same 389 with the partner's legal name blanked is refused (BR-06)."""
    opt_in(world)
    (doc,) = ready(compute(world)).documents.all()
    doc.seller = {**doc.seller, "name": ""}
    path = tmp_path / "broken.ubl.xml"
    path.write_bytes(document_file(doc, "ubl", actor=ACTOR).content)
    result = einvoice([path])
    assert result.returncode == 1 and "BR-06" in result.stdout


def test_self_invoice_pdf_carries_the_sellers_logo_footer_and_the_self_billing_mention(world, tmp_path):
    opt_in(world)
    (doc,) = ready(compute(world)).documents.all()
    pdf = document_file(doc, "pdf", actor=ACTOR).content
    (tmp_path / "self-invoice.pdf").write_bytes(pdf)
    text = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "self-invoice.pdf").pages)
    assert "Self-billing" in text and doc.number in text
    assert "Lead Garden GmbH · Amtsgericht Köln HRB 4711" in text  # the partner's footer, not ours
    assert "Nordlicht Leads GmbH" in text and "Gartenstraße 5" in text  # buyer: the entity; seller: the partner
    assert "157.68" in text
    # The logo is drawn: the same document without it renders to a different, smaller page.
    plain = dataclasses.replace(self_billed_document_of(doc), seller=dataclasses.replace(
        self_billed_document_of(doc).seller, logo_sha256=""))  # fmt: skip
    assert doc.seller["logo_sha256"] == sbs.SellerProfile.objects.get(partner=world.supplier).logo_sha256
    assert render(plain, "pdf") != render(self_billed_document_of(doc), "pdf")
    if os.environ.get("LEADBILL_KEEP_PDF"):  # to look at it: LEADBILL_KEEP_PDF=/tmp/sb.pdf pytest -k logo_footer
        Path(os.environ["LEADBILL_KEEP_PDF"]).write_bytes(pdf)


def test_ready_archives_the_documents_after_commit_and_the_archive_is_what_is_served(
    world, django_capture_on_commit_callbacks
):
    opt_in(world)
    payout = compute(world)
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    with django_capture_on_commit_callbacks(execute=True):
        s.payout_transition(actor=ACTOR, payout=payout, to="ready")
    (doc,) = payout.documents.all()
    assert set(ArchivedDocument.objects.filter(self_billed=doc).values_list("format", flat=True)) == {
        "pdf", "facturx", "ubl"
    }  # fmt: skip
    first = document_file(doc, "pdf", actor=ACTOR)
    self_billed_archive_task.call(doc.pk)  # a redelivered job changes nothing
    assert ArchivedDocument.objects.filter(self_billed=doc).count() == 3
    assert document_file(doc, "pdf", actor=ACTOR).sha256 == first.sha256


def test_logo_used_is_the_partners(world):
    opt_in(world)
    (doc,) = ready(compute(world)).documents.all()
    from leadbill.documents.assets import asset_bytes

    content, media_type = asset_bytes(doc.seller["logo_sha256"])
    assert content == LOGO and media_type == "image/svg+xml"
