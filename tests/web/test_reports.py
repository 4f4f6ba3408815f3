"""The report page the console and the portal share: the same rows for both, never a draft's prices."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import invoice_run_issue
from tests.factories import make_deliveries
from tests.webworld import ACME_USER, STAFF, Site

FEBRUARY = {"from": "2026-02-01", "to": "2026-02-28", "download": "1", "format": "csv"}


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_console_and_portal_reports_show_no_price_from_an_unissued_draft(site: Site):
    make_deliveries(site.acme, 2, datetime(2026, 2, 10, tzinfo=UTC))
    invoice_run_issue(actor="test:web", entity=site.entity, period=periods.month(2026, 2, "UTC"), draft=True)
    assert Invoice.objects.get(partner=site.acme, period_key="2026-02").status == "draft"
    portal = csv_rows(site.login(ACME_USER).get("/portal/report/", FEBRUARY))
    console = csv_rows(site.login(STAFF["finance"]).get("/console/leadco/partners/acme/report/", FEBRUARY))
    assert portal == console
    assert [(r["billed_price"], r["invoice"]) for r in portal] == [("", "")] * 2
