"""The report of one invoice: exactly the leads it billed, whatever their delivery dates."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leadbill.documents.report import ReportQuery, csv_chunks
from leadbill.invoicing.models import BilledLead
from tests.factories import make_deliveries

pytestmark = pytest.mark.django_db


def report_rows(q: ReportQuery) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(csv_chunks(q)).decode("utf-8"))))


def for_invoice(inv) -> ReportQuery:
    return ReportQuery(inv.partner, inv.period_first_day, inv.period_last_day, invoice_id=inv.pk)


def test_an_invoice_report_is_exactly_its_billed_leads(history):
    for inv in (history.domestic, history.february, history.receipt):
        rows = report_rows(for_invoice(inv))
        billed = BilledLead.objects.filter(invoice=inv)
        assert len(rows) == billed.count() == inv.leads_billed
        assert {r["invoice"] for r in rows} == {inv.number}
        total = sum(Decimal(r["billed_price"]).scaleb(2) for r in rows)
        usage = [line for line in inv.lines.all() if line.kind in ("charge", "prior_period")]
        assert total == sum(line.amount_minor for line in usage)


def test_an_unbilled_lead_of_the_period_is_in_the_date_range_not_the_invoice_report(history):
    partner = history.domestic.partner
    late = make_deliveries(partner, 1, datetime(2026, 1, 30, tzinfo=UTC))[0]  # delivered in January, unbilled
    rows = report_rows(for_invoice(history.domestic))
    assert late.lead_id not in {r["lead_id"] for r in rows}
    by_dates = report_rows(ReportQuery(partner, date(2026, 1, 1), date(2026, 1, 31)))
    assert late.lead_id in {r["lead_id"] for r in by_dates}  # the date range shows it, unbilled


def test_a_void_invoice_still_lists_its_leads_but_as_void_not_billed(history):
    rows = report_rows(for_invoice(history.voided))
    assert len(rows) == history.voided.leads_billed > 0
    assert {r["invoice"] for r in rows} == {f"{history.voided.number} (void)"}
    assert {r["billed_price"] for r in rows} == {""}  # nobody owes what a void invoice billed
