"""The invoice report in the console and portal: by invoice in one click, lead types the partner bought."""

from __future__ import annotations

import csv
import html
import io

import pytest

from leadbill.invoicing.models import BilledLead
from tests.factories import make_lead_type
from tests.webworld import ACME_USER, STAFF, Site


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_invoice_page_links_its_lead_report(site: Site, finance):
    number = site.acme_invoice.number
    page = text(finance.get(f"/console/leadco/invoices/{number}/"))
    assert f"/console/leadco/partners/acme/report/?invoice={number}&download=1&format=csv" in page
    assert f"/console/leadco/partners/acme/report/?invoice={number}&download=1&format=pdf" in page


def test_the_report_of_an_invoice_is_exactly_its_leads_and_names_the_file(site: Site, finance):
    number = site.acme_invoice.number
    response = finance.get("/console/leadco/partners/acme/report/",
                           {"invoice": number, "download": "1", "format": "csv"})  # fmt: skip
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="report-acme-{number}-all-lead-types.csv"'
    rows = csv_rows(response)
    billed = BilledLead.objects.filter(invoice=site.acme_invoice)
    assert len(rows) == billed.count() == 3 and {r["invoice"] for r in rows} == {number}
    response = finance.get("/console/leadco/partners/acme/report/",
                           {"invoice": number, "download": "1", "format": "csv", "lead_type": "auto"})  # fmt: skip
    assert response["Content-Disposition"] == f'attachment; filename="report-acme-{number}-auto.csv"'


def test_a_date_range_file_name_includes_the_lead_type(site: Site, finance):
    response = finance.get("/console/leadco/partners/acme/report/",
                           {"from": "2026-01-01", "to": "2026-01-31", "download": "1", "lead_type": "auto"})  # fmt: skip
    assert response["Content-Disposition"] == 'attachment; filename="report-acme-2026-01-01-2026-01-31-auto.csv"'


def test_lead_types_offered_are_those_the_partner_bought(site: Site, finance):
    make_lead_type(site.entity, "solar", name="Solar")
    page = text(finance.get("/console/leadco/partners/acme/report/"))
    assert 'value="auto"' in page and 'value="solar"' not in page
    response = finance.get("/console/leadco/partners/acme/report/",
                           {"from": "2026-01-01", "to": "2026-01-31", "download": "1", "lead_type": "solar"})  # fmt: skip
    assert response.status_code == 400 and "Lead type" in text(response)


def test_another_partners_invoice_is_refused(site: Site, finance):
    number = site.blue_receipt.number
    response = finance.get("/console/leadco/partners/acme/report/", {"invoice": number, "download": "1"})
    assert response.status_code == 400 and f"no invoice {number!r}" in text(response)


def test_the_portal_report_by_invoice(site: Site):
    partner_user = site.login(ACME_USER)
    number = site.acme_invoice.number
    assert f"/portal/report/?invoice={number}&download=1" in text(partner_user.get(f"/portal/invoices/{number}/"))
    response = partner_user.get("/portal/report/", {"invoice": number, "download": "1", "format": "csv"})
    assert response.status_code == 200 and len(csv_rows(response)) == 3
    other = partner_user.get("/portal/report/", {"invoice": site.blue_receipt.number, "download": "1"})
    assert other.status_code == 400


def test_the_report_of_a_runs_credit_note_lists_the_leads_it_bills(site: Site, finance):
    """A period that nets negative is billed on a credit note: its report is its leads, like an invoice's."""
    from datetime import UTC, datetime

    from leadbill.domain import periods
    from leadbill.invoicing.models import Invoice
    from leadbill.invoicing.services import adjustment_create, invoice_run_issue
    from tests.factories import make_deliveries

    make_deliveries(site.acme, 2, datetime(2026, 2, 10, tzinfo=UTC))  # 4.00 of leads
    adjustment_create(actor="test", partner=site.acme, amount_minor=-5000, reason="goodwill")
    invoice_run_issue(actor="test", entity=site.entity, period=periods.month(2026, 2, "UTC"))
    note = Invoice.objects.get(partner=site.acme, period_key="2026-02")
    assert note.kind == "credit_note"
    rows = csv_rows(finance.get("/console/leadco/partners/acme/report/",
                                {"invoice": note.number, "download": "1", "format": "csv"}))  # fmt: skip
    assert len(rows) == BilledLead.objects.filter(invoice=note).count() == 2
    assert {r["invoice"] for r in rows} == {note.number}
    portal = site.login(ACME_USER).get("/portal/report/", {"invoice": note.number, "download": "1", "format": "csv"})
    assert csv_rows(portal) == rows
