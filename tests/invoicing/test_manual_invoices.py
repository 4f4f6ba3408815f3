"""Manual invoices: typed lines, numbered at issue through the same path as a run's documents."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.documents.build import document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.pdf import render_facturx
from leadbill.documents.ubl import ubl_xml
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.domain.generation import ManualLine
from leadbill.invoicing.models import BilledLead, Invoice, Status
from leadbill.invoicing.selectors import invoice_as_dict
from leadbill.invoicing.services import invoice_issue, invoice_void, manual_invoice_create
from tests.factories import make_deliveries, make_entity, make_partner, make_plan
from tests.invoicing.helpers import ACTOR, issue

pytestmark = pytest.mark.django_db

LINES = [
    ManualLine("Set-up fee", 1, Decimal("250.00"), Decimal("19")),
    ManualLine("Lead verification, per lead", 333, Decimal("0.015"), Decimal("19")),  # 4.995 → 5.00
    ManualLine("Printed brochure", 3, Decimal("10.10"), Decimal("7")),
    ManualLine("Goodwill discount", -1, Decimal("20.00"), Decimal("19")),
]


def test_manual_invoice_rounds_each_line_once_and_taxes_each_rate_on_its_sum(entity, buyer, jan):
    inv = manual_invoice_create(actor=ACTOR, partner=buyer, period=jan, lines=LINES)
    lines = list(inv.lines.order_by("position"))
    assert [line.amount_minor for line in lines] == [25_000, 500, 3_030, -2_000]
    assert [line.kind for line in lines] == ["manual"] * 4
    assert inv.subtotal_minor == 26_530
    # 19 % on 235.00 = 44.65; 7 % on 30.30 = 2.121 → 2.12
    assert {t["rate"]: t["tax_minor"] for t in inv.taxes} == {"7": 212, "19": 4_465}
    assert inv.tax_minor == 4_677 and inv.total_minor == 31_207
    assert inv.status == Status.DRAFT and inv.number is None and inv.manual


def test_manual_invoice_is_numbered_at_issue_with_the_parties_frozen_and_audited(entity, buyer, jan):
    draft = manual_invoice_create(actor=ACTOR, partner=buyer, period=jan, lines=LINES[:1])
    buyer.name = "Blue River Insurance (renamed)"
    buyer.save()
    issued = invoice_issue(actor=ACTOR, invoice=draft, issue_date=date(2026, 2, 3))
    assert issued.number == "INV-000001" and issued.status == Status.ISSUED
    assert issued.buyer["name"] == "Blue River Insurance (renamed)"  # the snapshot is taken at issue
    assert issued.due_date == date(2026, 2, 3) + (issued.due_date - issued.issue_date)
    actions = list(
        AuditEvent.objects.filter(object_type="invoicing.invoice", object_id=str(issued.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["invoice.drafted", "invoice.issued"]
    data = invoice_as_dict(issued)
    assert data["manual"] is True and data["period"]["key"] == "2026-01"
    assert data["period"]["start"] == datetime(2026, 1, 1, tzinfo=UTC)


def test_manual_invoice_does_not_stop_the_period_run_and_bills_no_leads(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, datetime(2026, 1, 5, tzinfo=UTC))
    manual = manual_invoice_create(actor=ACTOR, partner=buyer, period=jan, lines=LINES[:1], issue=True)
    result = issue(entity, jan)
    assert len(result.issued) == 1 and result.issued[0].total_minor == 1_000
    assert not BilledLead.objects.filter(invoice=manual).exists()
    numbers = sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True))
    assert numbers == ["INV-000001", "INV-000002"]  # one gapless series for both


def test_manual_invoice_voids_like_any_invoice(entity, buyer, jan):
    inv = manual_invoice_create(actor=ACTOR, partner=buyer, period=jan, lines=LINES[:1], issue=True)
    note = invoice_void(actor=ACTOR, invoice=inv, reason="sent to the wrong buyer", leads="cancel")
    assert note.total_minor == -inv.total_minor and note.corrects_id == inv.pk


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (ManualLine("", 1, Decimal("1"), Decimal("0")), "lines[0].description"),
        (ManualLine("Fee", 0, Decimal("1"), Decimal("0")), "lines[0].quantity"),
        (ManualLine("Fee", 1, Decimal("-1"), Decimal("0")), "lines[0].unit_price"),
        (ManualLine("Fee", 1, Decimal("0.0000001"), Decimal("0")), "lines[0].unit_price"),
        (ManualLine("Fee", 1, Decimal("1"), Decimal("101")), "lines[0].tax_rate"),
        (ManualLine("Fee\x00", 1, Decimal("1"), Decimal("0")), "lines[0].description"),
    ],
)
def test_bad_manual_lines_are_refused_naming_the_line_and_field(entity, buyer, jan, line, field):
    with pytest.raises(DomainError) as exc:
        manual_invoice_create(actor=ACTOR, partner=buyer, period=jan, lines=[line])
    assert exc.value.field == field
    assert not Invoice.objects.exists()


def test_a_net_credit_is_not_an_invoice(entity, buyer, jan):
    with pytest.raises(DomainError, match="credit note"):
        manual_invoice_create(actor=ACTOR, partner=buyer, period=jan,
                              lines=[ManualLine("Refund", -1, Decimal("5"), Decimal("0"))])  # fmt: skip


def test_manual_invoice_passes_the_official_rules_in_ubl_and_facturx(einvoice, tmp_path):
    entity = make_entity(
        slug="nordlicht-manual", legal_name="Nordlicht Leads GmbH", address_line1="Jungfernstieg 1",
        postal_code="20354", city="Hamburg", tax_id="DE811223345", email="billing@nordlicht.example", phone="+49 40 555 0100",
        iban="DE89370400440532013000", bic="COBADEFFXXX", currency="EUR", timezone="Europe/Berlin",
        locale="de_DE", invoice_prefix="NM-", credit_note_prefix="NM-GS-", default_tax_rate_bp=1900,
    )  # fmt: skip
    partner = make_partner(entity, code="elbe", name="Elbe Versicherung AG", tax_id="DE665412091")
    period = periods.month(2026, 1, "Europe/Berlin")
    inv = manual_invoice_create(actor=ACTOR, partner=partner, period=period, lines=LINES, issue=True,
                                issue_date=date(2026, 2, 2))  # fmt: skip
    doc = document_of(inv)
    assert sum(line.amount_minor for line in doc.lines) == inv.subtotal_minor
    (tmp_path / "manual.ubl.xml").write_bytes(ubl_xml(doc))
    (tmp_path / "manual.facturx.pdf").write_bytes(render_facturx(doc, cii_xml(doc)))
    result = einvoice([tmp_path / "manual.ubl.xml", tmp_path / "manual.facturx.pdf"], "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert len(summary) == 2 and all("PASS" in line for line in summary), summary


def test_the_printed_manual_invoice_names_quantities_and_unit_prices_not_leads(entity, buyer, jan):
    from leadbill.documents.pdf import payload

    inv = manual_invoice_create(actor=ACTOR, partner=buyer, period=jan, lines=LINES, issue=True)
    data = payload(document_of(inv))
    assert data["columns"][2:4] == ["Quantity", "Unit price"] and data["counts"] == []
    verification = data["lines"][1]
    # 333 × 0.015 = 4.995 → 5.00: the e-invoice states a lump sum; the page the count and price billed
    assert (verification["quantity"], verification["amount"]) == ("333", "$5.00")
    assert document_of(inv).lines[1].invoiced("USD")[1] == "LS"


def test_delivered_prices_broken_down_by_band_pass_the_official_rules(einvoice, tmp_path):
    from leadbill.invoicing.services import invoice_run_issue
    from tests.factories import make_delivery

    entity = make_entity(
        slug="nordlicht-bands", legal_name="Nordlicht Leads GmbH", address_line1="Jungfernstieg 1",
        postal_code="20354", city="Hamburg", tax_id="DE811223345", email="billing@nordlicht.example",
        phone="+49 40 555 0100", iban="DE89370400440532013000", bic="COBADEFFXXX", currency="EUR",
        timezone="Europe/Berlin", locale="de_DE", invoice_prefix="NB-", credit_note_prefix="NB-GS-",
        default_tax_rate_bp=1900,
    )  # fmt: skip
    partner = make_partner(entity, code="elbe", name="Elbe Versicherung AG", tax_id="DE665412091")
    make_plan(partner, "delivered", {})
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    prices = [f"{1 + (i % 30) * 0.037:.3f}" for i in range(90)]  # 30 distinct prices: 12 bands
    for i, price in enumerate(prices):
        make_delivery(partner, start + timedelta(minutes=i), price=price)
    invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 1, "Europe/Berlin"),
                      issue_date=date(2026, 2, 2))  # fmt: skip
    inv = Invoice.objects.get(partner=partner)
    assert inv.lines.count() == 12 and sum(line.quantity for line in inv.lines.all()) == 90
    assert sum(BilledLead.objects.filter(invoice=inv).values_list("amount_minor", flat=True)) == inv.subtotal_minor
    doc = document_of(inv)
    assert sum(line.amount_minor for line in doc.lines) == inv.subtotal_minor
    (tmp_path / "bands.ubl.xml").write_bytes(ubl_xml(doc))
    (tmp_path / "bands.facturx.pdf").write_bytes(render_facturx(doc, cii_xml(doc)))
    result = einvoice([tmp_path / "bands.ubl.xml", tmp_path / "bands.facturx.pdf"], "-q")
    assert result.returncode == 0, result.stdout + result.stderr
