"""The report bills a lead only from an issued document: a draft owes nothing yet, a void invoice nothing at all.

The CSV (PostgreSQL's COPY there, the csv module elsewhere) and the PDF with its totals must agree.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from leadbill.deliveries.services import return_accept, return_request
from leadbill.documents.formatting import Formatter
from leadbill.documents.report import ReportQuery, csv_chunks, leads, pdf_payload
from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import invoice_issue, invoice_run_issue, invoice_void
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db

ACTOR = "test:report"
MARCH = date(2026, 3, 1), date(2026, 3, 31)


@pytest.fixture
def partner():
    entity = make_entity(timezone="Europe/Berlin", currency="EUR")
    partner = make_partner(entity, currency="EUR")
    make_plan(partner, "flat", {"price": "2.00"})
    make_deliveries(partner, 3, datetime(2026, 3, 10, tzinfo=UTC))
    return partner


def run(partner, month: int, *, draft: bool = False) -> Invoice:
    period = periods.month(2026, month, "Europe/Berlin")
    invoice_run_issue(actor=ACTOR, entity=partner.entity, period=period, draft=draft)
    return Invoice.objects.get(partner=partner, kind="invoice", period_key=period.key)


def csv_rows(q: ReportQuery) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(csv_chunks(q)).decode("utf-8"))))


def cents(text: str) -> int:
    return int(Decimal(text).scaleb(2)) if text else 0


def pdf_summary(q: ReportQuery) -> dict[str, str]:
    return dict(pdf_payload(q)["summary"])


def money(partner, minor: int) -> str:
    return Formatter(partner.entity.locale, partner.currency).money(minor)


def test_an_issued_invoice_bills_its_leads_alike_in_rows_csv_and_pdf(partner):
    inv = run(partner, 3)
    q = ReportQuery(partner, *MARCH)
    assert [(lead.billed_minor, lead.invoice) for lead in leads(q)] == [(200, inv.number)] * 3
    rows = csv_rows(q)
    assert [(r["billed_price"], r["invoice"]) for r in rows] == [("2.00", inv.number)] * 3
    assert (
        pdf_summary(q)["Billed"] == pdf_summary(q)["Net"] == money(partner, 600) == money(partner, inv.subtotal_minor)
    )
    by_invoice = ReportQuery(partner, *MARCH, invoice_id=inv.pk)
    assert sum(cents(r["billed_price"]) for r in csv_rows(by_invoice)) == 600


def test_a_drafts_prices_are_not_billed_until_it_is_issued(partner):
    draft = run(partner, 3, draft=True)
    assert draft.status == "draft"
    q = ReportQuery(partner, *MARCH)
    assert [(lead.billed_minor, lead.invoice, lead.cap) for lead in leads(q)] == [(None, "", "")] * 3
    assert [(r["billed_price"], r["invoice"]) for r in csv_rows(q)] == [("", "")] * 3
    assert pdf_summary(q)["Billed"] == money(partner, 0)
    issued = invoice_issue(actor=ACTOR, invoice=draft)
    assert [(r["billed_price"], r["invoice"]) for r in csv_rows(q)] == [("2.00", issued.number)] * 3


def test_a_drafts_return_credit_is_not_shown_until_it_is_issued(partner):
    march = run(partner, 3)
    lead = partner.deliveries.order_by("delivered_at", "pk").first()
    ret = return_request(actor=ACTOR, delivery=lead, reason="wrong number",
                         requested_at=lead.delivered_at + timedelta(days=1))  # fmt: skip
    return_accept(actor=ACTOR, ret=ret)
    make_deliveries(partner, 1, datetime(2026, 4, 10, tzinfo=UTC))
    april = run(partner, 4, draft=True)  # credits the returned lead, still a draft
    assert april.status == "draft" and april.lines.filter(kind="return_credit").exists()
    q = ReportQuery(partner, *MARCH)
    row = csv_rows(q)[0]
    assert (row["lead_id"], row["billed_price"], row["invoice"]) == (lead.lead_id, "2.00", march.number)
    assert (row["return_status"], row["credited"], row["credit_document"]) == ("accepted", "", "")
    assert pdf_summary(q)["Credited for returns"] == money(partner, 0)
    april = invoice_issue(actor=ACTOR, invoice=april)
    row = csv_rows(q)[0]
    assert (row["credited"], row["credit_document"]) == ("-2.00", april.number)
    assert pdf_summary(q)["Net"] == money(partner, 600 - 200)


def test_an_invoice_voided_with_its_leads_cancelled_bills_nothing_in_its_reports(partner):
    inv = run(partner, 3)
    invoice_void(actor=ACTOR, invoice=inv, reason="not owed", leads="cancel")
    void = f"{inv.number} (void)"
    for q in (ReportQuery(partner, *MARCH), ReportQuery(partner, *MARCH, invoice_id=inv.pk)):
        assert [(lead.billed_minor, lead.invoice) for lead in leads(q)] == [(None, void)] * 3
        assert [(r["billed_price"], r["invoice"]) for r in csv_rows(q)] == [("", void)] * 3
        summary = pdf_summary(q)
        assert summary["Leads"] == "3"
        assert summary["Billed"] == summary["Net"] == money(partner, 0)
